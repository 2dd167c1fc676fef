// The five numbers that define a GPT-2, read from HF config.json, the legacy gpt2_config.txt, or
// given directly, and checked before anything is sized from them.
import { fail } from './errors';
import { JsonKind, JsonReader } from './json';

export class ModelConfig {
  constructor(
    readonly vocabSize: i32,
    readonly nCtx: i32,
    readonly nEmbd: i32,
    readonly nLayer: i32,
    readonly nHead: i32,
  ) {}
}

let current: ModelConfig | null = null;

export function currentConfig(): ModelConfig | null {
  return current;
}

// Limits far above any GPT-2 (the largest has vocab 50257, 1024 positions, width 1600, 48 layers)
// that keep every size below u32 and the largest transposed matrix (4 * n_embd^2 floats, built
// whole in WASM memory) at 256 MiB.
const MAX_VOCAB: f64 = 1_000_000;
const MAX_CTX: f64 = 65_536;
const MAX_EMBD: f64 = 4_096;
const MAX_LAYER: f64 = 256;
// One sink buffer holds the whole token embedding.
const MAX_BUFFER_BYTES: f64 = 4_294_967_295;

/**
 * Checks and stores a config; `source` names where it came from and `keys` how that source spells
 * the five fields (vocab, context, width, layers, heads), so messages point at the right line.
 */
export function setModelConfig(vocabSize: f64, nCtx: f64, nEmbd: f64, nLayer: f64, nHead: f64, source: string, keys: string[]): i32 {
  current = null;
  if (!isWholeInRange(vocabSize, MAX_VOCAB)) return rangeError(source, keys[0], vocabSize, MAX_VOCAB);
  if (!isWholeInRange(nCtx, MAX_CTX)) return rangeError(source, keys[1], nCtx, MAX_CTX);
  if (!isWholeInRange(nEmbd, MAX_EMBD)) return rangeError(source, keys[2], nEmbd, MAX_EMBD);
  if (!isWholeInRange(nLayer, MAX_LAYER)) return rangeError(source, keys[3], nLayer, MAX_LAYER);
  if (!isWholeInRange(nHead, nEmbd)) return rangeError(source, keys[4], nHead, nEmbd);
  if (nEmbd % nHead != 0) {
    return fail(`${source}: ${keys[2]} (${numberText(nEmbd)}) must be divisible by ${keys[4]} (${numberText(nHead)}), since each head gets an equal slice of the embedding`);
  }
  const embeddingBytes = vocabSize * nEmbd * 4;
  if (embeddingBytes > MAX_BUFFER_BYTES) {
    return fail(`${source}: ${keys[0]} ${numberText(vocabSize)} × ${keys[2]} ${numberText(nEmbd)} makes a token embedding of ${numberText(embeddingBytes)} bytes, more than the 4 GiB one buffer can hold`);
  }
  current = new ModelConfig(<i32>vocabSize, <i32>nCtx, <i32>nEmbd, <i32>nLayer, <i32>nHead);
  return 0;
}

const JSON_KEYS = ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'];

