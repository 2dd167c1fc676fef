// The look of buttons and form fields, shared by every component's shadow root (styles do not
// cross shadow boundaries; the colour variables in index.html do).
import { css } from 'lit';

export const controlStyles = css`
  button {
    font: inherit;
    border: 1px solid var(--border);
    background: var(--surface-raised);
    color: var(--text);
    border-radius: var(--radius);
    padding: 0.45rem 0.9rem;
    cursor: pointer;
  }
  button:hover:not(:disabled) {
    border-color: var(--accent);
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: var(--on-accent);
  }
  button.danger {
    color: var(--danger);
  }
  button:disabled {
    opacity: 0.5;
    cursor: not-allowed;
  }
  button:focus-visible,
  input:focus-visible,
  select:focus-visible,
  textarea:focus-visible {
    outline: 2px solid var(--accent);
    outline-offset: 2px;
  }
  input,
  select,
  textarea {
    font: inherit;
    color: var(--text);
    background: var(--surface);
    border: 1px solid var(--border);
    border-radius: var(--radius);
    padding: 0.4rem 0.5rem;
    box-sizing: border-box;
    max-width: 100%;
  }
  [aria-invalid='true'] {
    border-color: var(--danger);
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;

/** The blinking cursor at the end of a reply being written (aria-busy), still without motion when that is asked for. */
export const writingCursorStyles = css`
    [aria-busy='true']::after {
      content: '▍';
      color: var(--accent);
      animation: blink 1s steps(2) infinite;
    }
    @keyframes blink {
      50% {
        opacity: 0;
      }
    }
    @media (prefers-reduced-motion: reduce) {
      [aria-busy='true']::after {
        animation: none;
      }
    }
`;
