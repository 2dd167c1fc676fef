// Choosing the model: the ones saved on this device, the catalog's others (with what they cost to
// download), files from disk, a hub repository by name or a folder URL; the download in progress; deleting saved models;
// how much storage they take.
import { css, html, LitElement } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { live } from 'lit/directives/live.js';
import type { CachedModel, ConversationFormat, StorageInfo } from '../worker/engine-api.ts';
import type { ModelChoice } from '../models/catalog.ts';
import './download-progress.ts';
import { formatBytes } from './format.ts';
import type { ActiveDownload } from './model-controller.ts';
import { controlStyles } from './shared-styles.ts';

@customElement('model-picker')
export class ModelPicker extends LitElement {
  static override styles = [
    controlStyles,
    css`
      :host {
        display: grid;
        gap: 0.75rem;
      }
      h2,
      h3 {
        margin: 0;
        font-size: 1rem;
      }
      h3 {
        font-size: 0.9rem;
        color: var(--text-muted);
      }
      select {
        width: 100%;
      }
      .notice {
        margin: 0;
        font-size: 0.9rem;
        color: var(--text-muted);
      }
      .sources {
        display: grid;
        gap: 0.6rem;
      }
      .file-button {
        display: inline-block;
        border: 1px solid var(--border);
        border-radius: var(--radius);
        background: var(--surface-raised);
        padding: 0.45rem 0.9rem;
        cursor: pointer;
      }
      .file-button:focus-within {
        outline: 2px solid var(--accent);
        outline-offset: 2px;
      }
      form {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: end;
      }
      form label {
        display: grid;
        gap: 0.2rem;
        flex: 1 1 12rem;
        font-size: 0.9rem;
      }
      form label.narrow {
        flex: 1 1 8rem;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.4rem;
      }
      li {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem;
      }
      li .label {
        flex: 1 1 8rem;
        overflow-wrap: anywhere;
      }
      .size,
      .storage {
        color: var(--text-muted);
        font-size: 0.9rem;
        font-variant-numeric: tabular-nums;
      }
      .storage {
        margin: 0;
      }
      li button {
        padding: 0.2rem 0.6rem;
      }
    `,
  ];

  @property({ attribute: false }) catalog: readonly ModelChoice[] = [];
  @property({ attribute: false }) cached: readonly CachedModel[] = [];
  /** The model loaded, or being downloaded or loaded. */
  @property({ attribute: false }) selectedId: string | null = null;
  @property({ attribute: false }) loadedId: string | null = null;
  /** The loaded model's name, shown when it came from files (so is neither saved nor in the catalog). */
  @property() loadedName = '';
  /** While a model is downloading or loading, or a reply is being generated. */
  @property({ type: Boolean }) disabled = false;
  @property({ attribute: false }) download: ActiveDownload | null = null;
  @property({ attribute: false }) storage: StorageInfo | null = null;
  @property() notice = '';

  /** The saved model whose Delete was pressed once, waiting for the second press. */
  @state() private confirmingDelete: string | null = null;

