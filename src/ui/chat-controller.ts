// The conversation and the reply being generated: frames the prompt, streams the reply into the
// conversation as tokens arrive (with what the model thought of each, and of the prompt), branches a
// reply at one of its tokens into a new version, keeps the speed readout current and saves the
// conversation before, during and after each reply.
import type { ReactiveControllerHost } from 'lit';
import type { ConversationFormat, GenerationEvent, GenerationResult, GenerationSettings } from '../worker/engine-api.ts';
import { engineStopped, errorMessage, type AppEngine } from './app-engine.ts';
import { newConversation, type ChatMessage, type Conversation, type ConversationStore, type ReplyToken, type ReplyVersion } from './conversation-store.ts';
import { framePrompt, replyText, type FramedPrompt, type FramingMode, type Turn } from './prompt-framing.ts';
import { shownVersion, versionsOf, withNewVersion, withVersionChanged, withVersionShown } from './reply-versions.ts';
import { generationSettings, randomSeed, type AppSettings } from './settings.ts';
import { alignPieces } from './token-alignment.ts';

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
  /** Stop was pressed during this reply; kept because the engine may not have been asked for it yet. */
  private stopRequested = false;

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

  /** One reply at a time: a branch waits for the reply being written. */
  get canBranch(): boolean {
    return !this.generating;
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
    if (!this.generating) return;
    this.stopRequested = true;
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

  /**
   * Branches a reply at its token `tokenIndex`: a new version keeps the tokens before it, writes
   * `alternative` (one of the tokens the model listed there) in its place, and goes on from there
   * with the reply's own prompt and settings. The new version is shown; the old one stays.
   */
  async branch(replyId: string, tokenIndex: number, alternative: number, modelId: string, format: ConversationFormat): Promise<void> {
    if (!this.canBranch) return;
    const at = this.messages.findIndex((message) => message.id === replyId);
    const reply = this.messages[at];
    const prompt = this.messages[at - 1];
    const insight = reply?.tokens?.[tokenIndex]?.insight;
    const chance = insight?.top.find((each) => each.token === alternative);
    if (reply?.role !== 'model' || prompt?.role !== 'user' || !reply.settings || !insight || !chance) return;
    // The text the kept tokens wrote, as shown (token-alignment.ts), then the alternative's.
    const keptText = reply.text.slice(0, alignPieces(reply.text, reply.tokens!.map((token) => token.piece))[tokenIndex].start) + chance.text;
    const kept = [...reply.tokens!.slice(0, tokenIndex), { token: alternative, piece: chance.text, insight: { ...insight, probability: chance.probability } }];
    this.setMessages(this.messages.map((message) => (message.id === replyId
      ? withNewVersion(message, {
        text: replyText(prompt.framing, keptText), status: 'pending', tokens: kept, modelId, branchedFrom: { version: shownVersion(message), tokenIndex },
      })
      : message)));
    const target = { replyId, version: versionsOf(this.find(replyId)!).length - 1 };
    const framed = this.frame(at - 1, format);
    await this.generateInto(target, prompt.framing, framed.prompt, { ...reply.settings, inspect: true }, { text: keptText, tokens: kept });
  }

  /** Shows another version of a branched reply. */
  async showVersion(replyId: string, index: number): Promise<void> {
    this.setMessages(this.messages.map((message) => (message.id === replyId ? withVersionShown(message, index) : message)));
    await this.save();
  }

  /** Generates the model's reply to the last message, which is the user's. */
  private async reply(settings: AppSettings, modelId: string, format: ConversationFormat): Promise<void> {
    const promptIndex = this.messages.length - 1;
    const prompt = this.messages[promptIndex];
    if (prompt?.role !== 'user') return;
    const framed = this.frame(promptIndex, format, settings.stopStrings);
    // The engine looks inside every reply: what it thought of each token is kept with the reply.
    const used = { ...generationSettings(settings, framed.stopStrings, settings.randomSeed ? randomSeed() : settings.seed), inspect: true };
    const now = Date.now();
    const replyId = crypto.randomUUID();
    const reply: ChatMessage = {
      id: replyId, role: 'model', text: '', framing: prompt.framing, status: 'pending', modelId, settings: used, tokens: [], createdAt: now, updatedAt: now,
    };
    this.setMessages([...this.messages, reply]);
    await this.generateInto({ replyId, version: 0 }, prompt.framing, framed.prompt, used, { text: '', tokens: [] }, prompt.id);
  }

  /** The prompt that asks for a reply to the user's message at `promptIndex`, with the chat before it. */
  private frame(promptIndex: number, format: ConversationFormat, userStopStrings: readonly string[] = []): FramedPrompt {
    const prompt = this.messages[promptIndex];
    const history = this.messages.slice(0, promptIndex).filter((message) => message.framing === 'chat').map(toTurn);
    return framePrompt(prompt.framing, history, prompt.text, userStopStrings, format);
  }

  /**
   * Writes a reply into version `target.version` of reply `target.replyId` as the engine generates
   * it. `start`: what the version already holds; its tokens are the reply's first, already chosen
   * (a branch). `scoredId`: the user message whose prompt this pass reads, to keep its score on.
   */
  private async generateInto(
    target: { replyId: string; version: number }, framing: FramingMode, prompt: string, settings: GenerationSettings,
    start: { text: string; tokens: ReplyToken[] }, scoredId?: string,
  ): Promise<void> {
    this.generating = true;
    this.stopRequested = false;
    this.speed = null;
    this.host.requestUpdate();
    await this.save();

    const update = (change: Partial<ReplyVersion>) => this.updateReply(target.replyId, target.version, change);
    let generated = start.text;
    const tokens = [...start.tokens];
    let droppedTokens = 0;
    const meter = new SpeedMeter((speed) => (this.speed = speed));
    let lastSave = performance.now();
    // The events come through a message channel of their own, so the last ones can arrive after
    // the result. The result holds the whole text; an event applied after it would mark the
    // finished reply as still being written. Their tokens' insights are still kept.
    let settled = false;
    let expectedTokens = Infinity;
    const onEvent = (event: GenerationEvent) => {
      if (event.type === 'token') tokens.push({ token: event.token, piece: event.piece, ...(event.insight && { insight: event.insight }) });
      if (settled) {
        if (event.type !== 'token') return;
        update({ tokens: [...tokens] });
        if (tokens.length >= expectedTokens) void this.save();
        return;
      }
      meter.observe(event);
      // Every event that carries text adds to the reply; only token events count as tokens.
      if ('text' in event) generated += event.text;
      if (event.type === 'prompt-done' && event.score && scoredId) this.updateMessage(scoredId, { promptScore: event.score });
      if (event.type === 'context-shift') {
        droppedTokens += event.droppedTokens;
        update({ droppedTokens });
      } else {
        update({ text: replyText(framing, generated), tokens: [...tokens], status: 'streaming' });
      }
      if (performance.now() - lastSave > STREAMING_SAVE_INTERVAL_MS) {
        lastSave = performance.now();
        void this.save();
      }
    };
    try {
      // Stop shows as soon as the reply is asked for, but the engine hears of it only now, after the
      // save, and ignores an abort that came before: a stop pressed during the save ends it here.
      if (this.stopRequested) {
        update({ status: 'done', stopReason: 'aborted' });
      } else {
        const replyStart = start.tokens.length > 0 ? start.tokens.map((token) => token.token) : undefined;
        const result = await this.engine.generate(prompt, settings, onEvent, replyStart).finally(() => (settled = true));
        expectedTokens = start.tokens.length + result.tokens.length;
        update({ text: replyText(framing, start.text + result.text), tokens: [...tokens], status: 'done', stopReason: result.stopReason });
        this.speed = meter.finish(result);
      }
    } catch (error) {
      if (engineStopped(error)) {
        // The app shows the engine's own notice; the reply says why it broke off and what to do.
        update({ status: 'interrupted', error: `${errorMessage(error)}, then press Regenerate` });
      } else {
        update({ status: 'error', error: errorMessage(error) });
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

  private updateMessage(id: string, change: Partial<ChatMessage>): void {
    this.setMessages(this.messages.map((message) => (message.id === id ? { ...message, ...change, updatedAt: Date.now() } : message)));
  }

  /** Changes one version of a reply (the one shown, or one the user has switched away from). */
  private updateReply(id: string, version: number, change: Partial<ReplyVersion>): void {
    this.setMessages(this.messages.map((message) => (message.id === id ? { ...withVersionChanged(message, version, change), updatedAt: Date.now() } : message)));
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
