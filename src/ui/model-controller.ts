// Which model is loaded, which are saved on this device, and the download or load in progress.
// It turns the picker's requests into engine calls, one at a time, and reports failures as
// messages: a failed download changes nothing, and after a failed load it asks the engine which
// model (if any) is still loaded.
import type { ReactiveControllerHost } from 'lit';
import type {
  CachedModel, ConversationFormat, DownloadProgress, DownloadRequest, HubModelRequest, LoadProgress, ModelInfo, ModelSource, StorageInfo,
} from '../worker/engine-api.ts';
import { hubRequestFor, MODEL_CATALOG } from '../models/catalog.ts';
import { parseHubRepoName } from '../storage/hub-repo.ts';
import { DEMO_MODEL, demoDownloadRequest } from '../models/demo-model.ts';
import { engineStopped, errorMessage, type AppEngine } from './app-engine.ts';
import { loadOptions, type AppSettings } from './settings.ts';

export type ModelState = 'idle' | 'downloading' | 'loading' | 'ready';

export interface ActiveDownload {
  id: string;
  label: string;
  /** null until the first progress report. */
  progress: DownloadProgress | null;
}

export interface ModelControllerOptions {
  onError(message: string): void;
  /** The loaded model changed (null: none is loaded now). */
  onModelChange(id: string | null): void;
}

/** Storage id of a model downloaded from a folder URL. */
const customUrlId = (baseUrl: string) => `url:${baseUrl}`;
/** Storage id (and label) of a hub repository opened by name: one per repository and revision asked for. */
const hubRepoName = (repo: string, revision: string) => (revision === 'main' ? repo : `${repo}@${revision}`);

