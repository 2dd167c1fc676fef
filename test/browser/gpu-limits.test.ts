// A device caps the bytes of one buffer, and a model whose largest weight tensor is over that cap
// cannot run. Whether it fits is known from the config alone, so the engine refuses such a model
// before reading any weight, says what would fit, and keeps working. Checked against real WebGPU
// devices: one requested with WebGPU's default limits (128 MiB per storage binding, less than
// GPT-2 124M's f32 token embedding), and the engine's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hfConfigJson } from '../../scripts/model-files.ts';
import parserWasmUrl from '../../src/generated/weights-parser.wasm?url';
import { bufferLimit, bufferLimitReason, largestWeightBytes } from '../../src/gpu/gpu-weights.ts';
import type { Gpt2Config } from '../../src/model/config.ts';
import type { MatrixDtype } from '../../src/model/weight-layout.ts';
import { MODEL_CATALOG } from '../../src/models/catalog.ts';
import type { ModelSource } from '../../src/worker/engine-api.ts';
import { startEngine, type EngineClient } from '../../src/worker/engine-client.ts';
import { WeightsParser } from '../../src/weights/weights-parser.ts';

const catalogConfig = (id: string): Gpt2Config => MODEL_CATALOG.find((entry) => entry.id === id)!.config;
const gpt2 = catalogConfig('gpt2');
const gpt2Large = catalogConfig('gpt2-large');
const gpt2Xl = catalogConfig('gpt2-xl');
const MiB = 2 ** 20;

/** Whether `device` accepts a storage buffer of `bytes` bound whole, as the engine binds each weight. */
async function canBindStorage(device: GPUDevice, bytes: number): Promise<boolean> {
  device.pushErrorScope('validation');
  const buffer = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE });
  const layout = device.createBindGroupLayout({
    entries: [{ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } }],
  });
  device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer } }] });
  const error = await device.popErrorScope();
  buffer.destroy();
  return error === null;
}

describe('the largest weight buffer a model needs', () => {
  const shapes: [string, Gpt2Config][] = [
    ['GPT-2 124M (the token embedding is largest)', gpt2],
    ['a wide model with a small vocabulary (c_fc is largest)', { vocabSize: 101, nCtx: 16, nEmbd: 128, nLayer: 1, nHead: 2 }],
    ['a long, narrow model (the position embedding is largest)', { vocabSize: 33, nCtx: 512, nEmbd: 24, nLayer: 1, nHead: 3 }],
    ['an odd element count (f16 pads half a word)', { vocabSize: 1001, nCtx: 7, nEmbd: 9, nLayer: 1, nHead: 3 }],
  ];
  for (const [name, config] of shapes) {
    for (const dtype of ['f32', 'f16'] as MatrixDtype[]) {
      it(`is the parser's largest slot: ${name}, ${dtype}`, async () => {
        const parser = await WeightsParser.create(await WebAssembly.compileStreaming(fetch(parserWasmUrl)));
        parser.configFromJson(new TextEncoder().encode(hfConfigJson(config)));
        const slots = parser.beginModel(dtype);
        expect(largestWeightBytes(config, dtype)).toBe(Math.max(...slots.map((slot) => slot.byteLength)));
      });
    }
  }
});

describe('a device with WebGPU default limits', () => {
  let device: GPUDevice;
  beforeAll(async () => {
    const adapter = await navigator.gpu.requestAdapter();
    device = await adapter!.requestDevice();
  });
  afterAll(() => device?.destroy());

  it('cannot bind GPT-2 124M\'s f32 token embedding, and the message says what fits instead', async () => {
    expect(device.limits.maxStorageBufferBindingSize).toBe(128 * MiB);
    // The device itself agrees with the check: 124M's f32 wte (50257 × 768 × 4 bytes) is refused.
    expect(await canBindStorage(device, largestWeightBytes(gpt2, 'f32'))).toBe(false);
    expect(await canBindStorage(device, largestWeightBytes(gpt2, 'f16'))).toBe(true);

    const reason = bufferLimitReason(gpt2, 'f32', device.limits);
    expect(reason).toContain('this model needs GPU buffers of 147 MiB but this GPU allows at most 128 MiB per buffer');
    expect(reason).toContain('it fits with f16 weights (choose f16 in the settings)');
    // GPT-2 Large's f16 wte (50257 × 1280 × 2 bytes) is just under 128 MiB; XL's is over.
    expect(reason).toContain('The largest model that fits this GPU is GPT-2 Large (774M), with f16 weights.');
    expect(bufferLimitReason(gpt2, 'f16', device.limits)).toBeNull();
  });

  it('holds GPT-2 Large with f16 weights but not XL, as the check says', async () => {
    expect(await canBindStorage(device, largestWeightBytes(gpt2Large, 'f16'))).toBe(true);
    expect(bufferLimitReason(gpt2Large, 'f16', device.limits)).toBeNull();
    expect(await canBindStorage(device, largestWeightBytes(gpt2Xl, 'f16'))).toBe(false);
    const reason = bufferLimitReason(gpt2Xl, 'f16', device.limits);
    expect(reason).toContain('needs GPU buffers of 153 MiB');
    expect(reason).not.toContain('it fits with f16 weights');
    expect(reason).toContain('The largest model that fits this GPU is GPT-2 Large (774M), with f16 weights.');
  });
});

