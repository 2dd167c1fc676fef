// The engine on a model unlike the fixture: head_dim 64, an odd vocabulary (1001, no tile size
// divides it), 3 layers, no `transformer.` prefix, loaded from File objects the way a user's
// picked files arrive; on both backends. The expected results come from the float64 reference
// implementation in this test (test/support/reference-gpt2.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeSafetensors, hfConfigJson, legacyConfigText, encodeLegacyBin, float16BitsToFloat32, float32ToFloat16Bits, randomGpt2Tensors,
} from '../../scripts/model-files.ts';
import type { Gpt2Config } from '../../src/model/config.ts';
import type { LoadOptions } from '../../src/worker/engine-api.ts';
import { startEngine, type EngineClient } from '../../src/worker/engine-client.ts';
import { maxAbsDifference } from '../support/gpu-harness.ts';
import { ReferenceGpt2 } from '../support/reference-gpt2.ts';

const config: Gpt2Config = { vocabSize: 1001, nCtx: 64, nEmbd: 128, nLayer: 3, nHead: 2 };
const tensors = randomGpt2Tensors(config, 2026, { prefix: '' });
const reference = new ReferenceGpt2(config, tensors);
// With f16 matrices the engine computes with every rank-2 tensor rounded to f16 (vectors stay f32):
// the same model, exactly, for the reference.
const f16Reference = new ReferenceGpt2(config, tensors.map((tensor) => tensor.shape.length !== 2 ? tensor : {
  ...tensor,
  data: tensor.data.map((value) => float16BitsToFloat32(float32ToFloat16Bits(value))),
}));
const prompt = [1000, 3, 517, 999, 42, 0, 250];

const safetensorsFiles = () => [
  new File([encodeSafetensors(tensors) as Uint8Array<ArrayBuffer>], 'odd-shape.safetensors'),
  new File([hfConfigJson(config)], 'config.json'),
];
const legacyBinFiles = () => [
  new File([encodeLegacyBin(tensors) as Uint8Array<ArrayBuffer>], 'gpt2_weights.bin'),
  new File([legacyConfigText(config)], 'gpt2_config.txt'),
];

const variants: [string, () => File[], LoadOptions, ReferenceGpt2][] = [
  ['WebGPU, safetensors, f32 matrices', safetensorsFiles, { backend: 'webgpu', weightsDtype: 'f32' }, reference],
  ['WebGPU, legacy bin, f32 matrices', legacyBinFiles, { backend: 'webgpu', weightsDtype: 'f32' }, reference],
  ['WebGPU, safetensors, f16 matrices', safetensorsFiles, { backend: 'webgpu', weightsDtype: 'f16' }, f16Reference],
  ['CPU, safetensors, f32 matrices', safetensorsFiles, { backend: 'cpu', weightsDtype: 'f32' }, reference],
  ['CPU, legacy bin, f32 matrices', legacyBinFiles, { backend: 'cpu', weightsDtype: 'f32' }, reference],
  ['CPU, safetensors, f16 matrices', safetensorsFiles, { backend: 'cpu', weightsDtype: 'f16' }, f16Reference],
];

for (const [name, files, options, expected] of variants) {
  describe(`a 3-layer, head_dim 64, vocab 1001 model (${name})`, () => {
    let engine: EngineClient;
    beforeAll(async () => {
      engine = startEngine();
      const info = await engine.load({ kind: 'files', name, files: files() }, options);
      expect(info.config).toEqual(config);
      expect(info.weightsDtype).toBe(options.weightsDtype);
      expect(info.backend).toBe(options.backend);
    });
    afterAll(() => engine?.terminate());

    it('matches the CPU reference logits and argmax at every position', async () => {
      const { logits, argmax } = await engine.api.logits(prompt, { allPositions: true });
      expect(maxAbsDifference(logits, expected.lastLogits(prompt))).toBeLessThan(1e-3);
      expect(argmax).toEqual(expected.argmaxPerPosition(prompt));
    });

    it('greedy decoding through the KV cache matches, up to the end of the context', async () => {
      const count = config.nCtx - prompt.length;
      expect(await engine.api.greedy(prompt, count)).toEqual(expected.greedy(prompt, count));
    });
  });
}
