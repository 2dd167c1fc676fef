// The header's account of the model: which one is loaded, how big it is, where it runs (and why
// there), or what is happening instead (downloading, loading).
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { Backend, LoadProgress, MatrixArithmetic, ModelInfo } from '../worker/engine-api.ts';
import { formatBytes, formatParameters } from './format.ts';
import type { ModelState } from './model-controller.ts';

/** Backends as people know them; the CPU backend is an AssemblyScript WASM SIMD build. */
const BACKEND_NAMES: Record<Backend, string> = { webgpu: 'WebGPU', cpu: 'CPU (WASM SIMD)' };

/** What the matrix products multiply in (with shader-f16, the MLP alone goes to f16: ModelInfo). */
const ARITHMETIC_NAMES: Record<MatrixArithmetic, string> = {
  f32: 'f32 arithmetic',
  f16: 'f16 arithmetic in the MLP',
  integer: 'integer arithmetic',
};

/** Where the model runs: the GPU adapter on WebGPU; on the CPU, how many threads share the work. */
function placeOf(model: ModelInfo): string {
  if (model.backend === 'cpu') return `${BACKEND_NAMES.cpu}, ${model.threads} thread${model.threads === 1 ? '' : 's'}`;
  return `${BACKEND_NAMES[model.backend]} on ${model.adapter || 'an unnamed adapter'}`;
}

@customElement('model-summary')
export class ModelSummary extends LitElement {
  static override styles = css`
    :host {
      display: block;
    }
    .name {
      font-weight: 600;
    }
    .details {
      color: var(--text-muted);
      font-size: 0.9rem;
    }
    .reason {
      display: block;
    }
    progress {
      width: min(16rem, 100%);
      vertical-align: middle;
    }
  `;

  @property({ attribute: false }) model: ModelInfo | null = null;
  /** The loaded model as the catalog or the user's download names it; the engine's name otherwise. */
  @property() label = '';
  @property() state: ModelState = 'idle';
  /** What is being downloaded or loaded, as the user knows it. */
  @property() pendingLabel = '';
  @property({ attribute: false }) loadProgress: LoadProgress | null = null;

  override render() {
    return html`<div data-testid="model-info" aria-live="polite">${this.describe()}</div>`;
  }

  private describe() {
    if (this.state === 'loading') {
      const progress = this.loadProgress;
      const phase = progress?.phase === 'kernels' ? 'preparing the GPU' : 'reading the weights';
      return html`<span class="name">Loading ${this.pendingLabel}…</span>
        ${progress
          ? html`<span class="details">${phase}</span>
              <progress data-testid="load-progress" max=${progress.bytesTotal || 1} value=${progress.bytesDone}></progress>`
          : null}`;
    }
    if (this.state === 'downloading') return html`<span class="name">Downloading ${this.pendingLabel}…</span>`;
    const model = this.model;
    if (!model) return html`<span class="name">No model loaded</span> <span class="details">Pick one from the model list.</span>`;
    return html`<span class="name" data-testid="model-name">${this.label || model.name}</span>
      <span class="details">
        ${formatParameters(model.parameterCount)} parameters · ${formatBytes(model.weightBytes)} of ${model.weightsDtype} weights ·
        <span data-testid="model-kv-cache" title="the keys and values kept for a full context, so that each new token is one pass"
          >${formatBytes(model.kvCache.bytes)} ${model.kvCache.dtype} KV cache</span> ·
        <span data-testid="model-arithmetic" title="what the matrix products multiply in; sums are always f32 or exact"
          >${ARITHMETIC_NAMES[model.matrixArithmetic]}</span> ·
        <span data-testid="model-backend" title=${model.backendReason}>${placeOf(model)}</span> · loaded in
        ${(model.loadMs / 1000).toFixed(1)} s${model.fromSavedLayout
          ? html` <span data-testid="from-saved-layout" title="the weights the first load quantized, kept beside the model's files"
              >from the saved ${model.weightsDtype} weights</span>`
          : null}
      </span>
      ${model.backendReason
        ? html`<span class="details reason" data-testid="backend-reason">Why ${BACKEND_NAMES[model.backend]}: ${model.backendReason}</span>`
        : null}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'model-summary': ModelSummary;
  }
}
