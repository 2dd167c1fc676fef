// The app: the model picker and settings beside the conversation. It owns no model work: the
// engine client, the conversation store and the settings store come in as properties (main.ts
// makes the real ones; tests pass their own), and two controllers turn what the user does into
// calls on them. State for tests and styling is mirrored on the host: `model-state`
// (idle | downloading | loading | ready), `generating` while a reply is written, and `ready` once
// the saved conversation and the list of saved models have been read.
import { css, html, LitElement } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { MODEL_CATALOG, type ModelChoice } from '../models/catalog.ts';
import { DEMO_MODEL } from '../models/demo-model.ts';
import type { ConversationFormat } from '../worker/engine-api.ts';
import type { AppEngine } from './app-engine.ts';
import { ChatController } from './chat-controller.ts';
import './chat-log.ts';
import type { ConversationStore } from './conversation-store.ts';
import './error-list.ts';
import { formatBytes } from './format.ts';
import type { AppError } from './error-list.ts';
import { ModelController } from './model-controller.ts';
import './model-picker.ts';
import './model-summary.ts';
import './prompt-box.ts';
import './settings-panel.ts';
import { validateSettings, type AppSettings, type SettingsStore } from './settings.ts';
import './speed-readout.ts';

/** The model list: the built-in demo first, then the hub's checkpoints, smallest first. */
const MODEL_CHOICES: readonly ModelChoice[] = [DEMO_MODEL, ...MODEL_CATALOG];
/** What the demo model's note suggests instead: the smallest real GPT-2. */
const GPT2_SMALL = MODEL_CATALOG.find((entry) => entry.id === 'gpt2')!;

/** What the loaded model is and how chat mode talks to it, by its conversation format. */
const MODEL_NOTES: Record<ConversationFormat, string> = {
  transcript:
    'GPT-2 continues the text you give it. It is a 2019 language model trained on web pages, not an assistant: it does not ' +
    'follow instructions and often makes things up. In chat mode your messages become a User/GPT-2 transcript and it writes ' +
    'the next line; in plain mode it simply continues your text.',
  dialogpt:
    'DialoGPT is GPT-2 trained on Reddit conversations. In chat mode your messages and its replies are joined by ' +
    '<|endoftext|>, as in its training, and each reply ends where it would start the next turn; in plain mode it ' +
    'simply continues your text.',
};

/** The focused element, inside shadow roots too. */
function deepActiveElement(): Element | null {
  let element = document.activeElement;
  while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
  return element;
}

@customElement('gpt2-app')
export class Gpt2App extends LitElement {
  static override styles = css`
    :host {
      display: block;
      box-sizing: border-box;
      max-width: 92rem;
      margin: 0 auto;
      padding: 1rem clamp(0.75rem, 2vw, 1.5rem);
    }
    header {
      display: flex;
      flex-wrap: wrap;
      align-items: baseline;
      gap: 0.4rem 1.25rem;
      margin-bottom: 1rem;
    }
    h1 {
      margin: 0;
      font-size: 1.4rem;
      letter-spacing: -0.01em;
    }
    h1 span {
      color: var(--accent);
    }
    model-summary {
      flex: 1 1 20rem;
    }
    error-list {
      margin-bottom: 1rem;
    }
    .layout {
      display: grid;
      gap: 1rem;
      grid-template-columns: minmax(17rem, 24rem) minmax(0, 1fr);
      grid-template-areas:
        'picker chat'
        'settings chat';
      align-items: start;
    }
    .panel {
      padding: 1rem;
      border: 1px solid var(--border);
      border-radius: var(--radius-large);
      background: var(--surface);
    }
    model-picker {
      grid-area: picker;
    }
    settings-panel {
      grid-area: settings;
    }
    .chat {
      grid-area: chat;
      position: sticky;
      top: 1rem;
      height: calc(100dvh - 6rem);
      min-height: 28rem;
      display: flex;
      flex-direction: column;
      gap: 0.75rem;
    }
    .note {
      margin: 0;
      font-size: 0.9rem;
      color: var(--text-muted);
    }
    chat-log {
      flex: 1;
      min-height: 0;
    }
    @media (max-width: 60rem) {
      .layout {
        grid-template-columns: minmax(0, 1fr);
        grid-template-areas: 'picker' 'chat' 'settings';
      }
      .chat {
        position: static;
        height: auto;
        min-height: 0;
      }
      chat-log {
        min-height: 12rem;
        max-height: 60vh;
      }
    }
  `;