/** Reads HF config.json. n_ctx stands in for n_positions in old configs. */
export function parseConfigJson(ptr: usize, length: u32): i32 {
  current = null;
  const json = new JsonReader(ptr, length);
  const sizes: f64[] = [NaN, NaN, NaN, NaN, NaN];
  let nCtxAlias: f64 = NaN;
  let activation: string | null = null;
  let epsilon: f64 = NaN;
  if (json.beginObject()) {
    while (json.nextMember()) {
      const key = json.key;
      const index = JSON_KEYS.indexOf(key);
      if (index >= 0 || key == 'n_ctx' || key == 'layer_norm_epsilon') {
        if (json.peek() != JsonKind.Number) return fail(`config.json: ${key} must be a number`);
        const value = json.readNumber();
        if (index >= 0) sizes[index] = value;
        else if (key == 'n_ctx') nCtxAlias = value;
        else epsilon = value;
      } else if (key == 'activation_function') {
        if (json.peek() != JsonKind.String) return fail('config.json: activation_function must be a string');
        activation = json.readString();
      } else {
        json.skipValue();
      }
    }
  }
  json.finish();
  if (json.failed) return fail(`config.json is not valid JSON: ${json.error} at byte ${json.errorPos}`);

  if (isNaN(sizes[1])) sizes[1] = nCtxAlias;
  let missing = '';
  for (let i = 0; i < JSON_KEYS.length; i++) {
    if (!isNaN(sizes[i])) continue;
    if (missing.length > 0) missing += ', ';
    missing += i == 1 ? 'n_positions (or n_ctx)' : JSON_KEYS[i];
  }
  if (missing.length > 0) return fail(`config.json is missing ${missing}: it must give vocab_size, n_positions, n_embd, n_layer and n_head`);

  const onlyGpt2 = 'this app only runs GPT-2 checkpoints (gelu_new activation, layer_norm_epsilon 1e-5)';
  if (activation != null && activation != 'gelu_new') return fail(`config.json has activation_function "${activation}": ${onlyGpt2}`);
  if (!isNaN(epsilon) && Math.abs(epsilon - 1e-5) > 1e-9) return fail(`config.json has layer_norm_epsilon ${epsilon.toString()}: ${onlyGpt2}`);
  return setModelConfig(sizes[0], sizes[1], sizes[2], sizes[3], sizes[4], 'config.json', JSON_KEYS);
}

const TEXT_KEYS = ['vocab_size', 'max_seq_len', 'd_model', 'n_layers', 'n_heads'];

/** Reads the legacy gpt2_config.txt: `key=value` lines; blank lines and unknown keys are ignored. */
export function parseConfigText(ptr: usize, length: u32): i32 {
  current = null;
  const lines = String.UTF8.decodeUnsafe(ptr, length).split('\n');
  const sizes: f64[] = [NaN, NaN, NaN, NaN, NaN];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length == 0) continue;
    const equals = line.indexOf('=');
    if (equals < 0) return fail(`gpt2_config.txt line ${i + 1} is "${line}", not key=value`);
    const key = line.substring(0, equals).trim();
    const index = TEXT_KEYS.indexOf(key);
    if (index < 0) continue;
    const valueText = line.substring(equals + 1).trim();
    const value = parseWholeNumber(valueText);
    if (isNaN(value)) return fail(`gpt2_config.txt line ${i + 1}: ${key} is "${valueText}", not a whole number`);
    sizes[index] = value;
  }
  let missing = '';
  for (let i = 0; i < TEXT_KEYS.length; i++) {
    if (!isNaN(sizes[i])) continue;
    if (missing.length > 0) missing += ', ';
    missing += TEXT_KEYS[i];
  }
  if (missing.length > 0) return fail(`gpt2_config.txt is missing ${missing}: it must give vocab_size, max_seq_len, d_model, n_layers and n_heads`);
  return setModelConfig(sizes[0], sizes[1], sizes[2], sizes[3], sizes[4], 'gpt2_config.txt', TEXT_KEYS);
}

// An optional minus and decimal digits, else NaN (parseFloat would accept "12abc").
function parseWholeNumber(text: string): f64 {
  const digitsStart = text.startsWith('-') ? 1 : 0;
  if (text.length == digitsStart || text.length > 18) return NaN;
  for (let i = digitsStart; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return NaN;
  }
  return parseFloat(text);
}

function isWholeInRange(value: f64, max: f64): bool {
  return value >= 1 && value <= max && Math.floor(value) == value;
}

function rangeError(source: string, key: string, value: f64, max: f64): i32 {
  return fail(`${source}: ${key} is ${numberText(value)}; it must be a whole number from 1 to ${numberText(max)}`);
}

/** Whole numbers without the ".0" f64.toString() adds. */
export function numberText(value: f64): string {
  if (Math.floor(value) == value && Math.abs(value) < 9e15) return (<i64>value).toString();
  return value.toString();
}
