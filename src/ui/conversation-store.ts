// Conversations kept in IndexedDB, so a reload (or a crash) loses nothing. The whole conversation
// is one record, written before each reply starts, while it streams and when it ends; a reply
// still marked pending or streaming when it is read back was cut off by the tab closing, and is
// returned as interrupted. Fields added since the first version are optional, so records saved
// before them load as they are.
import type { GenerationSettings, PromptScore, StopReason, TokenInsight } from '../worker/engine-api.ts';
import type { FramingMode } from './prompt-framing.ts';

export type MessageStatus =
  /** Saved before generation starts; no token yet. */
  | 'pending'
  | 'streaming'
  | 'done'
  /** The tab closed (or crashed) while the reply was being written, or the engine's worker died (`error` says so). */
  | 'interrupted'
  | 'error';

/** One token of a reply, kept so the reply can be looked inside and branched at it. */
export interface ReplyToken {
  token: number;
  /** The token's own text (it may differ from what it added to the reply: see token-alignment.ts). */
  piece: string;
  /** What the model thought there; left out where the engine did not say. */
  insight?: TokenInsight;
}

/** One version of a reply. A reply gets a second one when it is branched at a token. */
export interface ReplyVersion {
  text: string;
  status: MessageStatus;
  stopReason?: StopReason;
  droppedTokens?: number;
  error?: string;
  tokens?: ReplyToken[];
  modelId?: string;
  /** The version it branched off, and the index of the token replaced there. */
  branchedFrom?: { version: number; tokenIndex: number };
}

export interface ChatMessage {
  id: string;
  role: 'user' | 'model';
  text: string;
  framing: FramingMode;
  createdAt: number;
  updatedAt: number;
  /** Model replies only, from here on. */
  status?: MessageStatus;
  /** The model that wrote the reply (a cached model id, or "file:<name>"). */
  modelId?: string;
  /** The settings the reply was generated with, seed included, so it can be reproduced. */
  settings?: GenerationSettings;
  stopReason?: StopReason;
  /** Tokens dropped from the start of the context to make room while this reply was written. */
  droppedTokens?: number;
  error?: string;
  /** The reply's tokens, as generated (the shown version's). */
  tokens?: ReplyToken[];
  /** A branched reply: all its versions, oldest first. The one shown, `version`, is also spread
   *  over the message's own fields (text, status, tokens…), so what reads a message (the prompt
   *  built from the history, the log) needs to know nothing of versions. */
  versions?: ReplyVersion[];
  version?: number;
  /** User messages: the prompt as the model read it when it answered, scored by that pass. */
  promptScore?: PromptScore;
}

export interface Conversation {
  id: string;
  createdAt: number;
  updatedAt: number;
  messages: ChatMessage[];
}

const STORE = 'conversations';

export function newConversation(): Conversation {
  const now = Date.now();
  return { id: crypto.randomUUID(), createdAt: now, updatedAt: now, messages: [] };
}

export class ConversationStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(name = 'gpt2-conversations'): Promise<ConversationStore> {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE, { keyPath: 'id' }).createIndex('updatedAt', 'updatedAt');
    };
    return new ConversationStore(await settled(request));
  }

  /** Writes the whole conversation, replacing what was stored under its id. */
  async save(conversation: Conversation): Promise<void> {
    await this.write((store) => store.put(conversation));
  }

  /** The conversation most recently written, or a new empty one (not stored until it is saved). */
  async current(): Promise<Conversation> {
    const transaction = this.db.transaction(STORE, 'readonly');
    const cursor = await settled(transaction.objectStore(STORE).index('updatedAt').openCursor(null, 'prev'));
    return cursor ? withInterruptedReplies(cursor.value as Conversation) : newConversation();
  }

  async get(id: string): Promise<Conversation | undefined> {
    const conversation = await settled(this.db.transaction(STORE, 'readonly').objectStore(STORE).get(id));
    return conversation ? withInterruptedReplies(conversation as Conversation) : undefined;
  }

  async delete(id: string): Promise<void> {
    await this.write((store) => store.delete(id));
  }

  close(): void {
    this.db.close();
  }

  /** Resolves once the transaction is committed, so a saved conversation survives a crash right after. */
  private write(change: (store: IDBObjectStore) => IDBRequest): Promise<void> {
    const transaction = this.db.transaction(STORE, 'readwrite');
    change(transaction.objectStore(STORE));
    return new Promise((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error ?? new Error('the conversation could not be saved'));
    });
  }
}

/** A reply that was still being written when it was stored can no longer finish. */
function withInterruptedReplies(conversation: Conversation): Conversation {
  return {
    ...conversation,
    messages: conversation.messages.map((message) => {
      const marked = stillWriting(message.status) ? { ...message, status: 'interrupted' as const } : message;
      if (!marked.versions) return marked;
      return { ...marked, versions: marked.versions.map((version) => (stillWriting(version.status) ? { ...version, status: 'interrupted' as const } : version)) };
    }),
  };
}

function stillWriting(status: MessageStatus | undefined): boolean {
  return status === 'pending' || status === 'streaming';
}

function settled<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
