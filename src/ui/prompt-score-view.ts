// How surprising the model found the prompt, from the same pass that read it: one line with the
// text's perplexity, and on demand every token with its id and surprisal (−ln p given the tokens
// before it), shaded like the reply's tokens by that probability. In chat mode the prompt is the
// whole transcript the model read, not only the last message.
import { css, html, LitElement } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { PromptScore } from '../worker/engine-api.ts';
import { formatProbability, levelClass, probabilityStyles } from './probability-scale.ts';
import { controlStyles } from './shared-styles.ts';
import { quoteToken } from './token-text.ts';

/** exp of the mean surprisal (nats): the text was as hard to predict as a fair choice among this many tokens. */
export function perplexity(surprisal: readonly number[]): number {
  return Math.exp(surprisal.reduce((sum, each) => sum + each, 0) / surprisal.length);
}

/** 3.14159 → "3.14", 31.4159 → "31.4", 314.159 → "314". */
function threeFigures(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

@customElement('prompt-score-view')
export class PromptScoreView extends LitElement {
  static override styles = [controlStyles, probabilityStyles, css`
    :host {
      display: block;
      margin-top: 0.35rem;
      font-size: 0.8rem;
    }
    .summary {
      display: flex;
      flex-wrap: wrap;
      align-items: baseline;
      gap: 0.25rem 0.6rem;
    }
    p {
      margin: 0;
    }
    button {
      padding: 0.1rem 0.5rem;
      font-size: inherit;
    }
    ol {
      list-style: none;
      margin: 0.4rem 0 0;
      padding: 0;
      display: flex;
      flex-wrap: wrap;
      gap: 0.25rem;
    }
    li {
      background: var(--level, var(--surface-raised));
      color: var(--text);
      border-radius: 0.2rem;
      padding: 0.05rem 0.3rem;
      font-variant-numeric: tabular-nums;
      max-width: 100%;
      overflow-wrap: anywhere;
    }
    .piece {
      white-space: pre-wrap;
    }
  `];

  @property({ attribute: false }) score!: PromptScore;
  @state() private expanded = false;

  override render() {
    const { score } = this;
    const scored = score.surprisal.length;
    return html`<div class="summary">
        <p data-testid="perplexity">
          ${scored > 0
            ? `Perplexity ${threeFigures(perplexity(score.surprisal))} over ${scored} token${scored === 1 ? '' : 's'}`
            : 'Perplexity: a single token has nothing before it to be scored against'}
        </p>
        <button type="button" data-testid="prompt-tokens-toggle" aria-expanded=${this.expanded ? 'true' : 'false'} aria-controls="tokens" @click=${() => (this.expanded = !this.expanded)}>
          ${this.expanded ? 'Hide' : 'Show'} the ${score.tokens.length} prompt tokens
        </button>
      </div>
      <ol id="tokens" aria-label="Prompt tokens, with id and surprisal" data-testid="prompt-tokens" ?hidden=${!this.expanded}>
        ${this.expanded ? score.tokens.map((token, index) => this.renderToken(token, score.pieces[index] ?? '', index === 0 ? null : score.surprisal[index - 1])) : null}
      </ol>`;
  }

  private renderToken(token: number, piece: string, surprisal: number | null | undefined) {
    const known = surprisal !== null && surprisal !== undefined;
    return html`<li class=${known ? levelClass(Math.exp(-surprisal)) : ''} title=${known ? `p = ${formatProbability(Math.exp(-surprisal))}` : 'the first token is not scored'}>
      <span class="piece">${quoteToken(piece)}</span> <span class="visually-hidden">id</span> ${token} ·
      ${known ? html`${surprisal.toFixed(2)}<span class="visually-hidden"> nats of surprisal</span>` : html`<span aria-hidden="true">–</span><span class="visually-hidden"> not scored</span>`}
    </li>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'prompt-score-view': PromptScoreView;
  }
}
