// The user's settings: what they are, the ranges that make sense, and how they are kept in
// localStorage. A stored value that is missing or no longer valid falls back to its default, so a
// settings change between versions never leaves the app unusable.
import type { Backend, GenerationSettings, LoadOptions, WeightsDtype } from '../worker/engine-api.ts';
import { DEFAULT_HUB_URL } from '../models/catalog.ts';
import type { FramingMode } from './prompt-framing.ts';

export interface AppSettings {
  /** 0 picks the most likely token every time (greedy). */
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  maxNewTokens: number;
  seed: number;
  /** Draw a new seed for every reply instead of using `seed`. */
  randomSeed: boolean;
  stopStrings: string[];
  framing: FramingMode;
  /** Where the next model loaded runs; 'auto' leaves it to the engine (WebGPU on a real GPU, else the CPU). */
  backend: Backend | 'auto';
  /** How the next model loaded stores its matrices; 'auto' leaves it to the engine. */
  weightsDtype: WeightsDtype | 'auto';
  /** Where catalog models are downloaded from: the HF hub or a mirror with the same layout. */
  hubUrl: string;
  /** Look inside the replies: tokens shaded by probability, their alternatives, the prompt's scores. */
  lookInside: boolean;
}

export const DEFAULT_SETTINGS: Readonly<AppSettings> = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  repetitionPenalty: 1.1,
  maxNewTokens: 80,
  seed: 42,
  randomSeed: true,
  stopStrings: [],
  framing: 'chat',
  backend: 'auto',
  weightsDtype: 'auto',
  hubUrl: DEFAULT_HUB_URL,
  lookInside: false,
};

const SEED_MAX = 2 ** 32 - 1;
/** GPT-2's vocabulary: a larger top-k keeps every token anyway. */
const VOCAB_SIZE = 50257;
/** Far past the 1024-token context (the engine drops old tokens to go on), short of a runaway. */
const MAX_NEW_TOKENS_LIMIT = 4096;

export type SettingsErrors = Partial<Record<keyof AppSettings, string>>;

/** What is wrong with each invalid field, in words that say what to enter instead. */
export function validateSettings(settings: AppSettings): SettingsErrors {
  const errors: SettingsErrors = {};
  const { temperature, topK, topP, repetitionPenalty, maxNewTokens, seed } = settings;
  if (!(temperature >= 0 && temperature <= 5)) errors.temperature = 'Temperature must be between 0 (always the likeliest word) and 5.';
  if (!(Number.isInteger(topK) && topK >= 0 && topK <= VOCAB_SIZE)) errors.topK = `Top-k must be a whole number from 0 (off) to ${VOCAB_SIZE}.`;
  if (!(topP > 0 && topP <= 1)) errors.topP = 'Top-p must be above 0 and at most 1 (1 turns it off).';
  if (!(repetitionPenalty >= 0.5 && repetitionPenalty <= 3)) errors.repetitionPenalty = 'Repetition penalty must be between 0.5 and 3 (1 turns it off).';
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 1 && maxNewTokens <= MAX_NEW_TOKENS_LIMIT)) {
    errors.maxNewTokens = `Max new tokens must be a whole number from 1 to ${MAX_NEW_TOKENS_LIMIT}.`;
  }
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= SEED_MAX)) errors.seed = `The seed must be a whole number from 0 to ${SEED_MAX}.`;
  if (!settings.stopStrings.every((stop) => stop.length > 0)) errors.stopStrings = 'Stop strings cannot be empty.';
  if (settings.framing !== 'chat' && settings.framing !== 'plain') errors.framing = 'Choose chat or plain completion.';
  if (!['auto', 'webgpu', 'cpu'].includes(settings.backend)) errors.backend = 'Choose automatic, WebGPU or CPU.';
  // int8 and q4 with WebGPU are left to the engine to refuse: it says why, and the choice may be a
  // step on the way to switching the backend too.
  if (!['auto', 'f32', 'f16', 'int8', 'q4'].includes(settings.weightsDtype)) errors.weightsDtype = 'Choose automatic, f32, f16, int8 or q4.';
  if (!isHttpUrl(settings.hubUrl)) errors.hubUrl = 'The hub URL must be a web address starting with http:// or https://.';
  return errors;
}

/** One stop string per line; "\n" and "\t" written out stand for a newline and a tab. */
export function parseStopStrings(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.replace(/\\([nt\\])/g, (_, escape: string) => (escape === 'n' ? '\n' : escape === 't' ? '\t' : '\\')));
}

/** The inverse of `parseStopStrings`. */
export function formatStopStrings(stopStrings: readonly string[]): string {
  return stopStrings.map((stop) => stop.replace(/[\\\n\t]/g, (char) => (char === '\n' ? '\\n' : char === '\t' ? '\\t' : '\\\\'))).join('\n');
}

/** What the engine needs for one reply: the settings plus the seed actually used. */
export function generationSettings(settings: AppSettings, stopStrings: string[], seed: number): GenerationSettings {
  const { maxNewTokens, temperature, topK, topP, repetitionPenalty } = settings;
  return { maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stopStrings };
}

/** What the engine needs to load a model: only the choices the user made, the rest is the engine's. */
export function loadOptions(settings: AppSettings): LoadOptions {
  const options: LoadOptions = {};
  if (settings.backend !== 'auto') options.backend = settings.backend;
  if (settings.weightsDtype !== 'auto') options.weightsDtype = settings.weightsDtype;
  return options;
}

export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Settings and the last model used, in localStorage (or any Storage: tests pass their own). */
export class SettingsStore {
  constructor(
    private readonly storage: Storage,
    private readonly key = 'gpt2.settings',
  ) {}

  load(): AppSettings {
    const stored = this.read(this.key);
    const settings = { ...DEFAULT_SETTINGS, stopStrings: [...DEFAULT_SETTINGS.stopStrings] };
    if (!stored || typeof stored !== 'object') return settings;
    for (const name of Object.keys(DEFAULT_SETTINGS) as (keyof AppSettings)[]) {
      const value = (stored as Record<string, unknown>)[name];
      const candidate = { ...settings, [name]: value };
      if (value !== undefined && sameType(value, DEFAULT_SETTINGS[name]) && !validateSettings(candidate)[name]) Object.assign(settings, { [name]: value });
    }
    return settings;
  }

  save(settings: AppSettings): void {
    this.storage.setItem(this.key, JSON.stringify(settings));
  }

  /** The model to load again when the app starts. */
  lastModelId(): string | null {
    const id = this.read(`${this.key}.lastModel`);
    return typeof id === 'string' ? id : null;
  }

  saveLastModelId(id: string | null): void {
    if (id === null) this.storage.removeItem(`${this.key}.lastModel`);
    else this.storage.setItem(`${this.key}.lastModel`, JSON.stringify(id));
  }

  private read(key: string): unknown {
    try {
      return JSON.parse(this.storage.getItem(key) ?? 'null');
    } catch {
      return null;
    }
  }
}

function sameType(value: unknown, reference: unknown): boolean {
  return Array.isArray(reference) ? Array.isArray(value) && value.every((item) => typeof item === 'string') : typeof value === typeof reference;
}
