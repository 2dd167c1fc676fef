// kv-cache-write.wgsl then attention-scores and -output.wgsl against a float64 causal
// attention, both for a prompt (many queries at once: from 4 rows, the kernels' blocks of 4
// queries per thread, mainFourQueries, including partial blocks) and for a single query
// at a late position of a nearly full cache.
import { describe, expect, it } from 'vitest';
import { attentionKernels, attentionScoresLength, kvCacheWriteKernel, type KernelTuning } from '../kernels.ts';
import { maxAbsDifference, readFloats, runPass, signedRandom, stepBuffer, storageBuffer, testDevice } from '../../../test/support/gpu-harness.ts';

/** Reference: out[t, head] for queries at positions pos0.., over keys/values at positions 0..pos. */
function referenceAttention(q: Float32Array, keys: Float32Array, values: Float32Array, rows: number,
  pos0: number, C: number, H: number): Float64Array {
  const hs = C / H;
  const out = new Float64Array(rows * C);
  for (let t = 0; t < rows; t++) {
    for (let h = 0; h < H; h++) {
      const visible = pos0 + t + 1;
      const scores = Array.from({ length: visible }, (_, p) => {
        let s = 0;
        for (let j = 0; j < hs; j++) s += q[t * C + h * hs + j] * keys[p * C + h * hs + j];
        return s / Math.sqrt(hs);
      });
      const max = Math.max(...scores);
      const weights = scores.map((s) => Math.exp(s - max));
      const sum = weights.reduce((a, b) => a + b, 0);
      for (let j = 0; j < hs; j++) {
        let acc = 0;
        for (let p = 0; p < visible; p++) acc += weights[p] * values[p * C + h * hs + j];
        out[t * C + h * hs + j] = acc / sum;
      }
    }
  }
  return out;
}

async function runAttention(config: { nEmbd: number; nHead: number; nCtx: number }, rows: number, pos0: number,
  tuning: KernelTuning) {
  const device = await testDevice();
  const C = config.nEmbd;
  const kvCacheWrite = kvCacheWriteKernel(device, C);
  const attention = attentionKernels(device, config, tuning);
  // Positions before pos0 are already cached; this pass brings Q|K|V for rows more.
  const cachedKeys = signedRandom(config.nCtx * C, 1, 2);
  const cachedValues = signedRandom(config.nCtx * C, 2, 2);
  const qkv = signedRandom(rows * 3 * C, 3, 2);
  const keys = cachedKeys.slice();
  const values = cachedValues.slice();
  const q = new Float32Array(rows * C);
  for (let t = 0; t < rows; t++) {
    q.set(qkv.subarray(t * 3 * C, t * 3 * C + C), t * C);
    keys.set(qkv.subarray(t * 3 * C + C, t * 3 * C + 2 * C), (pos0 + t) * C);
    values.set(qkv.subarray(t * 3 * C + 2 * C, t * 3 * C + 3 * C), (pos0 + t) * C);
  }
  const step = stepBuffer(device, rows, pos0);
  const qkvBuffer = storageBuffer(device, qkv);
  const kCache = storageBuffer(device, cachedKeys);
  const vCache = storageBuffer(device, cachedValues);
  const out = storageBuffer(device, new Float32Array(rows * C));
  // Stale values where the kernels must not look: past each query's position.
  const scores = storageBuffer(device, new Float32Array(attentionScoresLength(config)).fill(1e30));
  const write = kvCacheWrite.bind(device, [step, qkvBuffer, kCache, vCache]);
  const score = attention.scores.bind(device, [step, qkvBuffer, kCache, scores]);
  const output = attention.output.bind(device, [step, scores, vCache, out]);
  await runPass(device, (pass) => {
    kvCacheWrite.dispatch(pass, write, rows);
    attention.scores.dispatch(pass, score, rows, pos0);
    attention.output.dispatch(pass, output, rows);
  });
  expect(await readFloats(device, kCache, config.nCtx * C)).toEqual(keys);
  expect(await readFloats(device, vCache, config.nCtx * C)).toEqual(values);
  return maxAbsDifference(await readFloats(device, out, rows * C), referenceAttention(q, keys, values, rows, pos0, C, config.nHead));
}

// The variants differ in workgroup size only, which decides how a dispatch's threads are split.
const tunings: [string, KernelTuning][] = [
  ['software adapter', { softwareAdapter: true, subgroups: true, subgroupMinSize: 4, shaderF16: false }],
  ['GPU', { softwareAdapter: false, subgroups: true, subgroupMinSize: 32, shaderF16: false }],
];

describe('attention over the KV cache', () => {
  for (const [tuningName, tuning] of tunings) {
    it(`${tuningName}: prompt: 37 queries from position 0, head size 16`, async () => {
      expect(await runAttention({ nEmbd: 48, nHead: 3, nCtx: 64 }, 37, 0, tuning)).toBeLessThan(1e-5);
    });
    it(`${tuningName}: continuation: 5 queries after 20 cached positions`, async () => {
      expect(await runAttention({ nEmbd: 48, nHead: 3, nCtx: 64 }, 5, 20, tuning)).toBeLessThan(1e-5);
    });
    it(`${tuningName}: decode: one query at the last position of a 1024 context, head size 64`, async () => {
      expect(await runAttention({ nEmbd: 128, nHead: 2, nCtx: 1024 }, 1, 1023, tuning)).toBeLessThan(1e-5);
    });
    it(`${tuningName}: a 300-token prompt: more positions than one workgroup of the scores kernel covers`, async () => {
      expect(await runAttention({ nEmbd: 64, nHead: 4, nCtx: 320 }, 300, 0, tuning)).toBeLessThan(1e-5);
    });
    it(`${tuningName}: head size 80, 2 queries`, async () => {
      expect(await runAttention({ nEmbd: 160, nHead: 2, nCtx: 32 }, 2, 10, tuning)).toBeLessThan(1e-5);
    });
    it(`${tuningName}: 3 queries, one fewer than a block, after 9 cached positions`, async () => {
      expect(await runAttention({ nEmbd: 48, nHead: 3, nCtx: 64 }, 3, 9, tuning)).toBeLessThan(1e-5);
    });
    it(`${tuningName}: one block of 4 queries after 9 cached positions, head size 80`, async () => {
      expect(await runAttention({ nEmbd: 160, nHead: 2, nCtx: 32 }, 4, 9, tuning)).toBeLessThan(1e-5);
    });
  }
});
