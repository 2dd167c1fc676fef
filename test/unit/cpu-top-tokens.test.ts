// The CPU backend's summary of the next-token distribution (issue #23): the top-tokens and
// logSumExp kernels on crafted rows against plain float64 computations, then inspect and
// decodeGreedyTop on the tiny fixture against the float64 reference model.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../scripts/model-files.ts';
import { CpuMemory } from '../../src/cpu/cpu-memory.ts';
import type { CpuWeightsDtype } from '../../src/cpu/cpu-weights.ts';
import { loadCpuModel, type LoadedCpuModel } from '../../src/cpu/load-cpu-model.ts';
import { TOP_TOKENS, type TopTokens } from '../../src/model/gpt2-model.ts';
import type { ExpectedCase } from '../support/fixture-expected.ts';
import { ReferenceGpt2 } from '../support/reference-gpt2.ts';
import { FIXTURES, TINY_CONFIG, createParser, fixture, memoryFile } from './weights-helpers.ts';
import { randomValues } from '../support/random-values.ts';

const kernels = new WebAssembly.Module(readFileSync('src/generated/cpu-kernels.wasm'));
const cases: ExpectedCase[] = JSON.parse(readFileSync(`${FIXTURES}/expected.json`, 'utf8')).cases;
const VOCAB = TINY_CONFIG.vocabSize;

/** log Σ exp(values) in float64, shifted by the largest. */
function logSumExp(values: ArrayLike<number>): number {
  let largest = -Infinity;
  for (let i = 0; i < values.length; i++) largest = Math.max(largest, values[i]);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i] - largest);
  return largest + Math.log(sum);
}

/** Every id that is not NaN, by value (largest first), equal values by id: the order topTokens promises. */
function rankedIds(values: ArrayLike<number>): number[] {
  const ids = Array.from({ length: values.length }, (_, id) => id).filter((id) => !Number.isNaN(values[id]));
  return ids.sort((a, b) => values[b] - values[a] || a - b);
}

