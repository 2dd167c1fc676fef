// How fast the model reads the prompt and writes the reply, for the reply being written or the last one.
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { Speed } from './chat-controller.ts';
import { formatRate } from './format.ts';

@customElement('speed-readout')
export class SpeedReadout extends LitElement {
  static override styles = css`
    :host {
      display: block;
      font-size: 0.85rem;
      color: var(--text-muted);
      font-variant-numeric: tabular-nums;
    }
    p {
      margin: 0;
    }
  `;

  @property({ attribute: false }) speed: Speed | null = null;

  override render() {
    const speed = this.speed;
    const rate = (perSecond: number | null) => (perSecond === null ? '–' : `${formatRate(perSecond)} tok/s`);
    return html`<p data-testid="tok-per-s" data-live=${speed?.live ? 'true' : 'false'}>
      ${speed
        ? html`Prompt: ${rate(speed.promptTokensPerSecond)} (${speed.promptTokens} tokens) · Generation:
          ${rate(speed.generatedTokensPerSecond)} (${speed.generatedTokens} tokens)${speed.live ? ' · measuring…' : ''}`
        : 'Speed: no reply yet'}
    </p>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'speed-readout': SpeedReadout;
  }
}
