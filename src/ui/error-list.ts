// Errors the user should know about (a download that failed, a model that would not load, a reply
// that broke off), each until they dismiss it. The app goes on working underneath.
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { controlStyles } from './shared-styles.ts';

export interface AppError {
  id: number;
  message: string;
}

@customElement('error-list')
export class ErrorList extends LitElement {
  static override styles = [
    controlStyles,
    css`
      :host {
        display: block;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.5rem;
      }
      li {
        display: flex;
        align-items: flex-start;
        gap: 0.75rem;
        padding: 0.6rem 0.8rem;
        border: 1px solid var(--danger);
        border-radius: var(--radius);
        background: var(--danger-surface);
      }
      p {
        margin: 0;
        flex: 1;
        overflow-wrap: anywhere;
      }
      button {
        padding: 0.1rem 0.6rem;
      }
    `,
  ];

  @property({ attribute: false }) errors: readonly AppError[] = [];

  override render() {
    if (this.errors.length === 0) return null;
    return html`<ul>
      ${repeat(
        this.errors,
        (error) => error.id,
        (error) => html`<li role="alert" data-testid="error">
          <p>${error.message}</p>
          <button data-testid="dismiss-error" aria-label="Dismiss this message" @click=${() => this.dismiss(error.id)}>✕</button>
        </li>`,
      )}
    </ul>`;
  }

  private dismiss(id: number): void {
    this.dispatchEvent(new CustomEvent('error-dismiss', { detail: { id } }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'error-list': ErrorList;
  }
}
