// Loads the tiny-gpt2 fixture files through loadWeights and checks every slot against an
// independent reading of the same file.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWeights } from '../../src/weights/load-weights.ts';
import type { WeightsParser } from '../../src/weights/weights-parser.ts';
import {
  MemorySink,
  TINY_CONFIG,
  createParser,
  differingSlots,
  encodeLegacyBin,
  expectedSlots,
  fixture,
  halfToFloat,
  load,
  memoryFile,
  readLegacyBin,
  readSafetensors,
  splitSafetensors,
} from './weights-helpers.ts';

const MiB = 1 << 20;

let parser: WeightsParser;
const f32File = fixture('model.safetensors');
const f16File = fixture('model.f16.safetensors');
const legacyFile = fixture('gpt2_weights.bin');
const configJson = { format: 'json' as const, bytes: fixture('config.json') };
const configText = { format: 'text' as const, bytes: fixture('gpt2_config.txt') };

beforeAll(async () => {
  parser = await createParser();
});

describe('F32 safetensors fixture', () => {
  it('writes every slot exactly once, with the layout weight-layout.ts describes', async () => {
    const { config, sink } = await load(parser, { format: 'safetensors', config: configJson, files: [memoryFile('model.safetensors', f32File)] });
    expect(config).toEqual(TINY_CONFIG);
    expect(sink.allocateCalls).toBe(1);
    expect(sink.slots).toHaveLength(4 + 12 * 2);
    expect(sink.slots[0]).toEqual({ kind: 0, layer: -1, rows: 50257, cols: 64, dtype: 'f32', byteLength: 50257 * 64 * 4 });
    expect(sink.slots[4 + 12 + 2]).toEqual({ kind: 6, layer: 1, rows: 192, cols: 64, dtype: 'f32', byteLength: 192 * 64 * 4 });
    expect(sink.slots[4 + 3]).toEqual({ kind: 7, layer: 0, rows: 1, cols: 192, dtype: 'f32', byteLength: 192 * 4 });
    expect(sink.coverageProblems()).toEqual([]);
  });

  it('transposes c_attn element by element against the raw file', async () => {
    const { sink } = await load(parser, { format: 'safetensors', config: configJson, files: [memoryFile('model.safetensors', f32File)] });
    const { header, data } = splitSafetensors(f32File);
    const entry = header['transformer.h.1.attn.c_attn.weight'];
    expect(entry.shape).toEqual([64, 192]);
    const raw = new DataView(data.buffer, data.byteOffset + entry.data_offsets[0]);
    const slot = new Float32Array(sink.data[4 + 12 + 2].buffer);
    for (let out = 0; out < 192; out++) {
      for (let input = 0; input < 64; input++) {
        if (slot[out * 64 + input] !== raw.getFloat32((input * 192 + out) * 4, true)) {
          throw new Error(`qkv[${out}][${input}] differs`);
        }
      }
    }
  });

  it('matches the reference for every slot, in f32 and f16', async () => {
    const tensors = readSafetensors(f32File);
    for (const dtype of ['f32', 'f16'] as const) {
      const { sink } = await load(parser, { format: 'safetensors', config: configJson, files: [memoryFile('model.safetensors', f32File)] }, dtype);
      expect(sink.coverageProblems()).toEqual([]);
      expect(differingSlots(sink.data, expectedSlots(TINY_CONFIG, tensors, dtype))).toEqual([]);
    }
  });

  it('gives identical slots for 7-byte, 1 MiB and whole-file chunks', async () => {
    const results = [];
    for (const chunk of [7, MiB, f32File.length]) {
      const { sink } = await load(parser, { format: 'safetensors', config: configJson, files: [memoryFile('model.safetensors', f32File, chunk)] }, 'f16');
      expect(sink.coverageProblems()).toEqual([]);
      results.push(sink.data);
    }
    expect(differingSlots(results[0], results[2])).toEqual([]);
    expect(differingSlots(results[1], results[2])).toEqual([]);
  });
});

