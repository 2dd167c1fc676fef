// Conversations kept in IndexedDB, so a reload (or a crash) loses nothing. The whole conversation
// is one record, written before each reply starts, while it streams and when it ends; a reply
// still marked pending or streaming when it is read back was cut off by the tab closing, and is
// returned as interrupted.
import type { GenerationSettings, StopReason } from '../worker/engine-api.ts';
import type { FramingMode } from './prompt-framing.ts';

export type MessageStatus =
  /** Saved before generation starts; no token yet. */
  | 'pending'
  | 'streaming'
  | 'done'
  /** The tab closed (or crashed) while the reply was being written, or the engine's worker died (`error` says so). */
  | 'interrupted'
  | 'error';

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
    messages: conversation.messages.map((message) =>
      message.status === 'pending' || message.status === 'streaming' ? { ...message, status: 'interrupted' } : message,
    ),
  };
}

function settled<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
