// What the service worker has to say: the app is cached and works offline, or a new version is
// ready and waits until the user chooses to reload (a reload mid-reply would cut the reply off).
import { css, html, LitElement, type PropertyValues } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { controlStyles } from './shared-styles.ts';

export type UpdateState = 'hidden' | 'offline-ready' | 'update-ready';

@customElement('update-banner')
export class UpdateBanner extends LitElement {
  static override styles = [
    controlStyles,
    css`
      /* Over the top of the page, not in its flow: shown in the flow, it pushed the whole app down
         as it appeared (a layout shift). "Saved for offline" goes by itself after a while. */
      :host {
        position: fixed;
        top: calc(env(safe-area-inset-top) + 0.5rem);
        left: 50%;
        transform: translateX(-50%);
        z-index: 10;
        width: max-content;
        max-width: calc(100vw - 1rem);
      }
      div {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 0.75rem;
        padding: 0.6rem 0.8rem;
        border: 1px solid var(--border);
        border-radius: var(--radius-large);
        background: var(--surface);
        box-shadow: 0 0.4rem 1.5rem rgb(0 0 0 / 0.18);
      }
      p {
        margin: 0;
      }
    `,
  ];

  @property({ reflect: true }) state: UpdateState = 'hidden';
  /** How long "saved for offline" stays up: it is news, not a question (an update waits for an answer). */
  offlineNoticeMs = 10_000;

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('state') && this.state === 'offline-ready') {
      setTimeout(() => this.state === 'offline-ready' && this.dismiss(), this.offlineNoticeMs);
    }
  }

  override render() {
    if (this.state === 'hidden') return null;
    const updateReady = this.state === 'update-ready';
    return html`<div role="status" data-testid=${updateReady ? 'update-ready' : 'offline-ready'}>
      <p>${updateReady ? 'A new version of the app is ready.' : 'The app is saved on this device and works offline.'}</p>
      ${updateReady
        ? html`<button class="primary" data-testid="update-reload" @click=${() => this.dispatchEvent(new CustomEvent('update-accept'))}>Reload</button>
            <button @click=${this.dismiss}>Later</button>`
        : html`<button @click=${this.dismiss}>OK</button>`}
    </div>`;
  }

  private dismiss(): void {
    this.state = 'hidden';
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'update-banner': UpdateBanner;
  }
}
