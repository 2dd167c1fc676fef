// top-tokens.wgsl: each row's top tokens, their log-probabilities and a target's, against a float64
// computation over the same f32 logits; ties, NaN, −∞, the best at the very end of a row, and
// several rows in one dispatch.
import { expect, it } from 'vitest';
import { TOP_TOKENS } from '../../model/gpt2-model.ts';
import { TOP_TOKENS_BYTES, topTokensAt, topTokensKernel } from '../kernels.ts';
import { readFloats, readUints, runPass, signedRandom, stepBuffer, storageBuffer, testDevice } from '../../../test/support/gpu-harness.ts';

const VOCAB = 50257;

/** The float64 summary of one row: ranked by value, ties to the lower id, NaN below everything
 *  (and, like −∞, of probability 0); log-probabilities against the log-sum-exp of the rest. */
function expectedSummary(row: Float32Array, target: number) {
  const rank = (value: number) => (Number.isNaN(value) ? -Infinity : value);
  const ids = Array.from(row.keys()).sort((a, b) => {
    if (Number.isNaN(row[a]) !== Number.isNaN(row[b])) return Number.isNaN(row[a]) ? 1 : -1;
    return rank(row[b]) - rank(row[a]) || a - b;
  }).slice(0, TOP_TOKENS);
  const numbers = row.filter((value) => !Number.isNaN(value));
  const max = numbers.reduce((best, value) => Math.max(best, value), -Infinity);
  const logSumExp = max + Math.log(numbers.reduce((sum, value) => sum + Math.exp(value - max), 0));
  return { ids, logprobs: ids.map((id) => row[id] - logSumExp), targetLogprob: row[target] - logSumExp };
}

/** Equal to within `tolerance`, or the same non-finite value. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string) {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Number.isFinite(expected[i])) expect(Math.abs(actual[i] - expected[i]), `${what} [${i}]`).toBeLessThan(tolerance);
    else expect(actual[i], `${what} [${i}]`).toBe(expected[i]);
  }
}

it('ranks every row as argmax does and gives log-probabilities as a float64 softmax', async () => {
  const device = await testDevice();
  const kernel = topTokensKernel(device, VOCAB);
  const rows = 6;
  const logits = signedRandom(rows * VOCAB, 23, 10);
  const row = (r: number) => logits.subarray(r * VOCAB, (r + 1) * VOCAB);
  const targets = new Uint32Array([17, 50256, 4000, 5, 2, 1234]);

  // The best at the very end of the row, ascending: every one displaces its thread's previous best.
  for (let i = 0; i < 30; i++) row(0)[VOCAB - 30 + i] = 11 + i / 8;
  // Ties, within one thread's slice (ids 256 apart) and across threads, more than TOP_TOKENS of
  // them: the lower ids win, in order.
  for (const id of [50256, 40000, 9, 265, 521, 10, 8, 3000, 31337, 777, 778, 1033, 2, 50000, 12345, 20000, 256, 0, 4000, 4001, 4002, 257, 6, 99, 100]) {
    row(1)[id] = 12;
  }
  // NaN, where it would be the best, and −∞: neither ranks above a number, neither adds probability.
  for (let id = 0; id < VOCAB; id += 97) row(2)[id] = NaN;
  for (let id = 5; id < VOCAB; id += 101) row(2)[id] = -Infinity;
  row(2)[4000] = -Infinity; // a target of probability 0
  // All far below zero, the best first: log Σ exp must not underflow to log 0.
  for (let v = 0; v < VOCAB; v++) row(3)[v] = -1000 - v;
  // Fewer numbers than TOP_TOKENS: the numbers, then −∞ (lower ids first), then NaN.
  row(4).fill(NaN);
  row(4)[30000] = 1;
  row(4)[2] = -3;
  row(4)[50256] = 0.5;
  row(4)[7] = -Infinity;
  row(4)[3] = -Infinity;
  // Huge logits: exp(logit) alone would overflow f32.
  for (let v = 0; v < VOCAB; v++) row(5)[v] = 200 + row(5)[v];

  const summaries = storageBuffer(device, new Uint32Array(rows * TOP_TOKENS_BYTES / 4));
  const targetLogprobs = storageBuffer(device, new Float32Array(rows));
  const bindGroup = kernel.bind(device, [stepBuffer(device, rows), storageBuffer(device, logits), storageBuffer(device, targets), summaries, targetLogprobs]);
  await runPass(device, (pass) => kernel.dispatch(pass, bindGroup, rows));
  const actual = (await readUints(device, summaries, rows * TOP_TOKENS_BYTES / 4)).buffer as ArrayBuffer;
  const actualTargets = await readFloats(device, targetLogprobs, rows);

  for (let r = 0; r < rows; r++) {
    const expected = expectedSummary(row(r), targets[r]);
    const summary = topTokensAt(actual, r * TOP_TOKENS_BYTES);
    expect(Array.from(summary.ids), `row ${r} ids`).toEqual(expected.ids);
    // f32 logits of up to |1000|, against a log-sum-exp computed in f32: a few ulps of 1000.
    expectClose(summary.logprobs, expected.logprobs, 1e-4, `row ${r} log-probabilities`);
    expectClose([actualTargets[r]], [expected.targetLogprob], 1e-4, `row ${r} target`);
  }
  // The cases above are what they claim to be.
  expect(topTokensAt(actual, 0).ids[0]).toBe(VOCAB - 1);
  expect(Array.from(topTokensAt(actual, TOP_TOKENS_BYTES).ids).slice(0, 4)).toEqual([0, 2, 6, 8]);
  expect(actualTargets[2]).toBe(-Infinity);
  expect(Array.from(topTokensAt(actual, 4 * TOP_TOKENS_BYTES).ids).slice(0, 7)).toEqual([30000, 50256, 2, 3, 7, 0, 1]);
});
