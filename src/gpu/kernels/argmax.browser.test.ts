// argmax.wgsl: the largest logit per row, ties to the lowest index, all-negative rows, odd vocab.
import { expect, it } from 'vitest';
import { argmaxKernel } from '../kernels.ts';
import { readUints, runPass, signedRandom, stepBuffer, storageBuffer, testDevice } from '../../../test/support/gpu-harness.ts';

it('finds the first maximum of every row', async () => {
  const device = await testDevice();
  const vocab = 50257;
  const argmax = argmaxKernel(device, vocab);
  const rows = 4;
  const logits = signedRandom(rows * vocab, 9, 10);
  logits[0 * vocab + 50256] = 11; // the very last entry
  logits[1 * vocab + 7] = 12; // a tie: the lower index wins
  logits[1 * vocab + 4000] = 12;
  for (let v = 0; v < vocab; v++) logits[2 * vocab + v] = -1000 - v; // all negative: index 0
  logits[3 * vocab + 31337] = 10.5;
  const expected = [50256, 7, 0, 31337];
  const result = storageBuffer(device, new Uint32Array(rows));
  const bindGroup = argmax.bind(device, [stepBuffer(device, rows), storageBuffer(device, logits), result]);
  await runPass(device, (pass) => argmax.dispatch(pass, bindGroup, rows));
  expect(Array.from(await readUints(device, result, rows))).toEqual(expected);
});
