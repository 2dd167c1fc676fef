// The bar over the conversation: the app's name, the current model as one compact button (name,
// where it runs, weights format, or what is happening instead) that opens the model list, and the
// button that opens the settings.
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { ModelInfo } from '../worker/engine-api.ts';
import type { ActiveDownload, ModelState } from './model-controller.ts';
import { downloadPercent } from './format.ts';
import { controlStyles } from './shared-styles.ts';

@customElement('app-header')
export class AppHeader extends LitElement {
  static override styles = [
    controlStyles,
    css`
      :host {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        min-width: 0;
      }
      h1 {
        margin: 0;
        font-size: 1.15rem;
        white-space: nowrap;
      }
      h1 span {
        color: var(--accent);
      }
      .model {
        flex: 0 1 32rem;
        margin-right: auto;
        min-width: 0;
        display: grid;
        text-align: left;
        padding: 0.3rem 0.7rem;
        line-height: 1.25;
      }
      .model span {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .status {
        font-size: 0.8rem;
        color: var(--text-muted);
      }
      .settings {
        min-height: 2.75rem;
      }
      @media (max-width: 30rem) {
        h1 .long {
          display: none;
        }
      }
    `,
  ];

  @property({ attribute: false }) model: ModelInfo | null = null;
  /** The loaded model as the user knows it. */
  @property() label = '';
  @property() state: ModelState = 'idle';
  /** What is being downloaded or loaded. */
  @property() pendingLabel = '';
  @property({ attribute: false }) download: ActiveDownload | null = null;

  override render() {
    const [name, status] = this.describe();
    return html`<h1>GPT-2<span class="long"> <span>in your browser</span></span></h1>
      <button
        class="model"
        type="button"
        data-testid="model-button"
        aria-haspopup="dialog"
        aria-label=${`Model: ${name}, ${status}. Open the model list`}
        @click=${() => this.dispatchEvent(new Event('models-open'))}
      >
        <span>${name}</span><span class="status">${status}</span>
      </button>
      <button class="settings" type="button" data-testid="settings-button" aria-haspopup="dialog"
        @click=${() => this.dispatchEvent(new Event('settings-open'))}>Settings</button>`;
  }

  /** The button's two lines: which model, and its state in a few words. */
  private describe(): [string, string] {
    switch (this.state) {
      case 'downloading': {
        const percent = downloadPercent(this.download?.progress);
        return [this.pendingLabel, percent === null ? 'downloading' : `downloading ${percent}%`];
      }
      case 'loading':
        return [this.pendingLabel, 'loading…'];
      case 'idle':
        return ['No model loaded', 'choose one'];
      case 'ready': {
        const model = this.model!;
        return [this.label || model.name, `${model.backend === 'cpu' ? 'CPU' : 'WebGPU'} · ${model.weightsDtype}`];
      }
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'app-header': AppHeader;
  }
}