describe('top-tokens kernels', () => {
  let cpu: CpuMemory;
  beforeEach(async () => {
    cpu = await CpuMemory.create(kernels, { shared: false });
  });

  function put(values: Float32Array): number {
    const address = cpu.allocate(values.byteLength, 'test row');
    cpu.floats(address, values.length).set(values);
    return address;
  }

  /** topTokens on `row` for `k`: the ids and log-probabilities it wrote. */
  function topTokens(row: Float32Array, k = TOP_TOKENS): { ids: number[]; logprobs: number[] } {
    const ids = cpu.allocate(k * 4, 'ids');
    const logprobs = cpu.allocate(k * 4, 'logprobs');
    const listed = cpu.kernels.topTokens(put(row), row.length, k, ids, logprobs);
    return {
      ids: Array.from(new Uint32Array(cpu.memory.buffer, ids, listed)),
      logprobs: Array.from(cpu.floats(logprobs, listed)),
    };
  }

  it('logSumExp matches float64 on random 50257-wide rows to within one f32 step of the result', () => {
    // An offset of 500 would overflow exp without the shift; a spread of 200 puts most terms
    // below f32's smallest normal, where the kernel's exp is clamped. One step of f32 (2^-23
    // relative, rounding alone takes half) leaves the sum and its exp ~1e-7 relative between them.
    const rows = [
      { scale: 1, offset: 0 }, { scale: 10, offset: -3 }, { scale: 100, offset: 0 }, { scale: 4, offset: 500 }, { scale: 4, offset: -500 },
    ];
    rows.forEach(({ scale, offset }, seed) => {
      const row = randomValues(VOCAB, seed + 1, scale).map((x) => x + offset);
      const expected = logSumExp(row);
      const f32Step = 2 ** (Math.floor(Math.log2(Math.abs(expected))) - 23);
      const actual = cpu.kernels.logSumExp(put(row), row.length);
      expect(Math.abs(actual - expected), `scale ${scale}, offset ${offset}`).toBeLessThanOrEqual(f32Step);
    });
    // exp's worst case: every shifted logit half a ln 2 from a multiple of ln 2, the edge of its
    // range reduction, where a polynomial one term short is off by 2e-6 relative.
    // Logit 0 is the largest, so the shift is 0.
    const edges = Float32Array.from({ length: VOCAB }, (_, i) => i === 0 ? 0 : -(i % 30 + 1) * Math.LN2 + (i % 2 ? 0.3465 : -0.3465));
    const expected = logSumExp(edges);
    expect(Math.abs(cpu.kernels.logSumExp(put(edges), VOCAB) - expected)).toBeLessThanOrEqual(2 ** (Math.floor(Math.log2(expected)) - 23));
  });

  it('logSumExp reads the tail past the last multiple of 4, and every length up to 9', () => {
    for (let length = 1; length <= 9; length++) {
      const row = randomValues(length, 40 + length, 5);
      expect(cpu.kernels.logSumExp(put(row), length)).toBeCloseTo(logSumExp(row), 5);
    }
    // One dominant logit in the very last place: missing it would be off by about 30.
    const row = randomValues(VOCAB, 7, 1);
    row[VOCAB - 1] = 40;
    expect(cpu.kernels.logSumExp(put(row), VOCAB)).toBeCloseTo(logSumExp(row), 5);
  });

  it('logSumExp says when a row is not a distribution: NaN for a NaN, +∞ for +∞, −∞ when all are −∞', () => {
    const withNaN = randomValues(VOCAB, 3);
    withNaN[12345] = NaN;
    expect(cpu.kernels.logSumExp(put(withNaN), VOCAB)).toBeNaN();
    const tailNaN = randomValues(VOCAB, 3);
    tailNaN[VOCAB - 1] = NaN;
    expect(cpu.kernels.logSumExp(put(tailNaN), VOCAB)).toBeNaN();
    const withInfinity = randomValues(VOCAB, 4);
    withInfinity[777] = Infinity;
    expect(cpu.kernels.logSumExp(put(withInfinity), VOCAB)).toBe(Infinity);
    expect(cpu.kernels.logSumExp(put(new Float32Array(VOCAB).fill(-Infinity)), VOCAB)).toBe(-Infinity);
    // Some −∞ among numbers are just zero probabilities.
    const someMinusInfinity = randomValues(VOCAB, 5, 3);
    for (let i = 0; i < VOCAB; i += 3) someMinusInfinity[i] = -Infinity;
    const expected = logSumExp(someMinusInfinity);
    expect(Math.abs(cpu.kernels.logSumExp(put(someMinusInfinity), VOCAB) - expected) / Math.abs(expected)).toBeLessThan(1e-6);
  });

  it('topTokens lists the k largest by value then id, with log-probabilities, on random rows of many lengths', () => {
    // Lengths below k, at k, around multiples of 4 and 16, and the vocabulary.
    for (const length of [1, 5, 19, 20, 21, 35, 36, 37, 52, 53, 100, 1001, VOCAB]) {
      // Values on a grid of 1/8, so equal values are common and the id order is exercised.
      const row = randomValues(length, length, 8).map((x) => Math.round(x * 8) / 8);
      const { ids, logprobs } = topTokens(row);
      const expectedIds = rankedIds(row).slice(0, TOP_TOKENS);
      expect(ids, `length ${length}`).toEqual(expectedIds);
      const normaliser = logSumExp(row);
      logprobs.forEach((logprob, rank) => expect(logprob).toBeCloseTo(row[expectedIds[rank]] - normaliser, 5));
    }
  });

  it('topTokens gives ties to the lower id, so its first id is argmax\'s', () => {
    const row = randomValues(VOCAB, 9, 1);
    // Equal best values scattered across whole blocks of 16 and the tail, found in id order.
    const tied = [VOCAB - 1, 3, 40000, 17, 18, 16, 12345, VOCAB - 3, 50240];
    for (const id of tied) row[id] = 2;
    const { ids } = topTokens(row);
    expect(ids.slice(0, tied.length)).toEqual([...tied].sort((a, b) => a - b));
    expect(ids[0]).toBe(cpu.kernels.argmax(put(row), VOCAB));
    // A row of all-equal values is all ties: the first k ids.
    expect(topTokens(new Float32Array(VOCAB).fill(0.5)).ids).toEqual(Array.from({ length: TOP_TOKENS }, (_, id) => id));
  });

  it('topTokens finds the best tokens in the tail past the last multiple of 4 and of 16', () => {
    const row = randomValues(VOCAB, 11, 1);
    // VOCAB = 50257: ids from 50240 are past the last multiple of 16, 50256 past that of 4.
    const best = [50256, 50255, 50250, 50244, 50241, 50240];
    best.forEach((id, rank) => { row[id] = 10 - rank; });
    const { ids } = topTokens(row);
    expect(ids.slice(0, best.length)).toEqual(best);
    expect(ids).toEqual(rankedIds(row).slice(0, TOP_TOKENS));
  });

  it('topTokens never lists a NaN, and keeps −∞ only when nothing better is left', () => {
    const row = randomValues(VOCAB, 13, 1);
    // NaN where the best tokens would be, first, in a block of 16 and in the tail.
    for (const id of [0, 1, 2, 100, 101, 50256]) row[id] = NaN;
    for (let id = 200; id < 300; id++) row[id] = -Infinity;
    const { ids, logprobs } = topTokens(row);
    expect(ids).toEqual(rankedIds(row).slice(0, TOP_TOKENS));
    expect(ids.some((id) => Number.isNaN(row[id]))).toBe(false);
    // The distribution is not defined when a logit is NaN: the log-probabilities say so.
    expect(logprobs.every(Number.isNaN)).toBe(true);

    // Five numbers among NaNs: only those five are listed, −∞ among them, last.
    const mostlyNaN = new Float32Array(VOCAB).fill(NaN);
    const numbers = new Map([[7, -Infinity], [30, 1], [31, 3], [4000, 2], [50256, 1]]);
    for (const [id, value] of numbers) mostlyNaN[id] = value;
    expect(topTokens(mostlyNaN).ids).toEqual([31, 4000, 30, 50256, 7]);
    expect(topTokens(new Float32Array(VOCAB).fill(NaN)).ids).toEqual([]);

    // −∞ logits have probability 0, and come after every finite one.
    const fewFinite = new Float32Array(VOCAB).fill(-Infinity);
    fewFinite[20000] = 1;
    fewFinite[50] = 0;
    const top = topTokens(fewFinite);
    expect(top.ids).toEqual([20000, 50, ...Array.from({ length: TOP_TOKENS - 2 }, (_, id) => id)]);
    expect(top.logprobs[0]).toBeCloseTo(-Math.log1p(Math.exp(-1)), 6);
    expect(top.logprobs.slice(2).every((logprob) => logprob === -Infinity)).toBe(true);
  });
});

