// The settings form. A field that does not parse or is out of range keeps what the user typed,
// says what is wrong beside it, and changes nothing until it is fixed; valid changes go out as one
// `settings-change` event carrying the whole new settings. One form shows any subset of the
// settings: the app puts the few people change often beside the prompt box and the rest in a drawer.
import { css, html, LitElement, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { formatStopStrings, parseStopStrings, validateSettings, type AppSettings, type SettingsErrors } from './settings.ts';
import { controlStyles } from './shared-styles.ts';

type NumberSetting = 'temperature' | 'topK' | 'topP' | 'repetitionPenalty' | 'maxNewTokens' | 'seed';
type ChoiceSetting = 'framing' | 'backend' | 'weightsDtype';
type ToggleSetting = 'lookInside';

interface NumberField {
  name: NumberSetting;
  label: string;
  step: string;
  help: string;
}

const NUMBER_FIELDS: readonly NumberField[] = [
  { name: 'temperature', label: 'Temperature', step: '0.05', help: '0 always picks the likeliest token (greedy); higher is more surprising.' },
  { name: 'topK', label: 'Top-k', step: '1', help: 'Sample from the k likeliest tokens; 0 turns it off.' },
  { name: 'topP', label: 'Top-p', step: '0.01', help: 'Sample from the likeliest tokens that together reach p; 1 turns it off.' },
  { name: 'repetitionPenalty', label: 'Repetition penalty', step: '0.05', help: 'Above 1 discourages repeating tokens already in the text.' },
  { name: 'maxNewTokens', label: 'Max new tokens', step: '1', help: 'The longest reply, in tokens (about ¾ of a word each).' },
];

/** The settings people change often, one tap away beside the prompt box. */
export const QUICK_SETTINGS = ['framing', 'temperature', 'maxNewTokens', 'lookInside'] as const satisfies readonly (keyof AppSettings)[];
/** The others, in the settings drawer. */
export const MORE_SETTINGS = ['topK', 'topP', 'repetitionPenalty', 'seed', 'stopStrings', 'backend', 'weightsDtype', 'hubUrl'] as const satisfies readonly (keyof AppSettings)[];

/** Test ids and element ids: "maxNewTokens" → "max-new-tokens". */
const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

@customElement('settings-panel')
export class SettingsPanel extends LitElement {
  static override styles = [
    controlStyles,
    css`
      :host {
        display: block;
      }
      form {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr));
        gap: 0.9rem 1rem;
      }
      .field {
        display: grid;
        gap: 0.2rem;
        align-content: start;
        min-width: 0;
      }
      .field > input:not([type='checkbox']),
      .field > select,
      .field > textarea {
        width: 100%;
      }
      .field.wide {
        grid-column: 1 / -1;
      }
      label {
        font-weight: 600;
        font-size: 0.9rem;
      }
      .help {
        margin: 0;
        font-size: 0.8rem;
        color: var(--text-muted);
      }
      .error {
        margin: 0;
        font-size: 0.85rem;
        color: var(--danger);
      }
      .inline {
        display: flex;
        align-items: center;
        gap: 0.4rem;
        font-weight: normal;
      }
      textarea {
        min-height: 3.5rem;
        resize: vertical;
      }
      :host([compact]) form {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
      }
      :host([compact]) .field {
        grid-template-columns: auto auto;
        align-items: center;
        gap: 0.35rem;
      }
      :host([compact]) label {
        font-weight: normal;
        font-size: 0.85rem;
        color: var(--text-muted);
      }
      :host([compact]) input {
        width: 5rem;
      }
      :host([compact]) .error {
        grid-column: 1 / -1;
      }
      button.toggle {
        display: inline-flex;
        align-items: center;
        gap: 0.3rem;
        padding: 0.3rem 0.7rem;
        font-size: 0.85rem;
      }
      button.toggle[aria-pressed='true'] {
        background: var(--accent);
        border-color: var(--accent);
        color: var(--on-accent);
      }

    `,
  ];

  @property({ attribute: false }) settings!: AppSettings;
  /** Which settings this form shows, in order: the quick ones beside the prompt, the rest in the drawer. */
  @property({ attribute: false }) fields: readonly (keyof AppSettings)[] = [...QUICK_SETTINGS, ...MORE_SETTINGS];
  /** A single row of small fields whose help is read out but not shown (beside the prompt box). */
  @property({ type: Boolean, reflect: true }) compact = false;

  @state() private errors: SettingsErrors = {};

  override render() {
    return html`<form @submit=${(event: Event) => event.preventDefault()}>${this.fields.map((name) => this.control(name))}</form>`;
  }

  /** One setting's field: its label, control, help and error. */
  private control(name: keyof AppSettings): TemplateResult {
    const settings = this.settings;
    const number = NUMBER_FIELDS.find((field) => field.name === name);
    if (number) {
      return this.field(
        number.name,
        number.label,
        number.help,
        html`<input
          type="number"
          id=${kebab(number.name)}
          data-testid=${`settings-${kebab(number.name)}`}
          step=${number.step}
          .value=${String(settings[number.name])}
          aria-describedby=${this.describedBy(number.name)}
          aria-invalid=${this.invalid(number.name)}
          @change=${(event: Event) => this.changeNumber(number.name, event)}
        />`,
      );
    }
    switch (name) {
      case 'seed':
        return this.field(
          'seed',
          'Seed',
          'The same seed, settings and text give the same reply.',
          html`<input
              type="number"
              id="seed"
              data-testid="settings-seed"
              step="1"
              min="0"
              .value=${String(settings.seed)}
              ?disabled=${settings.randomSeed}
              aria-describedby=${this.describedBy('seed')}
              aria-invalid=${this.invalid('seed')}
              @change=${(event: Event) => this.changeNumber('seed', event)}
            />
            <label class="inline">
              <input
                type="checkbox"
                data-testid="settings-random-seed"
                .checked=${settings.randomSeed}
                @change=${(event: Event) => this.change({ randomSeed: (event.target as HTMLInputElement).checked })}
              />
              New random seed for every reply
            </label>`,
        );
      case 'framing':
        return this.choiceField('framing', 'Mode',
          'Chat writes the conversation the way the model reads one (a User/GPT-2 transcript, or DialoGPT\'s turns); plain continues your text as it is.',
          [['chat', 'Chat'], ['plain', 'Plain']]);
      case 'backend':
        return this.choiceField('backend', 'Runs on',
          'Automatic: WebGPU on a real GPU, else the CPU. Used the next time a model is loaded.',
          [['auto', 'Automatic'], ['webgpu', 'WebGPU'], ['cpu', 'CPU (WASM SIMD)']]);
      case 'weightsDtype':
        return this.choiceField('weightsDtype', 'Weights format',
          'Automatic: f16 on a GPU (f32 on a software one, which runs f32 faster), int8 on the CPU. Used the next time a model is loaded.',
          [['auto', 'Automatic (the engine chooses)'], ['f32', 'f32 (exact)'], ['f16', 'f16 (half the memory)'],
            ['int8', 'int8 (CPU only, a quarter of the memory)'], ['q4', 'q4 (CPU only, about a fifth of the memory; slower and a little less exact than int8)']]);
      case 'stopStrings':
        return this.field(
          'stopStrings',
          'Stop strings',
          'One per line; write \\n for a line break. The reply ends before the first one it writes.',
          html`<textarea
            id="stop-strings"
            data-testid="settings-stop-strings"
            .value=${formatStopStrings(settings.stopStrings)}
            aria-describedby=${this.describedBy('stopStrings')}
            aria-invalid=${this.invalid('stopStrings')}
            @change=${(event: Event) => this.change({ stopStrings: parseStopStrings((event.target as HTMLTextAreaElement).value) })}
          ></textarea>`,
          true,
        );
      case 'lookInside':
        return this.toggle(
          'lookInside',
          'Probabilities',
          'Shades each token of a reply by how likely the model thought it. Hover, focus or tap a token for the tokens it could have written instead, and choose one to branch the reply there. Messages get their perplexity.',
        );
      case 'hubUrl':
        return this.field(
          'hubUrl',
          'Model hub URL',
          'Where catalog models are downloaded from: the Hugging Face hub, or a mirror laid out the same way.',
          html`<input
            type="url"
            id="hub-url"
            data-testid="settings-hub-url"
            .value=${settings.hubUrl}
            aria-describedby=${this.describedBy('hubUrl')}
            aria-invalid=${this.invalid('hubUrl')}
            @change=${(event: Event) => this.change({ hubUrl: (event.target as HTMLInputElement).value.trim() })}
          />`,
          true,
        );
      default:
        throw new Error(`settings-panel has no field for "${name}"`);
    }
  }

  private field(name: keyof AppSettings, label: string, help: string, control: TemplateResult, wide = false) {
    const id = kebab(name);
    const error = this.errors[name];
    return html`<div class="field ${wide ? 'wide' : ''}">
      <label for=${id}>${label}</label>
      ${control}
      <p class="help ${this.compact ? 'visually-hidden' : ''}" id=${`${id}-help`}>${help}</p>
      ${error ? html`<p class="error" id=${`${id}-error`} role="alert" data-testid="settings-error">${error}</p>` : null}
    </div>`;
  }

  /** A button pressed while the setting is on (and ticked, so that reads without colour); its text is its label. */
  private toggle(name: ToggleSetting, label: string, help: string) {
    const id = kebab(name);
    const on = this.settings[name];
    return html`<div class="field">
      <button
        type="button"
        class="toggle"
        data-testid=${`settings-${id}`}
        aria-pressed=${on ? 'true' : 'false'}
        aria-describedby=${`${id}-help`}
        title=${help}
        @click=${() => this.change({ [name]: !on })}
      >${on ? html`<span aria-hidden="true">✓</span>` : null}${label}</button>
      <p class="help ${this.compact ? 'visually-hidden' : ''}" id=${`${id}-help`}>${help}</p>
    </div>`;
  }

  /** A select of one of a setting's `choices`, each [value, text]. */
  private choiceField<Name extends ChoiceSetting>(name: Name, label: string, help: string,
    choices: [AppSettings[Name], string][]) {
    const id = kebab(name);
    return this.field(name, label, help, html`<select
      id=${id}
      data-testid=${`settings-${id}`}
      aria-describedby=${this.describedBy(name)}
      @change=${(event: Event) => this.change({ [name]: (event.target as HTMLSelectElement).value })}
    >
      ${choices.map(([value, text]) => html`<option value=${value} ?selected=${this.settings[name] === value}>${text}</option>`)}
    </select>`);
  }

  /** The help text, and the error when there is one, describe the control to assistive technology. */
  private describedBy(name: keyof AppSettings): string {
    const id = kebab(name);
    return this.errors[name] ? `${id}-error ${id}-help` : `${id}-help`;
  }

  private invalid(name: keyof AppSettings): 'true' | 'false' {
    return this.errors[name] ? 'true' : 'false';
  }

  private changeNumber(name: NumberSetting, event: Event): void {
    const text = (event.target as HTMLInputElement).value.trim();
    this.change({ [name]: text === '' ? Number.NaN : Number(text) });
  }

  private change(change: Partial<AppSettings>): void {
    const candidate = { ...this.settings, ...change };
    const name = Object.keys(change)[0] as keyof AppSettings;
    const error = validateSettings(candidate)[name];
    this.errors = { ...this.errors, [name]: error };
    if (!error) this.dispatchEvent(new CustomEvent('settings-change', { detail: { settings: candidate } }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'settings-panel': SettingsPanel;
  }
}
