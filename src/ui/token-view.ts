// A reply drawn token by token, each shaded by how likely the model thought it (probability-scale.ts),
// for looking inside. The tokens are one Tab stop (a roving tabindex: arrow keys move between them).
// Hovering or focusing a token shows what the model could have written there instead
// (token-alternatives.ts); a click, a tap, Enter or Space keeps it open; Escape closes it. Choosing
// one of those tokens asks to branch the reply there: `token-branch`.
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { ReplyToken } from './conversation-store.ts';
import { formatProbability, levelClass, probabilityStyles } from './probability-scale.ts';
import { controlStyles, writingCursorStyles } from './shared-styles.ts';
import { alignPieces } from './token-alignment.ts';
import type { TokenAlternatives } from './token-alternatives.ts';
import './token-alternatives.ts';
import { spokenToken } from './token-text.ts';

/** The shown text in order: what each token wrote, and any text no token could be matched to. */
type Segment = { text: string; index: number; token: ReplyToken } | { text: string; index: null };

/** How long the alternatives stay after the mouse leaves, so it can cross over to them. */
const HOVER_GRACE_MS = 300;

@customElement('token-view')
export class TokenView extends LitElement {
  static override styles = [controlStyles, writingCursorStyles, probabilityStyles, css`
    :host {
      /* Inline, so a plain-mode reply continues the user's text on the same line. */
      display: inline;
    }
    .token {
      background: var(--level);
      color: var(--text);
      border-radius: 0.2rem;
      cursor: pointer;
      /* A token that wraps keeps its shading and outline on each of its lines. */
      box-decoration-break: clone;
      -webkit-box-decoration-break: clone;
    }
    .token:focus-visible,
    .token[aria-expanded='true'] {
      outline: 2px solid var(--accent);
      outline-offset: 1px;
    }
    /* A token that is only a line break would have nothing to point at or see focused. */
    .token.line-break::before {
      content: '↵';
    }
    .popover {
      position: absolute;
      z-index: 2;
      box-sizing: border-box;
      width: min(22rem, 100%);
      padding: 0.6rem 0.7rem;
      background: var(--surface);
      color: var(--text);
      border: 1px solid var(--border);
      border-radius: var(--radius);
      box-shadow: 0 0.3rem 1rem rgb(0 0 0 / 0.2);
      white-space: normal;
      line-height: 1.35;
    }
    .popover:focus-visible {
      outline: 2px solid var(--accent);
    }
  `];

  /** The reply as shown, and the tokens that wrote it. */
  @property() text = '';
  @property({ attribute: false }) tokens: readonly ReplyToken[] = [];
  /** The reply is still being written. */
  @property({ type: Boolean }) busy = false;
  @property({ type: Boolean }) canBranch = false;
  /** Which of the reply's versions this is: another one closes what was open. */
  @property({ type: Number }) version = 0;

