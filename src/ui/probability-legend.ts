// The key to the shading of tokens by probability: each level's shade, with its range written on it.
import { css, html, LitElement } from 'lit';
import { customElement } from 'lit/decorators.js';
import { PROBABILITY_LEVELS, probabilityStyles } from './probability-scale.ts';

@customElement('probability-legend')
export class ProbabilityLegend extends LitElement {
  static override styles = [probabilityStyles, css`
    :host {
      display: block;
      font-size: 0.8rem;
    }
    p {
      margin: 0;
      display: flex;
      flex-wrap: wrap;
      align-items: baseline;
      gap: 0.2rem 0.3rem;
    }
    .title {
      color: var(--text-muted);
      margin-inline-end: 0.2rem;
    }
    .swatch {
      background: var(--level);
      color: var(--text);
      border-radius: 0.2rem;
      padding: 0 0.35rem;
      white-space: nowrap;
    }
  `];

  override render() {
    return html`<p data-testid="probability-legend">
      <span class="title">Token probability:</span>
      ${PROBABILITY_LEVELS.map((level, index) => html`<span class="swatch level-${index}">${level.label}</span>`)}
    </p>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'probability-legend': ProbabilityLegend;
  }
}
