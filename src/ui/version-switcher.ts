// "‹ 2 of 3 ›": which version of a branched reply is shown, and buttons to show the one before or
// after it (`version-show`). At either end the button stays focusable but does nothing (aria-disabled),
// so the focus is not dropped when it reaches the end.
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { controlStyles } from './shared-styles.ts';

@customElement('version-switcher')
export class VersionSwitcher extends LitElement {
  static override styles = [controlStyles, css`
    :host {
      display: inline-flex;
      align-items: center;
      gap: 0.25rem;
      font-size: 0.8rem;
      color: var(--text-muted);
      font-variant-numeric: tabular-nums;
    }
    button {
      padding: 0 0.45rem;
      line-height: 1.4;
    }
    button[aria-disabled='true'] {
      opacity: 0.5;
      cursor: default;
    }
  `];

  /** The version shown (from 0), of `count`. */
  @property({ type: Number }) index = 0;
  @property({ type: Number }) count = 1;

  override connectedCallback(): void {
    super.connectedCallback();
    this.setAttribute('role', 'group');
    this.setAttribute('aria-label', 'Versions of this reply');
  }

  override render() {
    return html`${this.button(-1, '‹', 'Previous version')}<span aria-live="polite" data-testid="version-label"
        ><span class="visually-hidden">Version </span>${this.index + 1} of ${this.count}</span
      >${this.button(1, '›', 'Next version')}`;
  }

  private button(step: -1 | 1, sign: string, label: string) {
    const to = this.index + step;
    const possible = to >= 0 && to < this.count;
    return html`<button
      type="button"
      aria-label=${label}
      data-testid=${step < 0 ? 'previous-version' : 'next-version'}
      aria-disabled=${possible ? 'false' : 'true'}
      @click=${() => possible && this.dispatchEvent(new CustomEvent('version-show', { detail: { index: to } }))}
    >${sign}</button>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'version-switcher': VersionSwitcher;
  }
}
