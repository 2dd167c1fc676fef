// The conversation as it is shown. Every piece of text, the model's included, goes in through Lit
// text bindings, so markup in a reply shows as the characters it is made of and never runs.
// In plain mode the model continues the user's text, so the two are shown as one passage.
// Looking inside (`lookInside`), replies are drawn token by token (token-view.ts) under the key to
// their shading, and messages show how the model scored them; a branched reply shows which of its
// versions is on screen. What the user asks of a reply goes out as `reply-branch` and
// `reply-version-show`, for the chat controller.
import { css, html, LitElement, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { StopReason } from '../worker/engine-api.ts';
import type { ChatMessage } from './conversation-store.ts';
import './probability-legend.ts';
import './prompt-score-view.ts';
import { MODEL_NAME } from './prompt-framing.ts';
import { shownVersion } from './reply-versions.ts';
import { controlStyles, writingCursorStyles } from './shared-styles.ts';
import './token-view.ts';
import './version-switcher.ts';

const STOP_REASONS: Record<StopReason, string> = {
  'end-of-text': 'GPT-2 ended the text',
  'stop-string': 'stopped at a stop string',
  'max-tokens': 'reached the max new tokens',
  aborted: 'stopped',
};

/** How close to the bottom (in pixels) still counts as following the reply as it streams in. */
const FOLLOW_MARGIN_PX = 48;

@customElement('chat-log')
export class ChatLog extends LitElement {
  static override styles = [controlStyles, writingCursorStyles, css`
    :host {
      display: block;
      overflow-y: auto;
      overscroll-behavior: contain;
    }
    :host(:focus-visible) {
      outline: 2px solid var(--accent);
      outline-offset: 2px;
    }
    .done {
      display: flex;
      flex-wrap: wrap;
      align-items: baseline;
      gap: 0.25rem 0.75rem;
    }
    .done .meta {
      flex: 1 1 12rem;
    }
    button.copy {
      padding: 0.15rem 0.6rem;
      font-size: 0.8rem;
    }
    .messages {
      display: grid;
      gap: 0.75rem;
      padding: 0.25rem;
    }
    article {
      /* What a reply's token view opens is placed within the reply's box. */
      position: relative;
      max-width: 100%;
      padding: 0.6rem 0.85rem;
      border-radius: var(--radius-large);
      border: 1px solid var(--border);
      background: var(--surface-raised);
    }
    article.user {
      justify-self: end;
      max-width: min(40rem, 90%);
      background: var(--user-surface);
      border-color: transparent;
    }
    article.model,
    article.completion {
      justify-self: start;
      max-width: min(48rem, 100%);
    }
    .who {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      justify-content: space-between;
      gap: 0.2rem 0.75rem;
      margin: 0 0 0.2rem;
      font-size: 0.8rem;
      font-weight: 600;
      color: var(--text-muted);
    }
    .legend {
      position: sticky;
      top: 0;
      z-index: 1;
      padding: 0.3rem 0.25rem;
      background: var(--background);
    }
    .text {
      margin: 0;
      white-space: pre-wrap;
      overflow-wrap: anywhere;
      line-height: 1.5;
    }
    .prompt-echo {
      color: var(--text-muted);
    }
    .completion [data-testid='reply'] {
      color: var(--text);
      background: var(--completion-highlight);
      border-radius: 0.2rem;
    }
    .notice,
    .meta {
      margin: 0.35rem 0 0;
      font-size: 0.8rem;
      color: var(--text-muted);
    }
    .notice.warning {
      color: var(--warning);
    }
    .notice.error {
      color: var(--danger);
    }
    .empty {
      margin: 2rem auto;
      max-width: 30rem;
      text-align: center;
      color: var(--text-muted);
    }
  `];

  @property({ attribute: false }) messages: readonly ChatMessage[] = [];
  /** Draw replies token by token, shaded by probability, and show the prompts' scores. */
  @property({ type: Boolean }) lookInside = false;
  /** Whether a reply may be branched now (a model is loaded and no reply is being written). */
  @property({ type: Boolean }) canBranch = false;

  /** Whether the view is at the bottom: then it stays there as text arrives. Kept up to date by
   *  scrolling, not measured before each update, which would lay the page out an extra time. */
  private following = true;
  /** The last reply finished, for screen readers: read once it is complete, not token by token. */
  @state() private announcement = '';
  private announcedId: string | null = null;
  /** The reply Copy was pressed on last, and whether the browser let it copy, to say so on its button. */
  @state() private copied: { id: string; ok: boolean } | null = null;

  constructor() {
    super();
    this.addEventListener('scroll', () => (this.following = this.scrollHeight - this.scrollTop - this.clientHeight < FOLLOW_MARGIN_PX), { passive: true });
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // The log scrolls by itself, so keyboard users must be able to reach it to scroll it.
    this.tabIndex = 0;
    this.setAttribute('role', 'region');
    this.setAttribute('aria-label', 'Conversation');
  }

  override render() {
    const announcement = html`<p class="visually-hidden" aria-live="polite" data-testid="reply-announcement">${this.announcement}</p>`;
    if (this.messages.length === 0) {
      return html`<p class="empty">Nothing yet. Write the beginning of something below, and GPT-2 will continue it.</p>${announcement}`;
    }
    const rendered = [];
    for (let index = 0; index < this.messages.length; index++) {
      const message = this.messages[index];
      const next = this.messages[index + 1];
      if (message.role === 'user' && message.framing === 'plain' && next?.role === 'model') {
        rendered.push(this.renderCompletion(message, next));
        index++;
      } else {
        rendered.push(message.role === 'user' ? this.renderUser(message) : this.renderReply(message));
      }
    }
    const legend = this.lookInside ? html`<probability-legend class="legend"></probability-legend>` : null;
    return html`${legend}<div class="messages">${rendered}</div>${announcement}`;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const last = this.messages.at(-1);
    // Each version of a reply is news once; showing another version again is not.
    const lastId = last && `${last.id}:${last.versions?.length ?? 1}`;
    if (changed.has('messages') && last?.role === 'model' && last.status === 'done' && lastId !== this.announcedId) {
      // A conversation restored from storage is not news; a reply finished now is.
      if (this.announcedId !== null || changed.get('messages')?.length) this.announcement = `${MODEL_NAME} replied: ${last.text}`;
      this.announcedId = lastId!;
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('messages') && this.following && this.messages.length > 0) this.scrollTop = this.scrollHeight;
  }

  private renderUser(message: ChatMessage) {
    return html`<article class="user">
      <p class="who">You${message.framing === 'plain' ? ' (to continue)' : ''}</p>
      <p class="text" data-testid="user-message">${message.text}</p>
      ${this.renderScore(message)}
    </article>`;
  }

  private renderReply(reply: ChatMessage) {
    return html`<article class="model" data-testid="reply-message">
      <p class="who">${MODEL_NAME}${this.renderVersions(reply)}</p>
      <p class="text">${this.renderReplyText(reply)}</p>
      ${this.renderNotices(reply, reply.text)}
    </article>`;
  }

  private renderCompletion(prompt: ChatMessage, reply: ChatMessage) {
    return html`<article class="completion" data-testid="reply-message">
      <p class="who">Your text, continued by ${MODEL_NAME}${this.renderVersions(reply)}</p>
      <p class="text"><span class="prompt-echo" data-testid="user-message">${prompt.text}</span>${this.renderReplyText(reply)}</p>
      ${this.renderScore(prompt)}
      ${this.renderNotices(reply, prompt.text + reply.text)}
    </article>`;
  }

  /** The reply's text: token by token when looking inside and the engine said what it thought of them. */
  private renderReplyText(reply: ChatMessage) {
    if (this.lookInside && reply.tokens?.some((token) => token.insight)) {
      return html`<token-view
        .text=${reply.text}
        .tokens=${reply.tokens}
        .version=${shownVersion(reply)}
        ?busy=${this.isWriting(reply) === 'true'}
        ?canBranch=${this.canBranch}
        @token-branch=${(event: CustomEvent<{ tokenIndex: number; token: number }>) =>
          this.emit('reply-branch', { replyId: reply.id, tokenIndex: event.detail.tokenIndex, token: event.detail.token })}
      ></token-view>`;
    }
    return html`<span data-testid="reply" aria-busy=${this.isWriting(reply)}>${reply.text}</span>`;
  }

  private renderVersions(reply: ChatMessage) {
    if (!reply.versions || reply.versions.length < 2) return null;
    return html`<version-switcher
      .index=${shownVersion(reply)}
      .count=${reply.versions.length}
      @version-show=${(event: CustomEvent<{ index: number }>) => this.emit('reply-version-show', { replyId: reply.id, index: event.detail.index })}
    ></version-switcher>`;
  }

  private renderScore(message: ChatMessage) {
    return this.lookInside && message.promptScore ? html`<prompt-score-view .score=${message.promptScore}></prompt-score-view>` : null;
  }

  private emit(name: string, detail: object): void {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  /** `text`: what Copy puts on the clipboard (in plain mode the whole passage, the user's text with it). */
  private renderNotices(reply: ChatMessage, text: string) {
    const status = reply.status;
    return html`${reply.droppedTokens
        ? html`<p class="notice warning" data-testid="context-shift">
            context full: the oldest ${reply.droppedTokens} tokens were dropped
          </p>`
        : null}
      ${status === 'pending' ? html`<p class="notice" data-testid="reply-status">Reading the prompt…</p>` : null}
      ${status === 'interrupted'
        ? html`<p class="notice warning" data-testid="reply-status">Interrupted: ${reply.error ?? 'the page closed while this reply was being written'}.</p>`
        : null}
      ${status === 'error' ? html`<p class="notice error" data-testid="reply-status">Failed: ${reply.error}</p>` : null}
      ${status === 'done'
        ? html`<div class="done">
            <p class="meta">${this.describeDone(reply)}</p>
            <button class="copy" data-testid="copy-reply" @click=${() => this.copy(reply.id, text)}>
              ${this.copied?.id !== reply.id ? 'Copy' : this.copied.ok ? 'Copied' : 'Copying was not allowed'}<span class="visually-hidden"> this reply</span>
            </button>
          </div>`
        : null}`;
  }

  private async copy(id: string, text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this.copied = { id, ok: true };
    } catch {
      // The page is not focused, or the browser (or the user) refused clipboard access.
      this.copied = { id, ok: false };
    }
  }

  private describeDone(reply: ChatMessage): string {
    const parts = [];
    if (reply.modelId) parts.push(reply.modelId);
    if (reply.settings) parts.push(reply.settings.temperature === 0 ? 'greedy' : `seed ${reply.settings.seed}`);
    if (reply.stopReason) parts.push(STOP_REASONS[reply.stopReason]);
    return parts.join(' · ');
  }

  private isWriting(reply: ChatMessage): 'true' | 'false' {
    return reply.status === 'pending' || reply.status === 'streaming' ? 'true' : 'false';
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'chat-log': ChatLog;
  }
}
