// Model configs (HF config.json, legacy gpt2_config.txt, setConfig) and sharded-checkpoint
// indexes: what is accepted and how each mistake is reported.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shardFileNames } from '../../src/weights/load-weights.ts';
import { WeightsFormatError, type WeightsParser } from '../../src/weights/weights-parser.ts';
import {
  ODD_CONFIG,
  TINY_CONFIG,
  createParser,
  differingSlots,
  encodeSafetensors,
  expectedSlots,
  fixture,
  load,
  memoryFile,
  randomTensors,
  safetensorsSource,
} from './weights-helpers.ts';

let parser: WeightsParser;
beforeAll(async () => {
  parser = await createParser();
});

// A rejected config must not stop the parser from loading the next, good model.
const goodTensors = randomTensors(ODD_CONFIG, 'F16');
const goodFile = encodeSafetensors(goodTensors);
afterEach(async () => {
  const { sink } = await load(parser, safetensorsSource(ODD_CONFIG, [memoryFile('model.safetensors', goodFile)]), 'f16');
  expect(sink.coverageProblems()).toEqual([]);
  expect(differingSlots(sink.data, expectedSlots(ODD_CONFIG, goodTensors, 'f16'))).toEqual([]);
});

const encode = (text: string) => new TextEncoder().encode(text);
const json = (fields: Record<string, unknown>) => encode(JSON.stringify(fields));
const validJson = { vocab_size: 50257, n_positions: 128, n_embd: 64, n_layer: 2, n_head: 4 };

describe('config.json', () => {
  it('reads the fixture', () => {
    expect(parser.configFromJson(fixture('config.json'))).toEqual(TINY_CONFIG);
  });

  it('accepts n_ctx for n_positions, and gelu_new with eps 1e-5', () => {
    const { n_positions: nPositions, ...rest } = validJson;
    expect(parser.configFromJson(json({ ...rest, n_ctx: nPositions, activation_function: 'gelu_new', layer_norm_epsilon: 1.0000000001e-5 }))).toEqual(TINY_CONFIG);
  });

  it('names missing keys', () => {
    expect(() => parser.configFromJson(json({ vocab_size: 50257, n_layer: 2 }))).toThrow(
      'config.json is missing n_positions (or n_ctx), n_embd, n_head: it must give vocab_size, n_positions, n_embd, n_layer and n_head',
    );
  });

  it('rejects zero, negative, fractional and absurd sizes', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ n_embd: 0 }, 'config.json: n_embd is 0; it must be a whole number from 1 to 4096'],
      [{ n_layer: -2 }, 'config.json: n_layer is -2; it must be a whole number from 1 to 256'],
      [{ n_head: 2.5 }, 'config.json: n_head is 2.5; it must be a whole number from 1 to 64'],
      [{ vocab_size: 1e12 }, 'config.json: vocab_size is 1000000000000; it must be a whole number from 1 to 1000000'],
      [{ vocab_size: 1_000_000, n_embd: 4096, n_head: 32 }, 'makes a token embedding of 16384000000 bytes, more than the 4 GiB one buffer can hold'],
      [{ n_embd: '64' }, 'config.json: n_embd must be a number'],
    ];
    for (const [change, message] of cases) {
      expect(() => parser.configFromJson(json({ ...validJson, ...change }))).toThrow(message);
    }
  });

  it('rejects n_embd not divisible by n_head', () => {
    expect(() => parser.configFromJson(json({ ...validJson, n_head: 5 }))).toThrow(
      'config.json: n_embd (64) must be divisible by n_head (5)',
    );
  });

  it('rejects models that are not GPT-2', () => {
    const only = 'this app only runs GPT-2 checkpoints (gelu_new activation, layer_norm_epsilon 1e-5)';
    expect(() => parser.configFromJson(json({ ...validJson, activation_function: 'relu' }))).toThrow(`config.json has activation_function "relu": ${only}`);
    expect(() => parser.configFromJson(json({ ...validJson, layer_norm_epsilon: 1e-6 }))).toThrow(`config.json has layer_norm_epsilon 0.000001: ${only}`);
  });

  it('reports invalid JSON with its position', () => {
    expect(() => parser.configFromJson(encode('{"n_embd": 64 "n_head": 4}'))).toThrow("config.json is not valid JSON: expected ',' or '}' at byte 14");
    expect(() => parser.configFromJson(encode('not json'))).toThrow('config.json is not valid JSON: expected an object at byte 0');
  });

  it('throws WeightsFormatError and forgets the previous config', () => {
    parser.configFromJson(fixture('config.json'));
    expect(() => parser.configFromJson(encode('{}'))).toThrow(WeightsFormatError);
    expect(() => parser.beginModel('f32')).toThrow('no model config: read config.json or gpt2_config.txt (or call setConfig) before loading weights');
  });
});

