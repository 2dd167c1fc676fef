// Where the user writes. Enter sends and Shift+Enter starts a new line; text that is only
// whitespace is not sent. Stop takes Send's place while a reply is being written.
import { css, html, LitElement, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { controlStyles } from './shared-styles.ts';

@customElement('prompt-box')
export class PromptBox extends LitElement {
  /** Focusing the element focuses the text box, its first focusable part. */
  static override shadowRootOptions = { ...LitElement.shadowRootOptions, delegatesFocus: true };

  static override styles = [
    controlStyles,
    css`
      :host {
        display: block;
      }
      form {
        display: grid;
        gap: 0.5rem;
      }
      textarea {
        display: block;
        width: 100%;
        min-height: 4.5rem;
        max-height: 40vh;
        resize: vertical;
        line-height: 1.45;
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: center;
      }
      .spacer {
        flex: 1;
      }
      /* Empty, it takes no height; it stays in the page so what it says later is announced. */
      .hint {
        margin: 0;
        font-size: 0.9rem;
        color: var(--text-muted);
      }
      /* A phone: a shorter box (it grows by dragging) and one row of buttons. */
      @media (max-width: 30rem) {
        textarea {
          min-height: 3.2rem;
        }
        .long {
          display: none;
        }
      }
    `,
  ];

  @property({ type: Boolean }) generating = false;
  @property({ type: Boolean }) canRegenerate = false;
  @property({ type: Boolean }) canClear = false;
  /** Why nothing can be sent right now (no model loaded yet), or '' when sending works. */
  @property() blockedReason = '';
  @property() placeholder = '';

  /** A gentle word about the last attempt to send (nothing to send). */
  @state() private hint = '';
  @query('textarea') private textarea!: HTMLTextAreaElement;

  /** Stop had the focus when the reply ended: Stop is gone, so the focus goes back to the text box. */
  private stopWasFocused = false;

  protected override willUpdate(changed: PropertyValues<this>): void {
    this.stopWasFocused = changed.has('generating') && !this.generating && this.shadowRoot?.activeElement?.getAttribute('data-testid') === 'stop';
  }

  protected override updated(): void {
    if (this.stopWasFocused) this.textarea.focus();
  }

  override render() {
    const message = this.hint || this.blockedReason;
    return html`<form @submit=${this.onSubmit}>
      <label class="visually-hidden" for="prompt">Your text for GPT-2</label>
      <textarea
        id="prompt"
        data-testid="prompt"
        placeholder=${this.placeholder}
        aria-describedby="hint"
        @keydown=${this.onKeyDown}
        @input=${() => (this.hint = '')}
      ></textarea>
      <p class="hint" id="hint" data-testid="prompt-hint" aria-live="polite">${message}</p>
      <div class="actions">
        ${this.generating
          ? html`<button type="button" class="primary" data-testid="stop" @click=${() => this.emit('generation-stop')}>Stop</button>`
          : html`<button type="submit" class="primary" data-testid="send" ?disabled=${this.blockedReason !== ''}>Send</button>`}
        <button type="button" data-testid="regenerate" ?disabled=${!this.canRegenerate || this.blockedReason !== ''} @click=${() => this.emit('reply-regenerate')}>
          Regenerate
        </button>
        <span class="spacer"></span>
        <button type="button" data-testid="clear" ?disabled=${!this.canClear} @click=${() => this.emit('conversation-clear')}>
          Clear<span class="long"> conversation</span>
        </button>
      </div>
    </form>`;
  }

  private onKeyDown(event: KeyboardEvent): void {
    // While an input method is composing (Japanese, Chinese…), Enter confirms the composition.
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    this.send();
  }

  private onSubmit(event: SubmitEvent): void {
    event.preventDefault();
    this.send();
  }

  private send(): void {
    if (this.blockedReason) return;
    if (this.generating) {
      this.hint = 'GPT-2 is still writing: wait for it, or press Stop.';
      return;
    }
    const text = this.textarea.value;
    if (text.trim() === '') {
      this.hint = 'Write something first: GPT-2 needs some text to continue.';
      return;
    }
    this.hint = '';
    this.textarea.value = '';
    this.dispatchEvent(new CustomEvent('prompt-send', { detail: { text } }));
  }

  private emit(name: string): void {
    this.dispatchEvent(new CustomEvent(name));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'prompt-box': PromptBox;
  }
}
