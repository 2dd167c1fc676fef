// Checks the test-support model files: number conversions bit by bit, the encoders against the
// tiny-gpt2 fixture files byte by byte (those were written by PyTorch and the safetensors library),
// the random weights' properties, and make-random-model's streamed files against the in-memory encoders.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Gpt2Config } from '../../src/model/config.ts';
import { ensureRandomModel } from '../../scripts/make-random-model.ts';
import {
  bfloat16BitsToFloat32,
  decodeSafetensors,
  encodeLegacyBin,
  encodeSafetensors,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  gpt2TensorShapes,
  hfConfigJson,
  legacyConfigText,
  randomGpt2Tensors,
  randomTensorData,
} from '../../scripts/model-files.ts';
import { ReferenceGpt2 } from '../support/reference-gpt2.ts';

const FIXTURES = '../shared/fixtures/tiny-gpt2';
const TINY_CONFIG: Gpt2Config = { vocabSize: 50257, nCtx: 128, nEmbd: 64, nLayer: 2, nHead: 4 };
// Odd sizes, so nothing lines up by accident.
const SMALL_CONFIG: Gpt2Config = { vocabSize: 97, nCtx: 16, nEmbd: 24, nLayer: 2, nHead: 3 };

const fixture = (name: string) => new Uint8Array(readFileSync(`${FIXTURES}/${name}`));
const hex = (bits: number) => '0x' + bits.toString(16).padStart(4, '0');

/** Index of the first byte that differs, or -1. (toEqual on multi-megabyte arrays takes minutes.) */
function firstDifference(actual: Uint8Array, wanted: Uint8Array): number {
  const length = Math.min(actual.length, wanted.length);
  for (let i = 0; i < length; i++) if (actual[i] !== wanted[i]) return i;
  return actual.length === wanted.length ? -1 : length;
}

describe('float16', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [-0, 0x8000],
    [65504, 0x7bff], // largest finite
    [65519, 0x7bff], // just below the halfway point to infinity
    [65520, 0x7c00], // halfway: ties to even, which is infinity
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1e-7, 0x0002], // subnormal, 1.68 steps of 2^-24
    [2 ** -25, 0x0000], // halfway between 0 and 2^-24: ties to even zero
    [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 steps: ties to even 2
    [1023.5 * 2 ** -24, 0x0400], // a subnormal that rounds up into the smallest normal
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half: ties down to even
    [1 + 3 * 2 ** -11, 0x3c02], // halfway again: ties up to even
    [2049, 0x6800],
    [2051, 0x6802],
  ])('%d -> bits %s', (value, bits) => {
    expect(hex(float32ToFloat16Bits(value))).toBe(hex(bits));
  });

  it('turns NaN into a NaN', () => {
    const bits = float32ToFloat16Bits(NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x3ff).not.toBe(0);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
  });

  it('decodes known patterns', () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0xc000)).toBe(-2);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
  });

  it('round-trips every non-NaN bit pattern', () => {
    for (let bits = 0; bits <= 0xffff; bits++) {
      const isNaN = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
      if (!isNaN && float32ToFloat16Bits(float16BitsToFloat32(bits)) !== bits) throw new Error(`${hex(bits)} does not round-trip`);
    }
  });
});

describe('bfloat16', () => {
  it.each([
    [1, 0x3f80],
    [-2, 0xc000],
    [1 + 2 ** -8, 0x3f80], // halfway: ties down to even
    [1 + 3 * 2 ** -8, 0x3f82], // halfway: ties up to even
    [1 + 2 ** -8 + 2 ** -20, 0x3f81], // just above halfway
    [3.4028234663852886e38, 0x7f80], // float32's largest rounds up to infinity
    [-Infinity, 0xff80],
  ])('%d -> bits %s', (value, bits) => {
    expect(hex(float32ToBfloat16Bits(value))).toBe(hex(bits));
  });

  it('turns NaN into a NaN', () => {
    expect(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN))).toBeNaN();
  });

  it('round-trips every non-NaN bit pattern', () => {
    for (let bits = 0; bits <= 0xffff; bits++) {
      const isNaN = (bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0;
      if (!isNaN && float32ToBfloat16Bits(bfloat16BitsToFloat32(bits)) !== bits) throw new Error(`${hex(bits)} does not round-trip`);
    }
  });
});