export class ModelController {
  cached: CachedModel[] = [];
  model: ModelInfo | null = null;
  /** The loaded model's id: a saved model's id, or "file:<name>" for files opened from disk. */
  modelId: string | null = null;
  /** The model being downloaded or loaded. */
  pendingId: string | null = null;
  state: ModelState = 'idle';
  download: ActiveDownload | null = null;
  loadProgress: LoadProgress | null = null;
  storage: StorageInfo | null = null;
  /** A note about the last action that is not an error (a cancelled download). */
  notice = '';
  private cancelRequested = false;
  private persistenceRequested = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly engine: AppEngine,
    private readonly options: ModelControllerOptions,
  ) {}

  get busy(): boolean {
    return this.state === 'downloading' || this.state === 'loading';
  }

  isSaved(id: string): boolean {
    return this.cached.some((model) => model.id === id);
  }

  async refresh(): Promise<void> {
    try {
      const [cached, storage, stats] = await Promise.all([
        this.engine.api.listCachedModels(),
        this.engine.api.storageInfo(),
        this.engine.api.stats(),
      ]);
      this.cached = cached;
      this.storage = storage;
      if (!stats.model) this.setModel(null, null);
    } catch (error) {
      this.options.onError(`Could not read the saved models: ${errorMessage(error)}`);
    }
    this.host.requestUpdate();
  }

  /** Loads a saved model, or downloads a catalog model (or the demo, from the app itself) and then loads it. */
  async choose(id: string, settings: AppSettings): Promise<void> {
    if (this.busy || id === this.modelId) return;
    if (this.isSaved(id)) {
      await this.load({ kind: 'cached', id }, id, settings);
      return;
    }
    if (id === DEMO_MODEL.id) {
      await this.downloadThenLoad(demoDownloadRequest(document.baseURI), settings);
      return;
    }
    const entry = MODEL_CATALOG.find((candidate) => candidate.id === id);
    if (!entry) {
      this.options.onError(`There is no model "${id}" on this device or in the catalog.`);
      return;
    }
    await this.downloadThenLoad(hubRequestFor(entry, settings.hubUrl), settings);
  }

  /** Opens a hub repository by name ("owner/name[@revision]"): downloads its GPT-2 checkpoint, then loads it. */
  async chooseHubRepo(name: string, conversation: ConversationFormat, settings: AppSettings): Promise<void> {
    if (this.busy) return;
    let parsed: { repo: string; revision: string };
    try {
      parsed = parseHubRepoName(name);
    } catch (error) {
      this.options.onError(errorMessage(error));
      return;
    }
    const label = hubRepoName(parsed.repo, parsed.revision);
    const id = `hub:${label}`;
    if (this.isSaved(id)) {
      await this.choose(id, settings);
      return;
    }
    await this.downloadThenLoad({ id, label, hubUrl: settings.hubUrl, ...parsed, ...(conversation === 'transcript' ? {} : { conversation }) }, settings);
  }

  /** Downloads a model from a folder holding config.json and model.safetensors, then loads it. */
  async chooseUrl(url: string, settings: AppSettings): Promise<void> {
    if (this.busy) return;
    const baseUrl = url.trim().replace(/\/+$/, '');
    let parsed: URL;
    try {
      parsed = new URL(baseUrl);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError();
    } catch {
      this.options.onError(`"${url}" is not a web address: enter the http(s) address of a folder holding config.json and model.safetensors.`);
      return;
    }
    await this.downloadThenLoad(
      {
        id: customUrlId(baseUrl),
        label: `${parsed.host}${parsed.pathname}`,
        configUrl: `${baseUrl}/config.json`,
        weightsUrl: `${baseUrl}/model.safetensors`,
      },
      settings,
    );
  }

  /** Loads files picked from disk; the worker checks that they make a model. */
  async openFiles(files: File[], settings: AppSettings): Promise<void> {
    if (this.busy || files.length === 0) return;
    const weights = files.find((file) => /\.(safetensors|bin)$/.test(file.name)) ?? files[0];
    await this.load({ kind: 'files', name: weights.name, files }, `file:${weights.name}`, settings);
  }

  async remove(id: string): Promise<void> {
    if (this.pendingId === id) return;
    try {
      await this.engine.api.deleteCachedModel(id);
      if (id === this.modelId) this.setModel(null, null);
    } catch (error) {
      this.options.onError(`Could not delete the model: ${errorMessage(error)}`);
    }
    await this.refresh();
  }

  async cancelDownload(): Promise<void> {
    if (this.state !== 'downloading') return;
    this.cancelRequested = true;
    try {
      await this.engine.api.cancelDownload();
    } catch (error) {
      this.options.onError(`Could not stop the download: ${errorMessage(error)}`);
    }
  }

  /** How chat mode talks to model `id` (a saved model's own format, else a transcript). */
  conversationFor(id: string | null): ConversationFormat {
    return this.cached.find((model) => model.id === id)?.conversation ?? 'transcript';
  }

  /** Downloads (a hub repository: first looking up its files and commit) and then loads. */
  private async downloadThenLoad(wanted: DownloadRequest | HubModelRequest, settings: AppSettings): Promise<void> {
    const { id, label } = wanted;
    this.requestPersistence();
    this.state = 'downloading';
    this.pendingId = id;
    this.download = { id, label, progress: null };
    this.notice = '';
    this.cancelRequested = false;
    this.host.requestUpdate();
    let downloaded = false;
    try {
      const request = 'repo' in wanted ? await this.engine.api.resolveHubModel(wanted) : wanted;
      await this.engine.download(request, (progress) => {
        this.download = { id, label, progress };
        this.host.requestUpdate();
      });
      downloaded = true;
    } catch (error) {
      if (this.cancelRequested) this.notice = `Download of ${label} stopped. Choose it again to continue where it left off.`;
      // A dead engine is reported once, by its own notice.
      else if (!engineStopped(error)) this.options.onError(`Could not download ${label}: ${errorMessage(error)}`);
    }
    this.download = null;
    if (!downloaded) {
      await this.settle();
      return;
    }
    // Straight on to loading: the app never shows idle between the download and the load.
    this.state = 'loading';
    await this.refresh();
    await this.load({ kind: 'cached', id }, id, settings);
  }

  private async load(source: ModelSource, id: string, settings: AppSettings): Promise<void> {
    this.state = 'loading';
    this.pendingId = id;
    this.loadProgress = null;
    this.notice = '';
    this.host.requestUpdate();
    try {
      const model = await this.engine.load(source, loadOptions(settings), (progress) => {
        this.loadProgress = progress;
        this.host.requestUpdate();
      });
      this.setModel(model, id);
    } catch (error) {
      if (!engineStopped(error)) this.options.onError(`Could not load ${labelOf(source, this.cached)}: ${errorMessage(error)}`);
    }
    this.loadProgress = null;
    // A failed load may have freed the model loaded before it; refresh() finds out.
    await this.settle();
  }

  /**
   * Ends a download or a load: reads the saved models and whether the engine holds a model, and
   * only then shows the outcome, so that the app (which closes the model list when its choice
   * settles) renders 'ready' or 'idle' in the same task as the list closes.
   */
  private async settle(): Promise<void> {
    await this.refresh();
    this.pendingId = null;
    this.state = this.model ? 'ready' : 'idle';
    this.host.requestUpdate();
  }

  private setModel(model: ModelInfo | null, id: string | null): void {
    const changed = id !== this.modelId;
    this.model = model;
    this.modelId = id;
    if (!this.busy) this.state = model ? 'ready' : 'idle';
    if (changed) this.options.onModelChange(id);
  }

  /**
   * Asks the browser not to evict the models under storage pressure. Only the page can ask (workers
   * have no persist()), and only once: it may show the user a prompt.
   */
  private requestPersistence(): void {
    if (this.persistenceRequested) return;
    this.persistenceRequested = true;
    navigator.storage?.persist?.().then(
      () => this.refresh(),
      () => undefined,
    );
  }
}

function labelOf(source: ModelSource, cached: CachedModel[]): string {
  if (source.kind !== 'cached') return source.name;
  return cached.find((model) => model.id === source.id)?.label ?? source.id;
}