describe('F16 safetensors fixture', () => {
  it('widens exactly into f32 slots', async () => {
    const { sink } = await load(parser, { format: 'safetensors', config: configJson, files: [memoryFile('model.f16.safetensors', f16File)] });
    expect(sink.coverageProblems()).toEqual([]);
    const { header, data } = splitSafetensors(f16File);
    const entry = header['transformer.wte.weight'];
    expect(entry.dtype).toBe('F16');
    const halves = new Uint16Array(data.slice(entry.data_offsets[0], entry.data_offsets[1]).buffer);
    const wte = new Float32Array(sink.data[0].buffer);
    for (let i = 0; i < halves.length; i++) {
      if (wte[i] !== halfToFloat(halves[i])) throw new Error(`wte[${i}]: ${wte[i]} != ${halfToFloat(halves[i])}`);
    }
    expect(differingSlots(sink.data, expectedSlots(TINY_CONFIG, readSafetensors(f16File), 'f32'))).toEqual([]);
  });

  it('copies the halves unchanged into f16 slots (transposed where needed)', async () => {
    const { sink } = await load(parser, { format: 'safetensors', config: configJson, files: [memoryFile('model.f16.safetensors', f16File)] }, 'f16');
    expect(sink.coverageProblems()).toEqual([]);
    expect(sink.slots[0].byteLength).toBe(50257 * 64 * 2);
    expect(sink.slots[2]).toMatchObject({ dtype: 'f32', byteLength: 64 * 4 });
    const { header, data } = splitSafetensors(f16File);
    const wpe = header['transformer.wpe.weight'];
    expect(sink.data[1]).toEqual(data.slice(wpe.data_offsets[0], wpe.data_offsets[1]));
    expect(differingSlots(sink.data, expectedSlots(TINY_CONFIG, readSafetensors(f16File), 'f16'))).toEqual([]);
  });
});

describe('legacy gpt2_weights.bin fixture', () => {
  it('gives the same slots as the F32 safetensors', async () => {
    const legacy = await load(parser, { format: 'legacy-bin', config: configText, files: [memoryFile('gpt2_weights.bin', legacyFile)] });
    const safetensors = await load(parser, { format: 'safetensors', config: configJson, files: [memoryFile('model.safetensors', f32File)] });
    expect(legacy.config).toEqual(TINY_CONFIG);
    expect(legacy.sink.coverageProblems()).toEqual([]);
    expect(legacy.sink.slots).toEqual(safetensors.sink.slots);
    expect(differingSlots(legacy.sink.data, safetensors.sink.data)).toEqual([]);
    expect(differingSlots(legacy.sink.data, expectedSlots(TINY_CONFIG, readLegacyBin(legacyFile), 'f32'))).toEqual([]);
  });

  it('skips the mask buffers of an export from an old checkpoint: [1, 1, ctx, ctx] attn.bias and 0-dimensional attn.masked_bias', async () => {
    const { nCtx, nLayer } = TINY_CONFIG;
    const causalMask = new Float32Array(nCtx * nCtx).map((_, i) => (i % nCtx <= Math.floor(i / nCtx) ? 1 : 0));
    const withBuffers = readLegacyBin(legacyFile).flatMap((tensor) => {
      const layer = /^transformer\.h\.(\d+)\.ln_1\.bias$/.exec(tensor.name)?.[1];
      if (layer === undefined) return [tensor];
      // Where HF's state dict has them: after ln_1, before c_attn.
      return [
        tensor,
        { name: `transformer.h.${layer}.attn.bias`, dtype: 'F32', shape: [1, 1, nCtx, nCtx], bytes: new Uint8Array(causalMask.buffer) },
        { name: `transformer.h.${layer}.attn.masked_bias`, dtype: 'F32', shape: [], bytes: new Uint8Array(Float32Array.of(-1e4).buffer) },
      ];
    });
    expect(withBuffers.filter((tensor) => tensor.shape.length === 0)).toHaveLength(nLayer);
    const exported = encodeLegacyBin(withBuffers);
    const legacy = await load(parser, { format: 'legacy-bin', config: configText, files: [memoryFile('gpt2_weights.bin', exported, 4093)] });
    const safetensors = await load(parser, { format: 'safetensors', config: configJson, files: [memoryFile('model.safetensors', f32File)] });
    expect(legacy.sink.coverageProblems()).toEqual([]);
    expect(differingSlots(legacy.sink.data, safetensors.sink.data)).toEqual([]);
  });

  it('gives identical f16 slots for odd-sized and 1 MiB chunks', async () => {
    const small = await load(parser, { format: 'legacy-bin', config: configText, files: [memoryFile('gpt2_weights.bin', legacyFile, 4093)] }, 'f16');
    const large = await load(parser, { format: 'legacy-bin', config: configText, files: [memoryFile('gpt2_weights.bin', legacyFile, MiB)] }, 'f16');
    expect(small.sink.coverageProblems()).toEqual([]);
    expect(differingSlots(small.sink.data, large.sink.data)).toEqual([]);
  });
});

it('reports progress up to the file size and keeps WASM memory far below the file size', async () => {
  const progress: number[] = [];
  const sink = new MemorySink();
  await loadWeights(parser, { format: 'safetensors', config: configJson, files: [memoryFile('model.safetensors', f32File, MiB)] }, sink, {
    matrixDtype: 'f32',
    onProgress: (bytesRead, totalBytes) => {
      expect(totalBytes).toBe(f32File.length);
      progress.push(bytesRead);
    },
  });
  expect(progress.at(-1)).toBe(f32File.length);
  expect(progress).toEqual([...progress].sort((a, b) => a - b));
  expect(parser.memoryBytes).toBeLessThan(8 * MiB);
});
