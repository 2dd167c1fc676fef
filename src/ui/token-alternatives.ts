// What the model thought at one token of a reply: the token written and its probability, and the
// likeliest tokens there as a bar chart, under the model's own softmax and, where sampling changed
// it (temperature, top-k, top-p, the repetition penalty), under the distribution actually drawn
// from. Each other token is a button that branches the reply with it: `alternative-choose`.
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { INSIGHT_ALTERNATIVES, type TokenChance, type TokenInsight } from '../worker/engine-api.ts';
import { formatProbability } from './probability-scale.ts';
import { controlStyles } from './shared-styles.ts';
import { quoteToken } from './token-text.ts';

/** Probabilities this close are the same (the engine sends both lists as f32 sums). */
const SAME_PROBABILITY = 1e-6;

@customElement('token-alternatives')
export class TokenAlternatives extends LitElement {
  static override styles = [controlStyles, css`
    :host {
      display: block;
      font-size: 0.8rem;
    }
    p {
      margin: 0 0 0.35rem;
    }
    .written {
      font-weight: 600;
      white-space: pre;
    }
    .muted {
      color: var(--text-muted);
    }
    ol {
      list-style: none;
      margin: 0;
      padding: 0;
      display: grid;
      gap: 0.1rem;
    }
    /* One line per token: its text, its bars, its probabilities (the model's, then as sampled). */
    .row {
      display: grid;
      grid-template-columns: minmax(3rem, 6rem) minmax(2rem, 1fr) repeat(var(--numbers, 1), 3.6rem);
      column-gap: 0.4rem;
      align-items: center;
      width: 100%;
      box-sizing: border-box;
      padding: 0.1rem 0.4rem;
      text-align: start;
      font-size: inherit;
      line-height: 1.3;
      border-radius: var(--radius);
    }
    .with-sampled {
      --numbers: 2;
    }
    .written-row {
      border: 1px dashed var(--border);
    }
    .head {
      padding-block: 0;
      color: var(--text-muted);
      white-space: nowrap;
    }
    .token {
      white-space: pre;
      overflow: hidden;
      text-overflow: ellipsis;
    }
    .number {
      font-variant-numeric: tabular-nums;
      text-align: end;
    }
    .bars {
      display: grid;
      gap: 0.1rem;
    }
    .bar {
      display: block;
      height: 0.5rem;
      min-width: 2px;
      border-radius: 0.15rem;
      background: var(--accent);
    }
    /* The sampled bar is thinner and hatched, so the two read apart without colour. */
    .bar.sampled {
      height: 0.3rem;
      background: repeating-linear-gradient(135deg, var(--text-muted) 0 2px, transparent 2px 4px);
    }
    .sampled-number {
      color: var(--text-muted);
    }
  `];

  @property({ attribute: false }) insight!: TokenInsight;
  /** The token written at this place, and its text. */
  @property({ type: Number }) token = 0;
  @property() text = '';
  /** Whether choosing an alternative may branch the reply now (not while a reply is being written). */
  @property({ type: Boolean }) canBranch = false;

  /** Focuses the first alternative that can be chosen (or the chart, when none can). */
  focusFirst(): void {
    (this.renderRoot.querySelector<HTMLElement>('button:not(:disabled)') ?? this).focus();
  }

  override render() {
    const { insight } = this;
    const showSampled = !sameChances(insight.top, insight.sampled);
    // Bars share one scale, the likeliest probability shown, so that small ones can still be compared.
    const shown = [insight.probability, ...insight.top.map((chance) => chance.probability), ...(showSampled ? insight.sampled.map((chance) => chance.probability) : [])];
    const scale = Math.max(...shown);
    const rowClass = showSampled ? 'row with-sampled' : 'row';
    return html`<p>
        <span class="written">${quoteToken(this.text)}</span> <span class="muted">token ${this.token}</span>:
        <span data-testid="written-probability">${formatProbability(insight.probability)}</span>${showSampled
          ? html`, <span class="muted">${this.sampledProbability(this.token).label} as sampled</span>`
          : null}
      </p>
      <p class="muted">${this.canBranch ? 'Choose another token to branch the reply from here:' : 'The likeliest tokens here (branching waits for the reply being written):'}</p>
      ${showSampled
        ? html`<div class="${rowClass} head" aria-hidden="true"><span></span><span></span><span class="number">model</span><span class="number">sampled</span></div>`
        : null}
      <ol aria-label="Likeliest tokens">
        ${insight.top.map((chance) => html`<li>${this.renderRow(chance, rowClass, showSampled ? this.sampledProbability(chance.token) : null, scale)}</li>`)}
      </ol>`;
  }

  private renderRow(chance: TokenChance, rowClass: string, sampled: { probability: number; label: string } | null, scale: number) {
    const content = html`<span class="token">${quoteToken(chance.text)}</span>
      <span class="bars" aria-hidden="true">
        <span class="bar" style=${`width: ${percent(chance.probability / scale)}`}></span>
        ${sampled ? html`<span class="bar sampled" style=${`width: ${percent(sampled.probability / scale)}`}></span>` : null}
      </span>
      <span class="number">${formatProbability(chance.probability)}</span>
      ${sampled ? html`<span class="number sampled-number"><span class="visually-hidden">, as sampled </span>${sampled.label}</span>` : null}`;
    if (chance.token === this.token) {
      return html`<div class="${rowClass} written-row" data-testid="written-alternative"><span class="visually-hidden">Written: </span>${content}</div>`;
    }
    return html`<button
      class=${rowClass}
      data-testid="alternative"
      data-token=${chance.token}
      ?disabled=${!this.canBranch}
      @click=${() => this.dispatchEvent(new CustomEvent('alternative-choose', { detail: { token: chance.token }, bubbles: true, composed: true }))}
      @keydown=${this.onKeyDown}
    ><span class="visually-hidden">Branch with </span>${content}</button>`;
  }

  /** Up and down move between the alternatives, as in a menu. */
  private onKeyDown(event: KeyboardEvent): void {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    event.preventDefault();
    const buttons = [...this.renderRoot.querySelectorAll<HTMLButtonElement>('button:not(:disabled)')];
    const at = buttons.indexOf(event.currentTarget as HTMLButtonElement);
    buttons[(at + (event.key === 'ArrowDown' ? 1 : buttons.length - 1)) % buttons.length]?.focus();
  }

  /** A token's probability in the distribution drawn from; a token not in its list is below the last one listed, or was cut. */
  private sampledProbability(token: number): { probability: number; label: string } {
    const { sampled } = this.insight;
    const listed = sampled.find((chance) => chance.token === token);
    if (listed) return { probability: listed.probability, label: formatProbability(listed.probability) };
    // The list holds every token left after top-k/top-p when it is shorter than the most it can hold.
    if (sampled.length < INSIGHT_ALTERNATIVES) return { probability: 0, label: '0%' };
    return { probability: 0, label: `<${formatProbability(sampled.at(-1)!.probability)}` };
  }
}

function sameChances(a: readonly TokenChance[], b: readonly TokenChance[]): boolean {
  return a.length === b.length && a.every((chance, index) => chance.token === b[index].token && Math.abs(chance.probability - b[index].probability) < SAME_PROBABILITY);
}

function percent(probability: number): string {
  return `${(probability * 100).toFixed(2)}%`;
}

declare global {
  interface HTMLElementTagNameMap {
    'token-alternatives': TokenAlternatives;
  }
}