describe('encoders against the tiny-gpt2 fixture files', () => {
  const f32File = fixture('model.safetensors');
  const { tensors, metadata } = decodeSafetensors(f32File);

  it('reads the fixture as the HF tensor list', () => {
    expect(tensors.map(({ name, shape }) => ({ name, shape }))).toEqual(gpt2TensorShapes(TINY_CONFIG));
    expect(metadata).toEqual({ format: 'pt' });
  });

  it('writes model.safetensors byte for byte', () => {
    expect(firstDifference(encodeSafetensors(tensors, 'F32', metadata), f32File)).toBe(-1);
  });

  it('writes model.f16.safetensors byte for byte (PyTorch rounding of 3.3M weights)', () => {
    expect(firstDifference(encodeSafetensors(tensors, 'F16', metadata), fixture('model.f16.safetensors'))).toBe(-1);
  });

  it('writes gpt2_weights.bin byte for byte', () => {
    expect(firstDifference(encodeLegacyBin(tensors), fixture('gpt2_weights.bin'))).toBe(-1);
  });

  it('writes the config files', () => {
    expect(legacyConfigText(TINY_CONFIG)).toBe(readFileSync(`${FIXTURES}/gpt2_config.txt`, 'utf8'));
    expect(JSON.parse(hfConfigJson(TINY_CONFIG))).toEqual(JSON.parse(readFileSync(`${FIXTURES}/config.json`, 'utf8')));
  });
});

