// The app: the conversation, with the model list and the settings a tap away. It owns no model work: the
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
import type { AppDialog } from './app-dialog.ts';
import './app-dialog.ts';
import type { AppEngine } from './app-engine.ts';
import './app-header.ts';
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
import { MORE_SETTINGS, QUICK_SETTINGS } from './settings-panel.ts';
import { validateSettings, type AppSettings, type SettingsStore } from './settings.ts';
import './speed-readout.ts';

type DialogId = 'models' | 'settings';

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
    /* The page is the conversation: the header on top, the prompt box at the bottom (above the
       on-screen keyboard: index.html's viewport resizes the content), the chat log between them
       scrolling on its own. The model list and the settings open over it (app-dialog). */
    :host {
      display: flex;
      flex-direction: column;
      box-sizing: border-box;
      height: 100%;
      padding: env(safe-area-inset-top) env(safe-area-inset-right) env(safe-area-inset-bottom) env(safe-area-inset-left);
    }
    app-header {
      padding: 0.5rem clamp(0.5rem, 2vw, 1.5rem);
      border-bottom: 1px solid var(--border);
      background: var(--surface);
    }
    main {
      flex: 1;
      min-height: 0;
      display: flex;
      flex-direction: column;
      gap: 0.5rem;
      box-sizing: border-box;
      width: min(56rem, 100%);
      margin: 0 auto;
      padding: 0.5rem clamp(0.5rem, 2vw, 1.5rem) 0.5rem;
    }
    .intro {
      display: grid;
      gap: 0.5rem;
      margin: auto 0;
      padding: 0 0.25rem;
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
    .intro + chat-log {
      flex: 0 0 auto;
    }
    model-summary {
      margin-bottom: 1rem;
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
  /** The dialogs opened so far; a dialog's content stays rendered once it has been (a half-typed field survives closing it). */
  @state() private opened = new Set<DialogId>();
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

  protected override updated(): void {
    this.setAttribute('model-state', this.models.state);
    this.toggleAttribute('generating', this.chat.generating);
  }

  /**
   * Runs a model change the model list asked for. When it is over, the list has done its job and
   * the conversation comes back: the prompt box focused when a model is ready, or the error that
   * stopped it in view (the dialog gives the focus back to the model button). A download the user
   * cancelled keeps the list open, with its note, and the focus in it (the list was disabled
   * meanwhile, which dropped the focus on the page).
   */
  private fromModelList(change: () => Promise<void>): void {
    const firstNewError = this.nextErrorId;
    void change().then(async () => {
      // Closed in the same task as the outcome is rendered, so nothing sees the one without the other.
      const cancelled = this.models.notice !== '';
      if (!cancelled) this.dialog('models').close();
      await this.updateComplete;
      if (cancelled) {
        if (deepActiveElement() === document.body) this.renderRoot.querySelector('model-picker')?.focus();
        return;
      }
      const failed = this.errors.some((error) => error.id >= firstNewError);
      if (this.models.state === 'ready' && !failed) this.renderRoot.querySelector('prompt-box')?.focus();
    });
  }

  override render() {
    const models = this.models;
    const chat = this.chat;
    const pendingLabel = this.labelFor(models.pendingId);
    return html`<app-header
        role="banner"
        .model=${models.model}
        .label=${this.labelFor(models.modelId)}
        .state=${models.state}
        .pendingLabel=${pendingLabel}
        .download=${models.download}
        @models-open=${() => this.openDialog('models')}
        @settings-open=${() => this.openDialog('settings')}
      ></app-header>
      <main>
        <error-list .errors=${this.errors} @error-dismiss=${(event: CustomEvent<{ id: number }>) => this.dismissError(event.detail.id)}></error-list>
        ${chat.messages.length === 0 ? this.renderIntro() : null}
        <chat-log
          .messages=${chat.messages}
          ?lookInside=${this.settings.lookInside}
          ?canBranch=${chat.canBranch && models.state === 'ready'}
          @reply-branch=${(event: CustomEvent<{ replyId: string; tokenIndex: number; token: number }>) =>
            this.withModel((modelId) => chat.branch(event.detail.replyId, event.detail.tokenIndex, event.detail.token, modelId, models.conversationFor(modelId)))}
          @reply-version-show=${(event: CustomEvent<{ replyId: string; index: number }>) => void chat.showVersion(event.detail.replyId, event.detail.index)}
        ></chat-log>
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
        <settings-panel compact aria-label="Quick settings" role="group" .fields=${QUICK_SETTINGS} .settings=${this.settings} @settings-change=${this.onSettingsChange}></settings-panel>
        <speed-readout .speed=${chat.speed}></speed-readout>
      </main>
      <app-dialog id="models" heading="Model">
        <model-summary .model=${models.model} .label=${this.labelFor(models.modelId)} .state=${models.state} .pendingLabel=${pendingLabel} .loadProgress=${models.loadProgress}></model-summary>
        ${this.opened.has('models') ? this.renderModelList() : null}
      </app-dialog>
      <app-dialog id="settings" heading="Settings">${this.opened.has('settings') ? this.renderSettings() : null}</app-dialog>`;
  }

  /** The model list itself (the loaded model's summary above it is small, and always there): rendered
   *  from its first opening on, so that starting the app renders the conversation alone. */
  private renderModelList() {
    const models = this.models;
    const chat = this.chat;
    return html`<model-picker
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
      `;
  }

  private renderSettings() {
    return html`<p class="note">Mode, temperature, max new tokens and Probabilities are beside the prompt box.</p>
      <settings-panel .fields=${MORE_SETTINGS} .settings=${this.settings} @settings-change=${this.onSettingsChange}></settings-panel>
      `;
  }

  /** What the empty conversation shows: how the loaded model talks, and what the demo model is. */
  private renderIntro() {
    const models = this.models;
    return html`<div class="intro">
      <p class="note" data-testid="gpt2-note">${MODEL_NOTES[models.conversationFor(models.modelId)]}</p>
      ${models.modelId === DEMO_MODEL.id
        ? html`<p class="note" data-testid="demo-note">
            This is a tiny demo model trained on the King James Bible, not GPT-2 (plain mode suits it); for GPT-2 itself, choose
            ${GPT2_SMALL.label} in the model list (${formatBytes(GPT2_SMALL.downloadBytes)}).
          </p>`
        : null}
    </div>`;
  }

  /** Renders a dialog's content if it has never been open, then opens it. */
  private async openDialog(id: DialogId): Promise<void> {
    if (!this.opened.has(id)) {
      this.opened = new Set([...this.opened, id]);
      await this.updateComplete;
    }
    this.dialog(id).show();
  }

  private dialog(id: DialogId): AppDialog {
    return this.renderRoot.querySelector<AppDialog>(`app-dialog#${id}`)!;
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
