// Checks the float64 oracle itself against expected.json, which a separate float64 implementation
// computed from the same tiny-gpt2 weights. expected.json rounds logits to 6 decimals, so 5e-7 is
// the smallest error this comparison can show.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Gpt2Config } from '../../src/model/config.ts';
import { type NamedTensor, decodeSafetensors } from '../../scripts/model-files.ts';
import type { ExpectedCase } from '../support/fixture-expected.ts';
import { ReferenceGpt2 } from '../support/reference-gpt2.ts';

const FIXTURES = '../shared/fixtures/tiny-gpt2';

const expected: { config: Record<string, number>; cases: ExpectedCase[] } = JSON.parse(
  readFileSync(`${FIXTURES}/expected.json`, 'utf8'),
);
const config: Gpt2Config = {
  vocabSize: expected.config.vocab_size,
  nCtx: expected.config.n_positions,
  nEmbd: expected.config.n_embd,
  nLayer: expected.config.n_layer,
  nHead: expected.config.n_head,
};

function readTensors(file: string): NamedTensor[] {
  return decodeSafetensors(new Uint8Array(readFileSync(`${FIXTURES}/${file}`))).tensors;
}

function maxAbsDifference(actual: Float64Array, wanted: number[]): number {
  expect(actual.length).toBe(wanted.length);
  return actual.reduce((worst, value, i) => Math.max(worst, Math.abs(value - wanted[i])), 0);
}

const f32Model = new ReferenceGpt2(config, readTensors('model.safetensors'));
const f16Model = new ReferenceGpt2(config, readTensors('model.f16.safetensors'));
const caseName = (testCase: ExpectedCase) => `${testCase.tokens.length} tokens`;

describe.each(expected.cases.map((testCase) => [caseName(testCase), testCase] as const))('%s', (_, testCase) => {
  it('last-position logits match expected.json (F32 weights)', () => {
    expect(maxAbsDifference(f32Model.lastLogits(testCase.tokens), testCase.last_logits)).toBeLessThan(1e-6);
  });

  it('last-position logits match expected.json (F16 weights)', () => {
    expect(maxAbsDifference(f16Model.lastLogits(testCase.tokens), testCase.last_logits_f16_weights)).toBeLessThan(1e-6);
  });

  it('argmax at every position matches', () => {
    expect(f32Model.argmaxPerPosition(testCase.tokens)).toEqual(testCase.all_positions_argmax);
  });

  // The full-context case has no room left, so expected.json gives it no continuation to check.
  if (testCase.greedy_continuation.length > 0) {
    it('greedy continuation matches', () => {
      expect(f32Model.greedy(testCase.tokens, testCase.greedy_continuation.length)).toEqual(testCase.greedy_continuation);
    });
  }
});

describe('ReferenceGpt2', () => {
  it('gives the same logits for every position as logits() at the last one', () => {
    const tokens = expected.cases[2].tokens;
    const rows = f32Model.logits(tokens);
    expect(rows).toHaveLength(tokens.length);
    expect(rows.at(-1)).toEqual(f32Model.lastLogits(tokens));
  });

  it('accepts tensor names without the transformer. prefix', () => {
    const unprefixed = readTensors('model.safetensors').map((tensor) => ({ ...tensor, name: tensor.name.replace('transformer.', '') }));
    const tokens = expected.cases[1].tokens;
    expect(new ReferenceGpt2(config, unprefixed).lastLogits(tokens)).toEqual(f32Model.lastLogits(tokens));
  });

  it('names what is wrong with its inputs', () => {
    const tensors = readTensors('model.safetensors');
    expect(() => new ReferenceGpt2(config, tensors.slice(1))).toThrow('missing tensor wte.weight');
    expect(() => new ReferenceGpt2({ ...config, nEmbd: 32 }, tensors)).toThrow('wte.weight has shape [50257,64], expected [50257,32]');
    expect(() => f32Model.lastLogits([config.vocabSize])).toThrow('token 50257 is outside the vocabulary');
    expect(() => f32Model.lastLogits([])).toThrow('need 1..128 tokens');
  });
});
