// embedding.wgsl against a CPU reference: token rows of wte plus position rows of wpe, at an offset.
import { expect, it } from 'vitest';
import { Gpt2Kernels } from '../kernels.ts';
import { readFloats, runPass, signedRandom, stepBuffer, storageBuffer, testDevice } from '../../../test/support/gpu-harness.ts';

it('adds token and position embeddings from position pos0 on', async () => {
  const device = await testDevice();
  const config = { vocabSize: 1001, nCtx: 40, nEmbd: 48, nLayer: 1, nHead: 3 };
  const C = config.nEmbd;
  const kernels = new Gpt2Kernels(device, config);
  const wte = signedRandom(config.vocabSize * C, 1);
  const wpe = signedRandom(config.nCtx * C, 2);
  const tokens = new Uint32Array([0, 1000, 17, 17, 523]);
  const pos0 = 33;
  const x = storageBuffer(device, new Float32Array(tokens.length * C));
  const bindGroup = kernels.embedding.bind(device, [stepBuffer(device, tokens.length, pos0), storageBuffer(device, tokens),
    storageBuffer(device, wte), storageBuffer(device, wpe), x]);
  await runPass(device, (pass) => kernels.embedding.dispatch(pass, bindGroup, Math.ceil((tokens.length * C) / 64)));
  const actual = await readFloats(device, x, tokens.length * C);
  const expected = Array.from(actual, (_, i) => {
    const t = Math.floor(i / C);
    const c = i % C;
    return wte[tokens[t] * C + c] + wpe[(pos0 + t) * C + c];
  });
  expect(Array.from(actual)).toEqual(expected.map(Math.fround));
});