describe('gpt2_config.txt', () => {
  it('reads the fixture, and tolerates blank lines, CRLF, spaces and unknown keys', () => {
    expect(parser.configFromText(fixture('gpt2_config.txt'))).toEqual(TINY_CONFIG);
    const text = '\r\nvocab_size = 50257\r\nmax_seq_len=128\r\n\r\nd_model=64\r\nn_layers=2\r\nn_heads=4\r\nlayer_norm_eps=1e-5\r\n';
    expect(parser.configFromText(encode(text))).toEqual(TINY_CONFIG);
  });

  it('names missing keys', () => {
    expect(() => parser.configFromText(encode('vocab_size=50257\nmax_seq_len=128\nn_layers=2\n'))).toThrow(
      'gpt2_config.txt is missing d_model, n_heads: it must give vocab_size, max_seq_len, d_model, n_layers and n_heads',
    );
  });

  it('rejects values that are not whole numbers, lines without =, and bad sizes', () => {
    const base = 'vocab_size=50257\nmax_seq_len=128\nn_layers=2\nn_heads=4\n';
    expect(() => parser.configFromText(encode(`${base}d_model=64.5\n`))).toThrow('gpt2_config.txt line 5: d_model is "64.5", not a whole number');
    expect(() => parser.configFromText(encode(`${base}d_model 64\n`))).toThrow('gpt2_config.txt line 5 is "d_model 64", not key=value');
    expect(() => parser.configFromText(encode(`${base}d_model=0\n`))).toThrow('gpt2_config.txt: d_model is 0; it must be a whole number from 1 to 4096');
    expect(() => parser.configFromText(encode(base.replace('n_heads=4', 'n_heads=-4') + 'd_model=64\n'))).toThrow('gpt2_config.txt: n_heads is -4');
    expect(() => parser.configFromText(encode(base.replace('n_heads=4', 'n_heads=3') + 'd_model=64\n'))).toThrow(
      'gpt2_config.txt: d_model (64) must be divisible by n_heads (3)',
    );
  });
});

describe('setConfig', () => {
  it('checks the numbers and the slot table follows them', () => {
    expect(parser.setConfig({ vocabSize: 10, nCtx: 3, nEmbd: 6, nLayer: 1, nHead: 2 })).toEqual({ vocabSize: 10, nCtx: 3, nEmbd: 6, nLayer: 1, nHead: 2 });
    const slots = parser.beginModel('f16');
    expect(slots).toHaveLength(16);
    expect(slots.map((slot) => slot.kind)).toEqual([...Array(16).keys()]);
    expect(slots[0]).toEqual({ kind: 0, layer: -1, rows: 10, cols: 6, dtype: 'f16', byteLength: 120 });
    expect(slots[1]).toEqual({ kind: 1, layer: -1, rows: 3, cols: 6, dtype: 'f16', byteLength: 36 });
    expect(slots[14]).toEqual({ kind: 14, layer: 0, rows: 6, cols: 24, dtype: 'f16', byteLength: 288 });
    expect(slots[15]).toEqual({ kind: 15, layer: 0, rows: 1, cols: 6, dtype: 'f32', byteLength: 24 });
    expect(() => parser.setConfig({ vocabSize: 10, nCtx: 3.5, nEmbd: 6, nLayer: 1, nHead: 2 })).toThrow('setConfig: nCtx is 3.5');
    expect(() => parser.setConfig({ vocabSize: 10, nCtx: 3, nEmbd: 6, nLayer: 1, nHead: 7 })).toThrow('setConfig: nHead is 7; it must be a whole number from 1 to 6');
  });
});

describe('shardFileNames', () => {
  it('lists each shard once, sorted', () => {
    const index = { metadata: { total_size: 10 }, weight_map: { 'h.1.ln_1.weight': 'model-00002-of-00002.safetensors', 'wte.weight': 'model-00001-of-00002.safetensors', 'wpe.weight': 'model-00001-of-00002.safetensors' } };
    expect(shardFileNames(JSON.stringify(index))).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  });

  it('explains what is wrong with a bad index', () => {
    expect(() => shardFileNames('{')).toThrow(/^model\.safetensors\.index\.json is not valid JSON \(.*\): download it again$/);
    expect(() => shardFileNames('{"metadata": {}}')).toThrow('model.safetensors.index.json has no "weight_map" object: it is not a safetensors shard index');
    expect(() => shardFileNames('{"weight_map": {}}')).toThrow('model.safetensors.index.json has an empty weight_map');
    expect(() => shardFileNames('{"weight_map": {"wte.weight": 3}}')).toThrow('maps wte.weight to 3, which is not a plain file name');
    expect(() => shardFileNames('{"weight_map": {"wte.weight": "../secret"}}')).toThrow('maps wte.weight to "../secret", which is not a plain file name');
  });
});
