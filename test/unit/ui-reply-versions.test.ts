// The versions of a branched reply, and the message's own fields that always hold the one shown.
import { expect, it } from 'vitest';
import type { ChatMessage } from '../../src/ui/conversation-store.ts';
import { shownVersion, versionsOf, withNewVersion, withVersionChanged, withVersionShown } from '../../src/ui/reply-versions.ts';

const reply: ChatMessage = {
  id: 'r', role: 'model', text: 'First try', framing: 'plain', createdAt: 1, updatedAt: 1, status: 'done', stopReason: 'max-tokens', modelId: 'gpt2',
  tokens: [{ token: 5, piece: 'First' }, { token: 6, piece: ' try' }],
};

it('treats a reply never branched as its only version, changed in its own fields', () => {
  expect(versionsOf(reply)).toEqual([{ text: 'First try', status: 'done', stopReason: 'max-tokens', modelId: 'gpt2', tokens: reply.tokens }]);
  expect(shownVersion(reply)).toBe(0);
  const changed = withVersionChanged(reply, 0, { text: 'First try, again', status: 'streaming' });
  expect(changed).toMatchObject({ text: 'First try, again', status: 'streaming', stopReason: 'max-tokens' });
  expect(changed.versions).toBeUndefined();
});

it('shows a new version in the message\'s own fields, leaving nothing of the old one behind', () => {
  const branched = withNewVersion(reply, { text: 'First', status: 'pending', tokens: [{ token: 5, piece: 'First' }], branchedFrom: { version: 0, tokenIndex: 1 } });
  expect(branched.versions).toHaveLength(2);
  expect(shownVersion(branched)).toBe(1);
  expect(branched.text).toBe('First');
  expect(branched.status).toBe('pending');
  expect(branched.tokens).toEqual([{ token: 5, piece: 'First' }]);
  expect('stopReason' in branched).toBe(false);
  expect('modelId' in branched).toBe(false);
  // The message's other fields are the message's, not a version's.
  expect(branched).toMatchObject({ id: 'r', role: 'model', framing: 'plain', createdAt: 1 });

  const back = withVersionShown(branched, 0);
  expect(back).toMatchObject({ text: 'First try', status: 'done', stopReason: 'max-tokens', modelId: 'gpt2', tokens: reply.tokens, version: 0 });
  expect(withVersionShown(back, 1)).toEqual(branched);
});

it('writes into a version that is not shown without touching what is shown', () => {
  const branched = withNewVersion(reply, { text: 'First', status: 'streaming', tokens: [] });
  const away = withVersionShown(branched, 0);
  const written = withVersionChanged(away, 1, { text: 'First, then more', status: 'done', stopReason: 'end-of-text' });
  expect(written.text).toBe('First try');
  expect(written.stopReason).toBe('max-tokens');
  expect(written.versions![1]).toMatchObject({ text: 'First, then more', status: 'done', stopReason: 'end-of-text' });
  expect(withVersionShown(written, 1)).toMatchObject({ text: 'First, then more', status: 'done', stopReason: 'end-of-text' });
});
