// One download: how much of it is done, how fast it goes, how long is left, and a way to stop it.
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { DownloadProgress } from '../worker/engine-api.ts';
import { downloadPercent, formatBytes, formatDuration } from './format.ts';
import { controlStyles } from './shared-styles.ts';

@customElement('download-progress')
export class DownloadProgressView extends LitElement {
  static override styles = [
    controlStyles,
    css`
      :host {
        display: block;
        padding: 0.75rem;
        border: 1px solid var(--border);
        border-radius: var(--radius);
        background: var(--surface-raised);
      }
      .title {
        margin: 0 0 0.4rem;
        font-weight: 600;
      }
      progress {
        width: 100%;
        height: 0.8rem;
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem;
        margin-top: 0.4rem;
      }
      .numbers {
        margin: 0;
        font-size: 0.9rem;
        color: var(--text-muted);
        font-variant-numeric: tabular-nums;
      }
    `,
  ];

  @property() label = '';
  /** null until the first report arrives. */
  @property({ attribute: false }) progress: DownloadProgress | null = null;

  override render() {
    const progress = this.progress;
    const percent = downloadPercent(progress);
    return html`<div data-testid="download-progress">
      <p class="title" id="title">Downloading ${this.label}</p>
      <progress aria-labelledby="title" max="100" value=${percent ?? 0}></progress>
      <div class="row">
        <p class="numbers" data-testid="download-numbers">${progress ? this.describe(progress, percent) : 'Starting…'}</p>
        <button data-testid="cancel-download" @click=${() => this.dispatchEvent(new CustomEvent('download-cancel'))}>Cancel</button>
      </div>
    </div>`;
  }

  private describe(progress: DownloadProgress, percent: number | null) {
    const parts = [`${progress.file}: ${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}`];
    if (percent !== null) parts[0] += ` (${percent}%)`;
    if (progress.bytesPerSecond > 0) parts.push(`${formatBytes(progress.bytesPerSecond)}/s`);
    parts.push(progress.secondsLeft === null ? 'time left unknown' : `about ${formatDuration(progress.secondsLeft)} left`);
    if (progress.resumedFrom > 0) parts.push(`resumed from ${formatBytes(progress.resumedFrom)}`);
    return parts.join(' · ');
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'download-progress': DownloadProgressView;
  }
}