  @property({ attribute: false }) engine!: AppEngine;
  @property({ attribute: false }) conversations!: ConversationStore;
  @property({ attribute: false }) settingsStore!: SettingsStore;
  /** A saved or catalog model to load (downloading it if needed) when the app starts: `?model=`;
   *  '' starts with no model. */
  @property({ attribute: false }) startModelId: string | null = null;
  /** Loaded when the app starts with no model saved and none asked for (main.ts: the demo model). */
  @property({ attribute: false }) firstRunModelId: string | null = null;
  /** Download catalog models from this hub instead of the one in the settings: `?hub=`. */
  @property({ attribute: false }) hubUrlOverride: string | null = null;

  @state() private settings!: AppSettings;
  @state() private errors: AppError[] = [];
  private models!: ModelController;
  private chat!: ChatController;
  private nextErrorId = 1;

  override connectedCallback(): void {
    super.connectedCallback();
    // Moving the element in the page reconnects it; the engine and conversation carry on.
    if (this.models) return;
    if (!this.engine || !this.conversations || !this.settingsStore) {
      throw new Error('<gpt2-app> needs its engine, conversations and settingsStore properties before it is added to the page');
    }
    this.settings = this.settingsStore.load();
    if (this.hubUrlOverride) {
      const withHub = { ...this.settings, hubUrl: this.hubUrlOverride };
      if (validateSettings(withHub).hubUrl) this.reportError(`The hub address "${this.hubUrlOverride}" in the page address is not a web address; using ${this.settings.hubUrl}.`);
      else this.settings = withHub;
    }
    const onError = (message: string) => this.reportError(message);
    this.models = new ModelController(this, this.engine, {
      onError,
      // Files opened from disk cannot be opened again without the user, so they are not remembered.
      onModelChange: (id) => this.settingsStore.saveLastModelId(id && !id.startsWith('file:') ? id : null),
    });
    this.chat = new ChatController(this, this.engine, this.conversations, onError);
    // A GPU reset or a restarted worker may have changed which model is loaded, if any.
    this.engine.onNotice((notice) => {
      this.reportError(notice.message);
      void this.models.refresh();
    });
    void this.start();
  }

  private async start(): Promise<void> {
    await Promise.all([this.chat.restore(), this.models.refresh()]);
    this.toggleAttribute('ready', true);
    const lastModelId = this.settingsStore.lastModelId();
    if (this.startModelId !== null) {
      if (this.startModelId) await this.models.choose(this.startModelId, this.settings);
    } else if (lastModelId && this.models.isSaved(lastModelId)) await this.models.choose(lastModelId, this.settings);
    else if (this.firstRunModelId && this.models.cached.length === 0) await this.models.choose(this.firstRunModelId, this.settings);
  }

  /**
   * A model change asked for from the model list: 'asked' until it is under way, then 'busy'. The
   * list is disabled meanwhile, which drops its focus on the page; when the change is over a
   * keyboard user goes on where the model is used, the prompt box (or back to the list if no
   * model came of it).
   */
  private modelChangeFocus: 'asked' | 'busy' | null = null;

  protected override updated(): void {
    this.setAttribute('model-state', this.models.state);
    this.toggleAttribute('generating', this.chat.generating);
    if (this.modelChangeFocus === 'asked' && this.models.busy) this.modelChangeFocus = 'busy';
    else if (this.modelChangeFocus === 'busy' && !this.models.busy) {
      this.modelChangeFocus = null;
      if (deepActiveElement() === document.body) this.renderRoot.querySelector(this.models.state === 'ready' ? 'prompt-box' : 'model-picker')?.focus();
    }
  }

  /** Runs a model change the model list asked for, the focus following it (see modelChangeFocus). */
  private fromModelList(change: () => Promise<void>): void {
    this.modelChangeFocus = 'asked';
    // A change refused at once (a name that is not one) never got under way.
    void change().finally(() => {
      if (this.modelChangeFocus === 'asked') this.modelChangeFocus = null;
    });
  }

