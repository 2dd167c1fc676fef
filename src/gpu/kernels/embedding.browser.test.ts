// embedding.wgsl against a CPU reference: token rows of wte plus position rows of wpe, at an
// offset, with the embeddings stored as f32 and as packed f16.
import { describe, expect, it } from 'vitest';
import { embeddingKernel } from '../kernels.ts';
import type { MatrixDtype } from '../../model/weight-layout.ts';
import { matrixData, readFloats, runPass, signedRandom, stepBuffer, storageBuffer, testDevice } from '../../../test/support/gpu-harness.ts';

describe('embedding', () => {
  for (const dtype of ['f32', 'f16'] as MatrixDtype[]) {
    it(`adds token and position embeddings from position pos0 on (${dtype} embeddings)`, async () => {
      const device = await testDevice();
      const config = { vocabSize: 1001, nCtx: 40, nEmbd: 48 };
      const C = config.nEmbd;
      const kernel = embeddingKernel(device, C, dtype);
      const wte = matrixData(signedRandom(config.vocabSize * C, 1), dtype);
      const wpe = matrixData(signedRandom(config.nCtx * C, 2), dtype);
      const tokens = new Uint32Array([0, 1000, 17, 17, 523]);
      const pos0 = 33;
      const x = storageBuffer(device, new Float32Array(tokens.length * C));
      const bindGroup = kernel.bind(device, [stepBuffer(device, tokens.length, pos0), storageBuffer(device, tokens),
        storageBuffer(device, wte.data), storageBuffer(device, wpe.data), x]);
      await runPass(device, (pass) => kernel.dispatch(pass, bindGroup, tokens.length));
      const actual = await readFloats(device, x, tokens.length * C);
      const expected = Array.from(actual, (_, i) => {
        const t = Math.floor(i / C);
        const c = i % C;
        return wte.values[tokens[t] * C + c] + wpe.values[(pos0 + t) * C + c];
      });
      expect(Array.from(actual)).toEqual(expected.map(Math.fround));
    });
  }
});
