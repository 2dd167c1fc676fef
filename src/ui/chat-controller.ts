// The conversation and the reply being generated: frames the prompt, streams the reply into the
// conversation as tokens arrive, keeps the speed readout current and saves the conversation before,
// during and after each reply.
import type { ReactiveControllerHost } from 'lit';
import type { ConversationFormat, GenerationEvent, GenerationResult } from '../worker/engine-api.ts';
import { engineStopped, errorMessage, type AppEngine } from './app-engine.ts';
import { newConversation, type ChatMessage, type Conversation, type ConversationStore } from './conversation-store.ts';
import { framePrompt, replyText, type Turn } from './prompt-framing.ts';
import { generationSettings, randomSeed, type AppSettings } from './settings.ts';

export interface Speed {
  promptTokens: number;
  promptTokensPerSecond: number | null;
  generatedTokens: number;
  /** null until two tokens have arrived (the first comes with the prompt pass). */
  generatedTokensPerSecond: number | null;
  /** Still generating: the numbers are measured in the page as tokens arrive. */
  live: boolean;
}

/** While streaming, the conversation is saved at most this often. */
const STREAMING_SAVE_INTERVAL_MS = 1000;

export class ChatController {
  conversation: Conversation = newConversation();
  generating = false;
  speed: Speed | null = null;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly engine: AppEngine,
    private readonly store: ConversationStore,
    private readonly onError: (message: string) => void,
  ) {}

  get messages(): readonly ChatMessage[] {
    return this.conversation.messages;
  }

  get canRegenerate(): boolean {
    return !this.generating && this.messages.at(-1)?.role === 'model';
  }

  /** Shows the conversation saved last (a reply cut off by a closed tab comes back interrupted). */
  async restore(): Promise<void> {
    try {
      this.conversation = await this.store.current();
    } catch (error) {
      this.onError(`Could not restore the conversation: ${errorMessage(error)}`);
    }
    this.host.requestUpdate();
  }

  /** `format`: how the model `modelId` reads a conversation (chat mode). */
  async send(text: string, settings: AppSettings, modelId: string, format: ConversationFormat): Promise<void> {
    if (this.generating) return;
    const now = Date.now();
    const message: ChatMessage = { id: crypto.randomUUID(), role: 'user', text, framing: settings.framing, createdAt: now, updatedAt: now };
    this.setMessages([...this.messages, message]);
    await this.reply(settings, modelId, format);
  }

  /** Replaces the last reply with a new one to the same message. */
  async regenerate(settings: AppSettings, modelId: string, format: ConversationFormat): Promise<void> {
    if (!this.canRegenerate) return;
    this.setMessages(this.messages.slice(0, -1));
    await this.reply(settings, modelId, format);
  }

  /** The reply ends after the token in flight; its generate call then resolves as 'aborted'. */
  async stop(): Promise<void> {
    try {
      await this.engine.api.abort();
    } catch (error) {
      this.onError(`Could not stop the reply: ${errorMessage(error)}`);
    }
  }

  async clear(): Promise<void> {
    if (this.generating) return;
    const cleared = this.conversation;
    this.conversation = newConversation();
    this.speed = null;
    this.host.requestUpdate();
    try {
      await this.store.delete(cleared.id);
    } catch (error) {
      this.onError(`Could not delete the saved conversation: ${errorMessage(error)}`);
    }
  }

  /** Generates the model's reply to the last message, which is the user's. */
  private async reply(settings: AppSettings, modelId: string, format: ConversationFormat): Promise<void> {
    const prompt = this.messages.at(-1);
    if (prompt?.role !== 'user') return;
    const history = this.messages.slice(0, -1).filter((message) => message.framing === 'chat').map(toTurn);
    const framed = framePrompt(prompt.framing, history, prompt.text, settings.stopStrings, format);
    const used = generationSettings(settings, framed.stopStrings, settings.randomSeed ? randomSeed() : settings.seed);
    const now = Date.now();
    const replyId = crypto.randomUUID();
    const reply: ChatMessage = {
      id: replyId, role: 'model', text: '', framing: prompt.framing, status: 'pending', modelId, settings: used, createdAt: now, updatedAt: now,
    };
    this.setMessages([...this.messages, reply]);
    this.generating = true;
    this.speed = null;
    this.host.requestUpdate();
    await this.save();

    let generated = '';
    const meter = new SpeedMeter((speed) => (this.speed = speed));
    let lastSave = performance.now();
    // The events come through a message channel of their own, so the last ones can arrive after
    // the result. The result holds the whole text; an event applied after it would mark the
    // finished reply as still being written.
    let settled = false;
    const onEvent = (event: GenerationEvent) => {
      if (settled) return;
      meter.observe(event);
      // Every event that carries text adds to the reply; only token events count as tokens.
      if ('text' in event) generated += event.text;
      if (event.type === 'context-shift') {
        this.updateReply(replyId, { droppedTokens: (this.find(replyId)?.droppedTokens ?? 0) + event.droppedTokens });
      } else {
        this.updateReply(replyId, { text: replyText(prompt.framing, generated), status: 'streaming' });
      }
      if (performance.now() - lastSave > STREAMING_SAVE_INTERVAL_MS) {
        lastSave = performance.now();
        void this.save();
      }
    };
    try {
      const result = await this.engine.generate(framed.prompt, used, onEvent).finally(() => (settled = true));
      this.updateReply(replyId, { text: replyText(prompt.framing, result.text), status: 'done', stopReason: result.stopReason });
      this.speed = meter.finish(result);
    } catch (error) {
      if (engineStopped(error)) {
        // The app shows the engine's own notice; the reply says why it broke off and what to do.
        this.updateReply(replyId, { status: 'interrupted', error: `${errorMessage(error)}, then press Regenerate` });
      } else {
        this.updateReply(replyId, { status: 'error', error: errorMessage(error) });
        this.onError(`GPT-2 could not reply: ${errorMessage(error)}`);
      }
    }
    this.generating = false;
    this.host.requestUpdate();
    await this.save();
  }

  private find(id: string): ChatMessage | undefined {
    return this.messages.find((message) => message.id === id);
  }

  private updateReply(id: string, change: Partial<ChatMessage>): void {
    this.setMessages(this.messages.map((message) => (message.id === id ? { ...message, ...change, updatedAt: Date.now() } : message)));
  }

  /** A new array each time, so the components showing it see the change. */
  private setMessages(messages: ChatMessage[]): void {
    this.conversation = { ...this.conversation, messages, updatedAt: Date.now() };
    this.host.requestUpdate();
  }

  private async save(): Promise<void> {
    try {
      await this.store.save(this.conversation);
    } catch (error) {
      this.onError(`Could not save the conversation: ${errorMessage(error)}`);
    }
  }
}