  override render() {
    const models = this.models;
    const chat = this.chat;
    const pendingLabel = this.labelFor(models.pendingId);
    return html`<header>
        <h1>GPT-2 <span>in your browser</span></h1>
        <model-summary .model=${models.model} .label=${this.labelFor(models.modelId)} .state=${models.state} .pendingLabel=${pendingLabel} .loadProgress=${models.loadProgress}></model-summary>
      </header>
      <error-list .errors=${this.errors} @error-dismiss=${(event: CustomEvent<{ id: number }>) => this.dismissError(event.detail.id)}></error-list>
      <div class="layout">
        <model-picker
          class="panel"
          role="region"
          aria-label="Model"
          .catalog=${MODEL_CHOICES}
          .cached=${models.cached}
          .selectedId=${models.pendingId ?? models.modelId}
          .loadedId=${models.modelId}
          .loadedName=${models.model?.name ?? ''}
          .download=${models.download}
          .storage=${models.storage}
          .notice=${models.notice}
          ?disabled=${models.busy || chat.generating}
          @model-choose=${(event: CustomEvent<{ id: string }>) => this.fromModelList(() => models.choose(event.detail.id, this.settings))}
          @url-choose=${(event: CustomEvent<{ url: string }>) => this.fromModelList(() => models.chooseUrl(event.detail.url, this.settings))}
          @hub-repo-open=${(event: CustomEvent<{ name: string; conversation: ConversationFormat }>) =>
            this.fromModelList(() => models.chooseHubRepo(event.detail.name, event.detail.conversation, this.settings))}
          @files-open=${(event: CustomEvent<{ files: File[] }>) => this.fromModelList(() => models.openFiles(event.detail.files, this.settings))}
          @model-delete=${(event: CustomEvent<{ id: string }>) => void models.remove(event.detail.id)}
          @download-cancel=${() => void models.cancelDownload()}
        ></model-picker>
        <main class="chat panel">
          <p class="note" data-testid="gpt2-note">${MODEL_NOTES[models.conversationFor(models.modelId)]}</p>
          ${models.modelId === DEMO_MODEL.id
            ? html`<p class="note" data-testid="demo-note">
                This is a tiny demo model trained on the King James Bible, not GPT-2 (plain mode suits it); for GPT-2 itself, choose
                ${GPT2_SMALL.label} in the model list (${formatBytes(GPT2_SMALL.downloadBytes)}).
              </p>`
            : null}
          <chat-log .messages=${chat.messages}></chat-log>
          <prompt-box
            .generating=${chat.generating}
            .canRegenerate=${chat.canRegenerate}
            .canClear=${!chat.generating && chat.messages.length > 0}
            .blockedReason=${this.blockedReason()}
            .placeholder=${this.settings.framing === 'chat'
              ? 'Say something to GPT-2 (Enter sends, Shift+Enter starts a new line)'
              : 'Write the beginning of a text for GPT-2 to continue (Enter sends, Shift+Enter starts a new line)'}
            @prompt-send=${(event: CustomEvent<{ text: string }>) => this.withModel((modelId) => chat.send(event.detail.text, this.settings, modelId, models.conversationFor(modelId)))}
            @reply-regenerate=${() => this.withModel((modelId) => chat.regenerate(this.settings, modelId, models.conversationFor(modelId)))}
            @generation-stop=${() => void chat.stop()}
            @conversation-clear=${() => void chat.clear()}
          ></prompt-box>
          <speed-readout .speed=${chat.speed}></speed-readout>
        </main>
        <settings-panel class="panel" role="region" aria-label="Settings" .settings=${this.settings} @settings-change=${this.onSettingsChange}></settings-panel>
      </div>`;
  }

  /** Why a reply cannot be asked for now, or '' when it can. */
  private blockedReason(): string {
    switch (this.models.state) {
      case 'downloading':
        return 'The model is downloading; it loads as soon as it is done.';
      case 'loading':
        return 'Loading the model…';
      case 'idle':
        return 'Load a model first: pick one from the model list.';
      case 'ready':
        return '';
    }
  }

  private withModel(run: (modelId: string) => Promise<void>): void {
    const modelId = this.models.modelId;
    if (this.models.state === 'ready' && modelId) void run(modelId);
  }

  private onSettingsChange(event: CustomEvent<{ settings: AppSettings }>): void {
    this.settings = event.detail.settings;
    try {
      this.settingsStore.save(this.settings);
    } catch (error) {
      this.reportError(`Could not save the settings (they apply until the page is closed): ${(error as Error).message}`);
    }
  }

  private labelFor(id: string | null): string {
    if (!id) return '';
    const known = this.models.cached.find((model) => model.id === id) ?? MODEL_CHOICES.find((entry) => entry.id === id);
    return known?.label ?? id.replace(/^(file|url|hub):/, '');
  }

  private reportError(message: string): void {
    // The same failure repeating (a save that keeps failing) is one message, not a pile.
    if (this.errors.some((error) => error.message === message)) return;
    this.errors = [...this.errors, { id: this.nextErrorId++, message }];
  }

  private dismissError(id: number): void {
    this.errors = this.errors.filter((error) => error.id !== id);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'gpt2-app': Gpt2App;
  }
}