  override render() {
    const notDownloaded = this.catalog.filter((entry) => !this.cached.some((model) => model.id === entry.id));
    const loadedId = this.loadedId;
    const loadedUnlisted = loadedId !== null && !this.cached.some((model) => model.id === loadedId) && !notDownloaded.some((entry) => entry.id === loadedId);
    return html`<h2 id="heading">Model</h2>
      <select data-testid="model-select" aria-labelledby="heading" ?disabled=${this.disabled} @change=${this.onSelect}>
        <option value="" disabled .selected=${live(this.selectedId === null)}>Choose a model…</option>
        ${loadedUnlisted
          ? html`<optgroup label="Opened from files">
              <option value=${loadedId} .selected=${live(loadedId === this.selectedId)}>${this.loadedName} (loaded)</option>
            </optgroup>`
          : null}
        ${this.cached.length > 0
          ? html`<optgroup label="On this device">
              ${this.cached.map(
                (model) => html`<option value=${model.id} .selected=${live(model.id === this.selectedId)}>
                  ${model.label} — ${formatBytes(model.bytes)}${model.id === this.loadedId ? ' (loaded)' : ''}
                </option>`,
              )}
            </optgroup>`
          : null}
        ${notDownloaded.length > 0
          ? html`<optgroup label="Download">
              ${notDownloaded.map(
                (entry) => html`<option value=${entry.id} .selected=${live(entry.id === this.selectedId)}>
                  ${entry.label} — ${formatBytes(entry.downloadBytes)}, not downloaded
                </option>`,
              )}
            </optgroup>`
          : null}
      </select>
      ${this.download
        ? html`<download-progress
            .label=${this.download.label}
            .progress=${this.download.progress}
            @download-cancel=${() => this.emit('download-cancel', null)}
          ></download-progress>`
        : null}
      ${this.notice ? html`<p class="notice" role="status" data-testid="model-notice">${this.notice}</p>` : null}
      <div class="sources">
        <h3>Other sources</h3>
        <div>
          <label class="file-button">
            Open local files…
            <input
              class="visually-hidden"
              type="file"
              multiple
              accept=".safetensors,.json,.bin,.txt"
              data-testid="open-files"
              ?disabled=${this.disabled}
              @change=${this.onFiles}
            />
          </label>
        </div>
        <form @submit=${this.onHubSubmit} data-testid="hub-repo-form">
          <label>
            Hub repository (owner/name, optionally @revision)
            <input name="repo" required placeholder="microsoft/DialoGPT-small" autocapitalize="off" autocomplete="off" spellcheck="false" data-testid="hub-repo" />
          </label>
          <label class="narrow">
            Chat format
            <select name="conversation" data-testid="hub-repo-conversation">
              <option value="transcript">Transcript (GPT-2)</option>
              <option value="dialogpt">Turns joined by &lt;|endoftext|&gt; (DialoGPT)</option>
            </select>
          </label>
          <button type="submit" data-testid="hub-repo-open" ?disabled=${this.disabled}>Open</button>
        </form>
        <form @submit=${this.onUrlSubmit}>
          <label>
            Custom URL (a folder with config.json and model.safetensors)
            <input type="url" name="url" required placeholder="https://example.org/my-gpt2" data-testid="custom-url" />
          </label>
          <button type="submit" data-testid="custom-url-download" ?disabled=${this.disabled}>Download</button>
        </form>
      </div>
      <h3 id="saved-heading">Saved on this device</h3>
      ${this.cached.length > 0
        ? html`<ul data-testid="cached-models" aria-labelledby="saved-heading">
            ${this.cached.map((model) => this.renderCached(model))}
          </ul>`
        : html`<p class="notice">None yet. Downloaded models stay here and work offline.</p>`}
      ${this.storage
        ? html`<p class="storage" data-testid="storage-info">
            Storage: ${formatBytes(this.storage.usageBytes)} used ·
            ${formatBytes(Math.max(0, this.storage.quotaBytes - this.storage.usageBytes))} available ·
            ${this.storage.persisted ? 'kept until you delete it' : 'the browser may clear it when space runs low'}
          </p>`
        : null}`;
  }

  private renderCached(model: CachedModel) {
    const confirming = this.confirmingDelete === model.id;
    return html`<li data-model-id=${model.id}>
      <span class="label">${model.label}</span>
      ${model.source
        ? html`<span class="size" data-testid="model-commit" title=${`${model.source.repo}, revision ${model.source.revision}: commit ${model.source.commit}`}>
            @ ${model.source.commit.slice(0, 7)}
          </span>`
        : null}
      <span class="size">${formatBytes(model.bytes)}</span>
      ${confirming
        ? html`<button class="danger" data-testid="confirm-delete" @click=${() => this.delete(model.id)}>Delete ${formatBytes(model.bytes)}</button>
            <button data-testid="cancel-delete" @click=${() => (this.confirmingDelete = null)}>Keep</button>`
        : html`<button
            data-testid="delete-model"
            aria-label=${`Delete ${model.label}`}
            ?disabled=${this.disabled}
            @click=${() => (this.confirmingDelete = model.id)}
          >
            Delete
          </button>`}
    </li>`;
  }

  /** Focuses the model list. */
  override focus(): void {
    this.renderRoot.querySelector<HTMLSelectElement>('select')?.focus();
  }

  private onSelect(event: Event): void {
    const id = (event.target as HTMLSelectElement).value;
    // Until the app moves `selectedId`, the list shows the model actually selected, not the click.
    this.requestUpdate();
    if (id) this.emit('model-choose', { id });
  }

  private onFiles(event: Event): void {
    const input = event.target as HTMLInputElement;
    const files = Array.from(input.files ?? []);
    // Cleared so that picking the same files again (after fixing something) is a change too.
    input.value = '';
    if (files.length > 0) this.emit('files-open', { files });
  }

  private onUrlSubmit(event: SubmitEvent): void {
    event.preventDefault();
    const url = new FormData(event.target as HTMLFormElement).get('url');
    if (typeof url === 'string' && url.trim()) this.emit('url-choose', { url: url.trim() });
  }

  private onHubSubmit(event: SubmitEvent): void {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const name = form.get('repo');
    const conversation = form.get('conversation') === 'dialogpt' ? 'dialogpt' : 'transcript';
    if (typeof name === 'string' && name.trim()) this.emit('hub-repo-open', { name: name.trim(), conversation: conversation satisfies ConversationFormat });
  }

  private delete(id: string): void {
    this.confirmingDelete = null;
    this.emit('model-delete', { id });
  }

  private emit(name: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'model-picker': ModelPicker;
  }
}
