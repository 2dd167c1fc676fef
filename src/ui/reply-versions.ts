// The versions of a reply. Choosing another token at one of a reply's tokens branches it: the
// branch is a new version, and the user switches between versions as between drafts. The version
// shown is also spread over the message's own fields (conversation-store.ts says why), so every
// change to a version goes through here, which keeps the two the same.
import type { ChatMessage, ReplyVersion } from './conversation-store.ts';

/** What a version holds that the message shows in its own fields. */
const SHOWN_FIELDS = ['text', 'status', 'stopReason', 'droppedTokens', 'error', 'tokens', 'modelId'] as const satisfies readonly (keyof ReplyVersion & keyof ChatMessage)[];

/** A reply's versions, oldest first; one never branched has one, made of its own fields. */
export function versionsOf(reply: ChatMessage): ReplyVersion[] {
  return reply.versions ?? [ownVersion(reply)];
}

/** The index of the version shown. */
export function shownVersion(reply: ChatMessage): number {
  return reply.version ?? 0;
}

/** Adds `version` to the reply's versions, and shows it. */
export function withNewVersion(reply: ChatMessage, version: ReplyVersion): ChatMessage {
  const versions = [...versionsOf(reply), version];
  return withVersionShown({ ...reply, versions }, versions.length - 1);
}

/** Shows version `index` of a branched reply. */
export function withVersionShown(reply: ChatMessage, index: number): ChatMessage {
  const version = reply.versions?.[index];
  if (!version) return reply;
  return spread({ ...reply, version: index }, version);
}

/** Changes version `index` (a reply never branched has only 0), and what is shown when it is the one shown. */
export function withVersionChanged(reply: ChatMessage, index: number, change: Partial<ReplyVersion>): ChatMessage {
  if (!reply.versions) return index === 0 ? spread(reply, { ...ownVersion(reply), ...change }) : reply;
  const version = reply.versions[index];
  if (!version) return reply;
  const versions = reply.versions.map((each, at) => (at === index ? { ...each, ...change } : each));
  const changed = { ...reply, versions };
  return index === shownVersion(reply) ? spread(changed, versions[index]) : changed;
}

function ownVersion(reply: ChatMessage): ReplyVersion {
  const version: ReplyVersion = { text: reply.text, status: reply.status ?? 'done' };
  for (const field of SHOWN_FIELDS) if (reply[field] !== undefined) Object.assign(version, { [field]: reply[field] });
  return version;
}

/** The reply with `version`'s fields as its own; a field the version lacks is removed, not left over from another. */
function spread(reply: ChatMessage, version: ReplyVersion): ChatMessage {
  const shown: ChatMessage = { ...reply };
  for (const field of SHOWN_FIELDS) {
    if (version[field] === undefined) delete shown[field];
    else Object.assign(shown, { [field]: version[field] });
  }
  return shown;
}