function toTurn(message: ChatMessage): Turn {
  return { speaker: message.role, text: message.text };
}

/** Speeds measured from the stream while generating, replaced by the engine's own when it is done. */
class SpeedMeter {
  private speed: Speed = { promptTokens: 0, promptTokensPerSecond: null, generatedTokens: 0, generatedTokensPerSecond: null, live: true };
  private firstTokenAt = 0;

  constructor(private readonly report: (speed: Speed) => void) {}

  observe(event: GenerationEvent): void {
    if (event.type === 'prompt-done') {
      const promptTokensPerSecond = event.ms > 0 ? event.promptTokens / (event.ms / 1000) : null;
      this.speed = { ...this.speed, promptTokens: event.promptTokens, promptTokensPerSecond };
    } else if (event.type === 'token') {
      const generatedTokens = this.speed.generatedTokens + 1;
      const now = performance.now();
      if (generatedTokens === 1) this.firstTokenAt = now;
      // The first token comes out of the prompt pass; the rate is that of the decode steps after it.
      const seconds = (now - this.firstTokenAt) / 1000;
      const generatedTokensPerSecond = generatedTokens > 1 && seconds > 0 ? (generatedTokens - 1) / seconds : null;
      this.speed = { ...this.speed, generatedTokens, generatedTokensPerSecond };
    } else {
      return;
    }
    this.report(this.speed);
  }

  finish(result: GenerationResult): Speed {
    return {
      promptTokens: result.promptTokens,
      promptTokensPerSecond: result.promptTokensPerSecond,
      generatedTokens: result.tokens.length,
      generatedTokensPerSecond: result.tokens.length > 1 ? result.generatedTokensPerSecond : null,
      live: false,
    };
  }
}