/** log-softmax of one row of logits, in float64. */
function logSoftmax(logits: Float64Array): Float64Array {
  const normaliser = logSumExp(logits);
  return logits.map((logit) => logit - normaliser);
}

/**
 * A summary agrees with the reference's distribution: TOP_TOKENS distinct ids whose reference
 * logits are the reference's largest in order (two ids may swap only where the reference's logits
 * are within 1e-5, closer than f32 arithmetic can order them), each log-probability within 1e-4.
 */
function expectTopMatches(top: TopTokens, referenceLogits: Float64Array, what: string): void {
  const reference = logSoftmax(referenceLogits);
  const ranked = rankedIds(referenceLogits);
  expect(top.ids.length, what).toBe(TOP_TOKENS);
  expect(new Set(top.ids).size, what).toBe(TOP_TOKENS);
  top.ids.forEach((id, rank) => {
    const expectedId = ranked[rank];
    if (id !== expectedId) {
      expect(Math.abs(referenceLogits[id] - referenceLogits[expectedId]), `${what}: rank ${rank}, ${id} for ${expectedId}`).toBeLessThan(1e-5);
    }
    expect(Math.abs(top.logprobs[rank] - reference[id]), `${what}: rank ${rank}`).toBeLessThan(1e-4);
  });
}

async function loadTiny(dtype: CpuWeightsDtype): Promise<LoadedCpuModel> {
  return loadCpuModel(await createParser(), {
    format: 'safetensors',
    config: { format: 'json', bytes: fixture('config.json') },
    files: [memoryFile('model.safetensors', fixture('model.safetensors'), 1 << 20)],
  }, { dtype, kernels });
}

