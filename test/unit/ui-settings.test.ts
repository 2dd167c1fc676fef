// Settings: ranges with messages that say what to enter, stop strings written one per line, and
// storage that falls back to defaults for anything missing, mistyped or out of range.
import { expect, it } from 'vitest';
import { DEFAULT_SETTINGS, formatStopStrings, generationSettings, loadOptions, parseStopStrings, SettingsStore, validateSettings } from '../../src/ui/settings.ts';

/** A Storage in memory: what localStorage is to the app. */
class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

it('accepts the defaults', () => {
  expect(validateSettings({ ...DEFAULT_SETTINGS })).toEqual({});
});

it.each([
  ['temperature', -0.1, /between 0/],
  ['temperature', Number.NaN, /between 0/],
  ['topK', 2.5, /whole number/],
  ['topK', 60000, /50257/],
  ['topP', 0, /above 0/],
  ['topP', 1.5, /at most 1/],
  ['repetitionPenalty', 0, /between 0.5 and 3/],
  ['maxNewTokens', 0, /from 1/],
  ['maxNewTokens', 10.5, /whole number/],
  ['seed', -1, /from 0/],
  ['seed', 2 ** 32, /4294967295/],
  ['backend', 'metal', /automatic, WebGPU or CPU/],
  ['weightsDtype', 'f8', /automatic, f32, f16, int8 or q4/],
  ['hubUrl', 'huggingface.co', /http/],
  ['hubUrl', 'ftp://mirror/', /http/],
] as const)('rejects %s = %s with a message that says what to enter', (name, value, message) => {
  const errors = validateSettings({ ...DEFAULT_SETTINGS, [name]: value });
  expect(Object.keys(errors)).toEqual([name]);
  expect(errors[name]).toMatch(message);
});

it('accepts the ends of each range (temperature 0 is greedy, top-k 0 and top-p 1 are off)', () => {
  expect(validateSettings({ ...DEFAULT_SETTINGS, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: 1, seed: 0 })).toEqual({});
});

it('reads stop strings one per line with \\n and \\t escapes, and writes them back the same way', () => {
  const parsed = parseStopStrings('\\n\\n\nTHE END\n\nback\\\\slash\ttab\\t');
  expect(parsed).toEqual(['\n\n', 'THE END', 'back\\slash\ttab\t']);
  expect(parseStopStrings(formatStopStrings(parsed))).toEqual(parsed);
  expect(parseStopStrings('')).toEqual([]);
});

it('gives the engine the sampling settings, the stop strings and the seed actually used', () => {
  expect(generationSettings({ ...DEFAULT_SETTINGS, stopStrings: ['x'] }, ['\nUser:', 'x'], 7)).toEqual({
    maxNewTokens: DEFAULT_SETTINGS.maxNewTokens,
    temperature: DEFAULT_SETTINGS.temperature,
    topK: DEFAULT_SETTINGS.topK,
    topP: DEFAULT_SETTINGS.topP,
    repetitionPenalty: DEFAULT_SETTINGS.repetitionPenalty,
    seed: 7,
    stopStrings: ['\nUser:', 'x'],
  });
});

it('leaves to the engine what the settings leave on automatic, and passes on what they name', () => {
  expect(loadOptions({ ...DEFAULT_SETTINGS })).toEqual({});
  expect(loadOptions({ ...DEFAULT_SETTINGS, backend: 'cpu' })).toEqual({ backend: 'cpu' });
  expect(loadOptions({ ...DEFAULT_SETTINGS, backend: 'webgpu', weightsDtype: 'int8' })).toEqual({ backend: 'webgpu', weightsDtype: 'int8' });
  expect(loadOptions({ ...DEFAULT_SETTINGS, weightsDtype: 'f16' })).toEqual({ weightsDtype: 'f16' });
});

it('saves settings and reads them back in a new store', () => {
  const storage = new MemoryStorage();
  const changed = {
    ...DEFAULT_SETTINGS, temperature: 0, stopStrings: ['\n\n'], framing: 'plain' as const, backend: 'cpu' as const, weightsDtype: 'int8' as const, hubUrl: 'http://localhost:9/hub',
  };
  new SettingsStore(storage).save(changed);
  expect(new SettingsStore(storage).load()).toEqual(changed);
});

it('falls back to the default for each stored value that is missing, mistyped or out of range', () => {
  const storage = new MemoryStorage();
  storage.setItem('gpt2.settings', JSON.stringify({ temperature: 'hot', topK: -3, topP: 0.5, framing: 'poem', backend: 'wasm', stopStrings: [1] }));
  expect(new SettingsStore(storage).load()).toEqual({ ...DEFAULT_SETTINGS, topP: 0.5 });
  storage.setItem('gpt2.settings', '{not json');
  expect(new SettingsStore(storage).load()).toEqual(DEFAULT_SETTINGS);
});

it('remembers the last model, and forgets it', () => {
  const store = new SettingsStore(new MemoryStorage());
  expect(store.lastModelId()).toBeNull();
  store.saveLastModelId('gpt2-medium');
  expect(store.lastModelId()).toBe('gpt2-medium');
  store.saveLastModelId(null);
  expect(store.lastModelId()).toBeNull();
});