describe('encodeSafetensors', () => {
  const tensors = randomGpt2Tensors(SMALL_CONFIG, 3, { prefix: '' });

  it.each(['F32', 'F16', 'BF16'] as const)('%s: an 8-byte-aligned JSON header with back-to-back offsets', (dtype) => {
    const bytes = encodeSafetensors(tensors, dtype, { note: 'test' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(headerText).toMatch(/^\{.*\} *$/);
    const header = JSON.parse(headerText);
    expect(header.__metadata__).toEqual({ note: 'test' });
    const elementBytes = dtype === 'F32' ? 4 : 2;
    let offset = 0;
    for (const tensor of tensors) {
      const end = offset + tensor.data.length * elementBytes;
      expect(header[tensor.name]).toEqual({ dtype, shape: tensor.shape, data_offsets: [offset, end] });
      offset = end;
    }
    expect(bytes.length).toBe(8 + headerLength + offset);
  });

  it('round-trips through decodeSafetensors, rounding only for F16 and BF16', () => {
    expect(decodeSafetensors(encodeSafetensors(tensors, 'F32')).tensors).toEqual(tensors);
    const [decodedF16] = decodeSafetensors(encodeSafetensors(tensors.slice(2, 3), 'F16')).tensors;
    const [decodedBf16] = decodeSafetensors(encodeSafetensors(tensors.slice(2, 3), 'BF16')).tensors;
    tensors[2].data.forEach((value, i) => {
      expect(decodedF16.data[i]).toBe(float16BitsToFloat32(float32ToFloat16Bits(value)));
      expect(decodedBf16.data[i]).toBe(bfloat16BitsToFloat32(float32ToBfloat16Bits(value)));
    });
  });
});

describe('encodeLegacyBin', () => {
  it('lays out count, then name length, name, ndims, dims and f32 data per tensor, little-endian', () => {
    const bytes = encodeLegacyBin([
      { name: 'a', shape: [2], data: new Float32Array([1, -2]) },
      { name: 'wé', shape: [1, 1], data: new Float32Array([0.5]) },
    ]);
    const words = (...values: number[]) => values.flatMap((value) => [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24]);
    expect(Array.from(bytes)).toEqual([
      ...words(2),
      ...words(1), 0x61, ...words(1, 2), ...words(0x3f800000, 0xc0000000),
      ...words(3), 0x77, 0xc3, 0xa9, ...words(2, 1, 1), ...words(0x3f000000),
    ]);
  });
});

describe('random weights', () => {
  const tensors = randomGpt2Tensors(SMALL_CONFIG, 1);

  it('are the same for the same seed and name, and differ otherwise', () => {
    const name = 'transformer.h.0.attn.c_attn.weight';
    expect(randomTensorData(name, [24, 72], 1)).toEqual(randomTensorData(name, [24, 72], 1));
    expect(randomTensorData(name, [24, 72], 2)).not.toEqual(randomTensorData(name, [24, 72], 1));
    expect(randomTensorData('transformer.h.1.attn.c_attn.weight', [24, 72], 1)).not.toEqual(randomTensorData(name, [24, 72], 1));
  });

  it('hold negative values in every tensor, biases away from 0 and LayerNorm weights away from 1', () => {
    for (const { name, data } of tensors) {
      expect(data.some((value) => value < 0), name).toBe(true);
      if (name.endsWith('.bias')) expect(data.filter((value) => Math.abs(value) > 0.01).length, name).toBeGreaterThan(data.length / 2);
      if (/ln_\w+\.weight$/.test(name)) expect(data.filter((value) => Math.abs(Math.abs(value) - 1) > 0.01).length, name).toBeGreaterThan(data.length / 2);
    }
  });

  it('give a model whose logits spread over several units with a clear argmax', () => {
    const logits = new ReferenceGpt2(SMALL_CONFIG, tensors).lastLogits([5, 17, 90, 3]);
    const mean = logits.reduce((sum, value) => sum + value, 0) / logits.length;
    const std = Math.sqrt(logits.reduce((sum, value) => sum + (value - mean) ** 2, 0) / logits.length);
    const [best, second] = [...logits].sort((a, b) => b - a);
    expect(std).toBeGreaterThan(1.5);
    expect(best - second).toBeGreaterThan(1e-3);
  });
});

describe('make-random-model', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'random-model-'));
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it('streams the same safetensors bytes as encodeSafetensors, F32 and F16', async () => {
    for (const dtype of ['F32', 'F16'] as const) {
      const { files } = await ensureRandomModel({ dir: join(workDir, dtype), config: SMALL_CONFIG, seed: 7, dtype });
      const inMemory = encodeSafetensors(randomGpt2Tensors(SMALL_CONFIG, 7), dtype, { format: 'pt' });
      expect(firstDifference(new Uint8Array(readFileSync(files.weights)), inMemory)).toBe(-1);
      expect(JSON.parse(readFileSync(files.config, 'utf8'))).toMatchObject({ vocab_size: 97, n_positions: 16, n_embd: 24, n_layer: 2, n_head: 3 });
    }
  });

  it('keeps a model made with the same parameters and remakes a changed or damaged one', async () => {
    const options = { dir: join(workDir, 'reuse'), config: SMALL_CONFIG, seed: 7 };
    const { files } = await ensureRandomModel(options);
    const firstWrite = statSync(files.weights).mtimeMs;
    await ensureRandomModel(options);
    expect(statSync(files.weights).mtimeMs).toBe(firstWrite);

    await ensureRandomModel({ ...options, seed: 8 });
    const seed8Bytes = encodeSafetensors(randomGpt2Tensors(SMALL_CONFIG, 8), 'F32', { format: 'pt' });
    expect(firstDifference(new Uint8Array(readFileSync(files.weights)), seed8Bytes)).toBe(-1);

    truncateSync(files.weights, 100);
    await ensureRandomModel({ ...options, seed: 8 });
    expect(firstDifference(new Uint8Array(readFileSync(files.weights)), seed8Bytes)).toBe(-1);
  });

  it('writes the legacy format from the command line', () => {
    const dir = join(workDir, 'legacy');
    const flags = ['--vocab', '97', '--ctx', '16', '--embd', '24', '--layers', '2', '--heads', '3'];
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/make-random-model.ts', ...flags, '--seed', '7', '--format', 'legacy-bin', '--out', dir], {
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(firstDifference(new Uint8Array(readFileSync(join(dir, 'gpt2_weights.bin'))), encodeLegacyBin(randomGpt2Tensors(SMALL_CONFIG, 7)))).toBe(-1);
    expect(readFileSync(join(dir, 'gpt2_config.txt'), 'utf8')).toBe(legacyConfigText(SMALL_CONFIG));
  });

  it('refuses what it cannot write', async () => {
    await expect(ensureRandomModel({ dir: workDir, config: { ...SMALL_CONFIG, nHead: 5 } })).rejects.toThrow('not a multiple of nHead');
    await expect(ensureRandomModel({ dir: workDir, config: SMALL_CONFIG, format: 'legacy-bin', dtype: 'F16' })).rejects.toThrow('F32 only');
  });
});
