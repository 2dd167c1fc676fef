// A panel that opens over the conversation: the model list, the settings. It is the browser's own
// modal <dialog>, which makes the page behind inert, closes on Escape, and gives the focus back to
// the control that opened it; Tab past its last control comes round to its first (and Shift+Tab
// the other way) instead of leaving for the browser's own bars. The host has `open` while it is. On a phone it fills the screen;
// from 40rem wide it is a drawer on the right. Its content is slotted, so the app keeps rendering it.
import { css, html, LitElement } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import { tabbable } from 'tabbable';
import { controlStyles } from './shared-styles.ts';

@customElement('app-dialog')
export class AppDialog extends LitElement {
  static override styles = [
    controlStyles,
    css`
      dialog {
        box-sizing: border-box;
        width: 100%;
        max-width: 100%;
        height: 100%;
        max-height: 100%;
        margin: 0;
        padding: 0;
        border: none;
        background: var(--surface);
        color: var(--text);
      }
      dialog[open] {
        display: flex;
        flex-direction: column;
      }
      dialog::backdrop {
        background: rgb(0 0 0 / 0.45);
      }
      @media (min-width: 40rem) {
        dialog {
          width: min(34rem, 100vw);
          margin-left: auto;
          border-left: 1px solid var(--border);
          box-shadow: -0.5rem 0 2rem rgb(0 0 0 / 0.2);
        }
      }
      @media (prefers-reduced-motion: no-preference) {
        dialog[open] {
          animation: slide-in 160ms ease-out;
        }
        @keyframes slide-in {
          from {
            transform: translateX(2rem);
            opacity: 0;
          }
        }
      }
      .bar {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        padding: max(0.75rem, env(safe-area-inset-top)) max(1rem, env(safe-area-inset-right)) 0.75rem 1rem;
        border-bottom: 1px solid var(--border);
      }
      h2 {
        flex: 1;
        margin: 0;
        font-size: 1.1rem;
      }
      .body {
        flex: 1;
        overflow: auto;
        overscroll-behavior: contain;
        padding: 1rem max(1rem, env(safe-area-inset-right)) max(1rem, env(safe-area-inset-bottom)) 1rem;
      }
    `,
  ];

  /** The dialog's title, which also names it to assistive technology. */
  @property() heading = '';
  @query('dialog') private dialog!: HTMLDialogElement;

  get open(): boolean {
    return this.dialog?.open ?? false;
  }

  show(): void {
    if (!this.dialog.open) this.dialog.showModal();
    this.toggleAttribute('open', true);
  }

  close(): void {
    this.dialog.close();
  }

  override render() {
    return html`<dialog
      aria-labelledby="heading"
      @click=${this.closeOnBackdrop}
      @keydown=${this.keepTabInside}
      @close=${this.onClose}
    >
      <div class="bar">
        <h2 id="heading">${this.heading}</h2>
        <button type="button" data-testid="dialog-close" @click=${() => this.close()}>Close</button>
      </div>
      <div class="body"><slot></slot></div>
    </dialog>`;
  }

  /** Closed by its button, Escape, the backdrop or the app: `open` on the host follows. */
  private onClose(): void {
    this.toggleAttribute('open', false);
    this.dispatchEvent(new Event('dialog-close'));
  }

  /** Tab from the last control to the first, Shift+Tab from the first to the last (the controls
   *  of the content slotted in, inside their own shadow roots, included). */
  private keepTabInside(event: KeyboardEvent): void {
    if (event.key !== 'Tab') return;
    const stops = tabbable(this.dialog, { getShadowRoot: true });
    const focused = event.composedPath()[0];
    const [first, last] = [stops[0], stops.at(-1)];
    const next = event.shiftKey ? (focused === first ? last : null) : focused === last ? first : null;
    if (!next) return;
    event.preventDefault();
    next.focus();
  }

  /** A click on the dimmed page around the drawer (the dialog element itself, not its content). */
  private closeOnBackdrop(event: MouseEvent): void {
    if (event.target === this.dialog) this.close();
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'app-dialog': AppDialog;
  }
}