  /** The token whose alternatives are shown, and whether they stay when the pointer or focus moves on. */
  @state() private open: { index: number; pinned: boolean } | null = null;
  /** The token that takes the focus when Tab comes to the reply. */
  @state() private active = -1;
  private segments: Segment[] = [];
  /** A token to focus once rendered: the one just branched at, which the new version keeps. */
  private refocus: number | null = null;
  /** After Enter or Space: move the focus into the alternatives once they are shown. */
  private focusAlternatives = false;
  /** Just kept open by a click or a tap: scroll the alternatives into view once shown. */
  private reveal = false;
  /** The focus is being put back on a token by the view itself (after Escape, or a branch), which shows nothing. */
  private quietFocus = false;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.addEventListener('pointerleave', (event) => {
      if (event.pointerType === 'mouse' && !this.open?.pinned) this.closeTimer = setTimeout(() => (this.open = null), HOVER_GRACE_MS);
    });
    this.addEventListener('pointerenter', () => clearTimeout(this.closeTimer));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.closeTimer);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('version') && changed.get('version') !== undefined) this.open = null;
    if (changed.has('text') || changed.has('tokens')) {
      this.segments = segment(this.text, this.tokens);
      if (!this.segments.some((each) => each.index === this.active)) this.active = this.segments.find((each) => each.index !== null)?.index ?? -1;
      if (this.open && !this.segments.some((each) => each.index === this.open!.index)) this.open = null;
    }
  }

  override render() {
    const open = this.open;
    const token = open === null ? undefined : this.tokens[open.index];
    return html`<span
        role="toolbar"
        aria-label="GPT-2's reply, token by token"
        aria-describedby="how"
        data-testid="reply"
        aria-busy=${this.busy ? 'true' : 'false'}
        @pointermove=${this.onPointerMove}
        @focusin=${this.onFocusIn}
        @focusout=${this.onFocusOut}
        @click=${this.onClick}
        @keydown=${this.onKeyDown}
      >${this.segments.map((each) => (each.index === null ? each.text : this.renderToken(each.text, each.index, each.token)))}</span
      ><span id="how" class="visually-hidden">Arrow keys move between tokens; Enter shows the tokens the model could have written instead.</span
      >${token?.insight
        ? html`<div
            id="alternatives"
            class="popover"
            role="group"
            aria-label="Alternatives"
            tabindex="-1"
            data-testid="token-alternatives"
            @keydown=${this.onKeyDown}
            @focusout=${this.onFocusOut}
            @alternative-choose=${this.onChoose}
          >
            <token-alternatives .insight=${token.insight} .token=${token.token} .text=${token.piece} ?canBranch=${this.canBranch}></token-alternatives>
          </div>`
        : nothing}`;
  }

  private renderToken(text: string, index: number, token: ReplyToken) {
    const probability = token.insight!.probability;
    const expanded = this.open?.index === index;
    const lineBreak = text.trim() === '' && text.includes('\n');
    return html`<span
      class="token ${levelClass(probability)} ${lineBreak ? 'line-break' : ''}"
      role="button"
      data-testid="token"
      data-index=${index}
      tabindex=${index === this.active ? 0 : -1}
      aria-label=${`${spokenToken(text)}, ${formatProbability(probability)}`}
      aria-expanded=${expanded ? 'true' : 'false'}
      aria-controls=${expanded ? 'alternatives' : nothing}
    >${text}</span>`;
  }

  protected override updated(): void {
    if (this.refocus !== null) {
      this.focusQuietly(this.refocus);
      this.refocus = null;
    }
    const popover = this.renderRoot.querySelector<HTMLElement>('.popover');
    if (popover && this.open) {
      this.place(popover, this.tokenElement(this.open.index));
      if (this.focusAlternatives) void this.focusFirstAlternative();
      // Kept open by a click or a tap, it is what the user is looking at (focus scrolls by itself).
      else if (this.reveal) popover.scrollIntoView({ block: 'nearest' });
    }
    this.focusAlternatives = false;
    this.reveal = false;
  }

  private focusQuietly(index: number): void {
    this.quietFocus = true;
    this.tokenElement(index)?.focus();
    this.quietFocus = false;
  }

  /**
   * Puts the alternatives just under the token's last line, inside the reply's box; above its first
   * line instead where the conversation shows no room for them below and enough above.
   */
  private place(popover: HTMLElement, token: HTMLElement | null): void {
    if (!token) return;
    const box = popover.offsetParent ?? document.documentElement;
    const boxRect = box.getBoundingClientRect();
    const lines = [...token.getClientRects()];
    const first = lines[0] ?? token.getBoundingClientRect();
    const last = lines.at(-1) ?? first;
    const scroller = scrollingAncestor(this);
    const view = scroller ? scroller.getBoundingClientRect() : { top: 0, bottom: window.innerHeight };
    const roomBelow = view.bottom - last.bottom;
    const roomAbove = first.top - view.top;
    // Above only where they fit in view: what sticks out above the conversation cannot be scrolled to.
    const above = popover.offsetHeight > roomBelow && popover.offsetHeight <= roomAbove;
    const top = (above ? first.top - popover.offsetHeight : last.bottom) - boxRect.top - box.clientTop + box.scrollTop;
    const left = Math.max(0, Math.min((above ? first : last).left - boxRect.left - box.clientLeft, box.clientWidth - popover.offsetWidth));
    popover.style.top = `${top}px`;
    popover.style.left = `${left}px`;
  }

  private async focusFirstAlternative(): Promise<void> {
    const alternatives = this.renderRoot.querySelector<TokenAlternatives>('token-alternatives');
    await alternatives?.updateComplete;
    alternatives?.focusFirst();
  }

  private tokenElement(index: number): HTMLElement | null {
    return this.renderRoot.querySelector<HTMLElement>(`.token[data-index="${index}"]`);
  }

  private indexOf(target: EventTarget | null): number | null {
    const token = (target as Element | null)?.closest?.<HTMLElement>('.token');
    return token ? Number(token.dataset.index) : null;
  }

  /**
   * The mouse moving onto a token shows its alternatives. Only a move does: a token coming under a
   * resting pointer (the alternatives closed with Escape, the page scrolled) shows nothing.
   */
  private onPointerMove(event: PointerEvent): void {
    const index = this.indexOf(event.target);
    const moved = event.movementX !== 0 || event.movementY !== 0;
    if (event.pointerType !== 'mouse' || !moved || index === null || this.open?.pinned || this.open?.index === index) return;
    clearTimeout(this.closeTimer);
    this.open = { index, pinned: false };
  }

  private onFocusIn(event: FocusEvent): void {
    const index = this.indexOf(event.target);
    if (index === null) return;
    this.active = index;
    if (!this.quietFocus) this.open = { index, pinned: this.open?.index === index && this.open.pinned };
  }

  /** The focus left the reply and its alternatives: nothing stays open behind it. */
  private onFocusOut(event: FocusEvent): void {
    const to = event.relatedTarget as Node | null;
    if (to && this.renderRoot.contains(to)) return;
    this.open = null;
  }

  /** A click or a tap keeps a token's alternatives open; another on the same token closes them. */
  private onClick(event: MouseEvent): void {
    const index = this.indexOf(event.target);
    if (index === null) return;
    this.open = this.open?.index === index && this.open.pinned ? null : { index, pinned: true };
    this.reveal = this.open !== null;
  }

  private onKeyDown(event: KeyboardEvent): void {
    if (event.key === 'Escape' && this.open) {
      event.preventDefault();
      event.stopPropagation();
      this.open = null;
      this.focusQuietly(this.active);
      return;
    }
    const index = this.indexOf(event.target);
    if (index === null) return;
    const tokens = this.segments.flatMap((each) => (each.index === null ? [] : [each.index]));
    const at = tokens.indexOf(index);
    const moves: Record<string, number | undefined> = {
      ArrowRight: tokens[at + 1], ArrowDown: tokens[at + 1], ArrowLeft: tokens[at - 1], ArrowUp: tokens[at - 1], Home: tokens[0], End: tokens.at(-1),
    };
    if (event.key in moves) {
      event.preventDefault();
      const to = moves[event.key];
      if (to !== undefined) this.tokenElement(to)?.focus();
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.open = { index, pinned: true };
      this.focusAlternatives = true;
    }
  }

  private onChoose(event: CustomEvent<{ token: number }>): void {
    event.stopPropagation();
    const tokenIndex = this.open!.index;
    this.open = null;
    this.refocus = tokenIndex;
    this.dispatchEvent(new CustomEvent('token-branch', { detail: { tokenIndex, token: event.detail.token } }));
  }
}

/** The nearest ancestor that scrolls (the conversation), looking out through shadow roots. */
function scrollingAncestor(element: Element): Element | null {
  for (let node: Node | null = element.parentNode; node; node = node instanceof ShadowRoot ? node.host : node.parentNode) {
    if (node instanceof Element && /auto|scroll/.test(getComputedStyle(node).overflowY)) return node;
  }
  return null;
}

/** Splits `text` into what each token with an insight wrote, and the rest (see token-alignment.ts). */
function segment(text: string, tokens: readonly ReplyToken[]): Segment[] {
  const spans = alignPieces(text, tokens.map((token) => token.piece));
  const segments: Segment[] = [];
  let at = 0;
  const plain = (end: number) => {
    if (end > at) segments.push({ text: text.slice(at, end), index: null });
    at = Math.max(at, end);
  };
  spans.forEach((span, index) => {
    const token = tokens[index];
    if (span.end <= span.start || !token.insight) return;
    plain(span.start);
    segments.push({ text: text.slice(span.start, span.end), index, token });
    at = span.end;
  });
  plain(text.length);
  return segments;
}

declare global {
  interface HTMLElementTagNameMap {
    'token-view': TokenView;
  }
}