describe('CPU backend inspect and decodeGreedyTop, F32 weights, against the float64 reference', () => {
  const reference = new ReferenceGpt2(TINY_CONFIG, decodeSafetensors(fixture('model.safetensors')).tensors);
  let loaded: LoadedCpuModel;
  beforeAll(async () => {
    loaded = await loadTiny('f32');
  });
  afterAll(() => loaded?.model.destroy());

  it('summarises the last position and scores every token of the pass', async () => {
    for (const testCase of cases) {
      const what = `${testCase.tokens.length} tokens`;
      const referenceLogits = reference.logits(testCase.tokens);
      const pass = await loaded.model.inspect(testCase.tokens, 0, { scoreTokens: true, logits: true });
      expectTopMatches(pass.top, referenceLogits.at(-1)!, what);
      expect(pass.top.ids[0]).toBe(testCase.all_positions_argmax.at(-1));
      expect(pass.tokenLogprobs!.length).toBe(testCase.tokens.length - 1);
      pass.tokenLogprobs!.forEach((logprob, i) => {
        const expected = logSoftmax(referenceLogits[i])[testCase.tokens[i + 1]];
        expect(Math.abs(logprob - expected), `${what}: token ${i + 1}`).toBeLessThan(1e-4);
      });
      expect(pass.logits!.length).toBe(VOCAB);
      expect(Math.max(...pass.logits!.map((logit, i) => Math.abs(logit - referenceLogits.at(-1)![i])))).toBeLessThan(1e-3);
      // Without the options, the same summary (the head on one row rounds a little differently
      // from the head on HEAD_ROWS) and nothing else.
      const plain = await loaded.model.inspect(testCase.tokens, 0);
      expectTopMatches(plain.top, referenceLogits.at(-1)!, `${what}, no options`);
      expect(plain.tokenLogprobs).toBeNull();
      expect(plain.logits).toBeNull();
    }
  });

  it('decodeGreedyTop takes each step\'s most likely token and summarises every step', async () => {
    for (const testCase of cases.filter((c) => c.greedy_continuation.length > 1)) {
      const first = (await loaded.model.inspect(testCase.tokens, 0)).top.ids[0];
      const sequence = [...testCase.tokens, first];
      const steps = testCase.greedy_continuation.length - 1;
      for await (const top of loaded.model.decodeGreedyTop(first, testCase.tokens.length, steps)) {
        expectTopMatches(top, reference.lastLogits(sequence), `${testCase.tokens.length} tokens, step ${sequence.length - testCase.tokens.length}`);
        sequence.push(top.ids[0]);
      }
      expect(sequence.slice(testCase.tokens.length)).toEqual(testCase.greedy_continuation);
    }
  });

  it('refuses what forward and decodeGreedy refuse', async () => {
    const { nCtx } = loaded.model.config;
    await expect(loaded.model.decodeGreedyTop(1, nCtx - 2, 3).next()).rejects.toThrow(/3 greedy steps from position 126 do not fit the model's context of 128/);
    await expect(loaded.model.decodeGreedyTop(1, 0, 0).next()).rejects.toThrow(/at least 1, got 0/);
    await expect(loaded.model.decodeGreedyTop(VOCAB, 0, 1).next()).rejects.toThrow(/token 50257 is not in the vocabulary/);
    await expect(loaded.model.inspect([], 0)).rejects.toThrow(/at least one token/);
    await expect(loaded.model.inspect([1, 2], nCtx - 1)).rejects.toThrow(/do not fit the model's context/);
  });
});

for (const dtype of ['int8', 'f16'] as const) {
  describe(`CPU backend inspect, ${dtype} weights`, () => {
    let loaded: LoadedCpuModel;
    beforeAll(async () => {
      loaded = await loadTiny(dtype);
    });
    afterAll(() => loaded?.model.destroy());

    it('takes the same token as forward\'s argmax, after a prompt and a few greedy steps', async () => {
      for (const testCase of cases.filter((c) => c.greedy_continuation.length > 0)) {
        let tokens = testCase.tokens;
        for (let position = 0; position <= testCase.tokens.length + 3; position += tokens.length) {
          const argmax = (await loaded.model.forward(tokens, position, 'last-argmax'))[0];
          const { top, tokenLogprobs } = await loaded.model.inspect(tokens, position, { scoreTokens: true });
          expect(top.ids[0]).toBe(argmax);
          expect(top.logprobs.every((logprob, rank) => logprob <= (rank === 0 ? 0 : top.logprobs[rank - 1]))).toBe(true);
          expect(tokenLogprobs!.every((logprob) => logprob < 0)).toBe(true);
          tokens = [argmax];
        }
      }
    });
  });
}