it('says so when no catalog model fits at all', () => {
  // DistilGPT-2, the smallest, has the same 50257 × 768 token embedding as GPT-2 124M: 74 MiB as f16.
  const reason = bufferLimitReason(gpt2, 'f16', { maxStorageBufferBindingSize: 64 * MiB, maxBufferSize: 256 * MiB });
  expect(reason).toContain('this model needs GPU buffers of 74 MiB but this GPU allows at most 64 MiB per buffer');
  expect(reason).toContain('No catalog model fits this GPU either (even DistilGPT-2 (82M) needs 74 MiB with f16 weights)');
});

describe('the engine, given a model too large for its device', () => {
  const fixtureUrl = (file: string) => new URL(`/test-models/tiny-gpt2/${file}`, location.href).href;
  const tinyModel = (weights: string): ModelSource => ({ kind: 'url', name: weights, configUrl: fixtureUrl('config.json'), weightsUrl: fixtureUrl(weights) });
  // 262000 × 4096 f32 is just under the 4 GiB the parser accepts for one tensor, and over what
  // WebGPU devices allow in one buffer (SwiftShader allows 1 GiB).
  const huge: Gpt2Config = { vocabSize: 262_000, nCtx: 1024, nEmbd: 4096, nLayer: 1, nHead: 64 };
  // The config and an empty weights file: the check must come before any weight is read, or the
  // parser would complain about the empty file instead.
  const hugeModel = (): ModelSource => ({
    kind: 'files',
    name: 'huge.safetensors',
    files: [new File([hfConfigJson(huge)], 'config.json'), new File([], 'huge.safetensors')],
  });
  const prompt = [464, 3290, 318];
  let engine: EngineClient;
  let limits: GPUSupportedLimits;
  beforeAll(async () => {
    engine = startEngine();
    // The engine asks for the adapter's own buffer limits.
    limits = (await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' }))!.limits;
  });
  afterAll(() => engine?.terminate());

  it('refuses it from the config alone, naming the largest catalog model that fits, and keeps the loaded model', async () => {
    const tiny = await engine.load(tinyModel('model.safetensors'), { backend: 'webgpu', weightsDtype: 'f32' });
    const before = await engine.api.logits(prompt);
    expect(largestWeightBytes(huge, 'f16')).toBeGreaterThan(bufferLimit(limits));
    expect(largestWeightBytes(gpt2Xl, 'f32')).toBeLessThanOrEqual(bufferLimit(limits));

    const refused = engine.load(hugeModel(), { backend: 'webgpu', weightsDtype: 'f32' });
    await expect(refused).rejects.toThrow(bufferLimitReason(huge, 'f32', limits)!);
    await expect(refused).rejects.toThrow(/allows at most \d+ MiB per buffer; The largest model that fits this GPU is GPT-2 XL \(1\.5B\), with f32 or f16 weights\./);

    expect((await engine.api.stats()).model).toEqual(tiny);
    expect((await engine.api.logits(prompt)).logits).toEqual(before.logits);
  });

  it('loads another model afterwards', async () => {
    const info = await engine.load(tinyModel('model.f16.safetensors'), { backend: 'webgpu', weightsDtype: 'f16' });
    expect(info.name).toBe('model.f16.safetensors');
    expect(await engine.api.greedy(prompt, 4)).toHaveLength(4);
  });
});
