// The conversation in real IndexedDB: what one store instance saves, a new one (a reload) reads
// back, what the model thought of each token and a branched reply's versions included; a reply (or
// a version of one) that was still being written comes back interrupted; clearing removes it.
import { afterEach, expect, it } from 'vitest';
import { ConversationStore, newConversation, type ChatMessage, type Conversation } from '../../src/ui/conversation-store.ts';

const openStores: ConversationStore[] = [];
const databases: string[] = [];

/** A store on a database of this test's own; every instance opened here is closed and deleted afterwards. */
async function openStore(name = databases.at(-1)!): Promise<ConversationStore> {
  if (!databases.includes(name)) databases.push(name);
  const store = await ConversationStore.open(name);
  openStores.push(store);
  return store;
}

afterEach(async () => {
  for (const store of openStores.splice(0)) store.close();
  for (const name of databases.splice(0)) {
    await new Promise((resolve, reject) => {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = resolve;
      request.onerror = () => reject(request.error);
    });
  }
});

const freshName = () => `conversation-store-test-${crypto.randomUUID()}`;

function message(role: ChatMessage['role'], text: string, extra: Partial<ChatMessage> = {}): ChatMessage {
  return { id: crypto.randomUUID(), role, text, framing: 'chat', createdAt: Date.now(), updatedAt: Date.now(), ...extra };
}

function conversationWith(...messages: ChatMessage[]): Conversation {
  return { ...newConversation(), messages };
}

it('starts with a new empty conversation that is not stored until saved', async () => {
  const store = await openStore(freshName());
  const first = await store.current();
  expect(first.messages).toEqual([]);
  expect(await store.get(first.id)).toBeUndefined();
  // Nothing was stored, so the next call makes another new one.
  expect((await store.current()).id).not.toBe(first.id);
});

it('reads back from a new store instance exactly what was saved, settings and all', async () => {
  const name = freshName();
  const settings = { maxNewTokens: 20, temperature: 0.7, topK: 40, topP: 0.9, repetitionPenalty: 1.1, seed: 1234, stopStrings: ['\nUser:'] };
  const saved = conversationWith(
    message('user', 'Hello <b>there</b>'),
    message('model', 'Hi!', { status: 'done', modelId: 'gpt2', settings, stopReason: 'stop-string', droppedTokens: 12 }),
  );
  const first = await openStore(name);
  await first.save(saved);
  first.close();

  const second = await openStore(name);
  expect(await second.current()).toEqual(saved);
  expect(await second.get(saved.id)).toEqual(saved);
});

it('returns a reply still pending or streaming when stored as interrupted, keeping its text', async () => {
  const name = freshName();
  const saved = conversationWith(
    message('user', 'First'),
    message('model', 'Done reply', { status: 'done' }),
    message('user', 'Second'),
    message('model', '', { status: 'pending' }),
  );
  const streaming = conversationWith(message('user', 'Third'), message('model', 'Half a rep', { status: 'streaming' }));
  streaming.updatedAt = saved.updatedAt + 1;
  const first = await openStore(name);
  await first.save(saved);
  await first.save(streaming);
  first.close();

  const second = await openStore(name);
  const restored = await second.current();
  expect(restored.id).toBe(streaming.id);
  expect(restored.messages.map((m) => [m.text, m.status])).toEqual([
    ['Third', undefined],
    ['Half a rep', 'interrupted'],
  ]);
  const older = await second.get(saved.id);
  expect(older?.messages.map((m) => m.status)).toEqual([undefined, 'done', undefined, 'interrupted']);
});

it('replaces the stored conversation on every save, and the latest save is the current one', async () => {
  const name = freshName();
  const store = await openStore(name);
  const conversation = conversationWith(message('user', 'Hi'));
  await store.save(conversation);
  const withReply = { ...conversation, updatedAt: conversation.updatedAt + 5, messages: [...conversation.messages, message('model', 'Hello', { status: 'done' })] };
  await store.save(withReply);
  const other = { ...conversationWith(message('user', 'Older')), updatedAt: conversation.updatedAt - 1000 };
  await store.save(other);

  const reopened = await openStore(name);
  expect(await reopened.current()).toEqual(withReply);
});

it('clears a conversation: it is gone from a new instance too, which starts a new one', async () => {
  const name = freshName();
  const store = await openStore(name);
  const conversation = conversationWith(message('user', 'Forget me'));
  await store.save(conversation);
  await store.delete(conversation.id);
  store.close();

  const reopened = await openStore(name);
  expect(await reopened.get(conversation.id)).toBeUndefined();
  const current = await reopened.current();
  expect(current.id).not.toBe(conversation.id);
  expect(current.messages).toEqual([]);
});

it('keeps what the model thought: the tokens of every version of a reply with their insights, and the prompt\'s score', async () => {
  const name = freshName();
  const insight = {
    probability: 0.25,
    top: [{ token: 11, text: ',', probability: 0.5 }, { token: 13, text: '.', probability: 0.25 }],
    sampled: [{ token: 11, text: ',', probability: 0.8 }, { token: 13, text: '.', probability: 0.2 }],
  };
  const first = { text: 'Hi.', status: 'done' as const, stopReason: 'end-of-text' as const, tokens: [{ token: 17250, piece: 'Hi' }, { token: 13, piece: '.', insight }] };
  const second = { text: 'Hi,', status: 'done' as const, stopReason: 'max-tokens' as const, tokens: [{ token: 17250, piece: 'Hi' }, { token: 11, piece: ',', insight: { ...insight, probability: 0.5 } }], branchedFrom: { version: 0, tokenIndex: 1 } };
  const saved = conversationWith(
    message('user', 'Hello', { promptScore: { tokens: [15496, 13], pieces: ['Hello', '.'], surprisal: [3.25] } }),
    message('model', second.text, { status: 'done', stopReason: 'max-tokens', tokens: second.tokens, versions: [first, second], version: 1 }),
  );
  const store = await openStore(name);
  await store.save(saved);
  store.close();

  expect(await (await openStore(name)).current()).toEqual(saved);
});

it('returns a version still being written as interrupted, whichever version is shown', async () => {
  const name = freshName();
  const done = { text: 'Done', status: 'done' as const };
  const saved = conversationWith(
    message('user', 'Go'),
    message('model', 'Done', { status: 'done', versions: [done, { text: 'Half', status: 'streaming' }], version: 0 }),
  );
  const store = await openStore(name);
  await store.save(saved);
  store.close();

  const [, reply] = (await (await openStore(name)).current()).messages;
  expect(reply.status).toBe('done');
  expect(reply.versions!.map((version) => version.status)).toEqual(['done', 'interrupted']);
});
