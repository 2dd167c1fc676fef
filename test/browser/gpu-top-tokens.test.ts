// The WebGPU backend's view inside the model (inspect, decodeGreedyTop) on the shared tiny GPT-2,
// against the float64 reference: the top tokens and their probabilities after a prompt, the
// log-probability of every token of a prompt, and greedy decoding that yields the summary per step.
import { beforeAll, describe, expect, it } from 'vitest';
import parserWasmUrl from '../../src/generated/weights-parser.wasm?url';
import { decodeSafetensors } from '../../scripts/model-files.ts';
import { Gpt2Gpu } from '../../src/gpu/gpt2-gpu.ts';
import { GpuWeights } from '../../src/gpu/gpu-weights.ts';
import { TOP_TOKENS, type TopTokens } from '../../src/model/gpt2-model.ts';
import type { MatrixDtype } from '../../src/model/weight-layout.ts';
import { loadWeights } from '../../src/weights/load-weights.ts';
import { WeightsParser } from '../../src/weights/weights-parser.ts';
import type { ExpectedCase } from '../support/fixture-expected.ts';
import { maxAbsDifference, testDevice } from '../support/gpu-harness.ts';
import { ReferenceGpt2 } from '../support/reference-gpt2.ts';

const fixtureBytes = async (file: string) =>
  new Uint8Array(await (await fetch(new URL(`/test-models/tiny-gpt2/${file}`, location.href))).arrayBuffer());

const cases: ExpectedCase[] = JSON.parse(new TextDecoder().decode(await fixtureBytes('expected.json'))).cases;

async function loadModel(file: string, matrixDtype: MatrixDtype): Promise<Gpt2Gpu> {
  const device = await testDevice();
  const parser = await WeightsParser.create(await WebAssembly.compileStreaming(fetch(parserWasmUrl)));
  const weights = new GpuWeights(device);
  const config = await loadWeights(parser, {
    format: 'safetensors',
    config: { format: 'json', bytes: await fixtureBytes('config.json') },
    files: [new File([await fixtureBytes(file)], file)],
  }, weights, { matrixDtype });
  return new Gpt2Gpu(device, config, weights);
}

/** One position's logits from the reference, and what the summary is checked against. */
class ReferenceRow {
  readonly logSumExp: number;
  private rankedIds?: number[];

  constructor(readonly logits: Float64Array) {
    const max = logits.reduce((best, logit) => Math.max(best, logit));
    this.logSumExp = max + Math.log(logits.reduce((sum, logit) => sum + Math.exp(logit - max), 0));
  }

  /** Every id, most likely first, ties to the lower id (sorted only for the rows that are summarised). */
  get ranked(): number[] {
    this.rankedIds ??= Array.from(this.logits.keys()).sort((a, b) => this.logits[b] - this.logits[a] || a - b);
    return this.rankedIds;
  }

  logprob(token: number): number {
    return this.logits[token] - this.logSumExp;
  }
}

/** The summary names the reference's top tokens in order (a neighbour may come first only where
 *  the two are within 1e-5: closer than the f32 pass can tell apart), with their probabilities. */
function expectSummaryMatches(top: TopTokens, row: ReferenceRow, what: string) {
  expect(top.ids, what).toHaveLength(TOP_TOKENS);
  expect(new Set(top.ids).size, `${what}: distinct ids`).toBe(TOP_TOKENS);
  for (let rank = 0; rank < TOP_TOKENS; rank++) {
    const id = top.ids[rank];
    if (id !== row.ranked[rank]) {
      expect(Math.abs(row.logits[id] - row.logits[row.ranked[rank]]), `${what}: ${id} ranked ${rank}, the reference's is ${row.ranked[rank]}`)
        .toBeLessThan(1e-5);
    }
    expect(Math.abs(Math.exp(top.logprobs[rank]) - Math.exp(row.logprob(id))), `${what}: p(${id})`).toBeLessThan(1e-4);
  }
}

describe('tiny-gpt2 with f32 matrices', () => {
  let model: Gpt2Gpu;
  let reference: ReferenceGpt2;
  beforeAll(async () => {
    model = await loadModel('model.safetensors', 'f32');
    reference = new ReferenceGpt2(model.config, decodeSafetensors(await fixtureBytes('model.safetensors')).tensors);
  });

  for (const testCase of cases) {
    const { tokens, greedy_continuation: continuation } = testCase;
    describe(`a prompt of ${tokens.length} token(s)`, () => {
      // The reference at every position of the prompt and of its greedy continuation.
      let rows: ReferenceRow[];
      beforeAll(() => {
        rows = reference.logits([...tokens, ...continuation.slice(0, -1)]).map((logits) => new ReferenceRow(logits));
      });

      it('summarises the distribution after the last token, and returns its logits only when asked', async () => {
        const last = rows[tokens.length - 1];
        const plain = await model.inspect(tokens, 0);
        expectSummaryMatches(plain.top, last, 'inspect');
        expect(plain.tokenLogprobs).toBeNull();
        expect(plain.logits).toBeNull();
        const full = await model.inspect(tokens, 0, { scoreTokens: true, logits: true });
        expectSummaryMatches(full.top, last, 'inspect with scoreTokens');
        expect(maxAbsDifference(full.logits!, last.logits)).toBeLessThan(1e-3);
        expect(full.top.ids[0]).toBe(testCase.all_positions_argmax.at(-1));
      });

      it('scores every token of the prompt after the ones before it', async () => {
        const { tokenLogprobs } = await model.inspect(tokens, 0, { scoreTokens: true });
        const expected = tokens.slice(1).map((token, i) => rows[i].logprob(token));
        expect(tokenLogprobs).toHaveLength(tokens.length - 1);
        expect(maxAbsDifference(tokenLogprobs!, expected)).toBeLessThan(1e-4);
      });

      if (tokens.length > 1) {
        it('scores the rest of the prompt after a first part already in the KV cache', async () => {
          const split = Math.floor(tokens.length / 2);
          await model.forward(tokens.slice(0, split), 0, 'last-argmax');
          const rest = await model.inspect(tokens.slice(split), split, { scoreTokens: true });
          expectSummaryMatches(rest.top, rows[tokens.length - 1], 'after the KV cache');
          const expected = tokens.slice(split + 1).map((token, i) => rows[split + i].logprob(token));
          expect(maxAbsDifference(rest.tokenLogprobs!, expected)).toBeLessThan(1e-4);
        });
      }

      if (continuation.length > 0) {
        it('decodes the greedy continuation through the KV cache, with each step\'s summary', async () => {
          const first = (await model.inspect(tokens, 0)).top;
          const steps = [first];
          for await (const top of model.decodeGreedyTop(first.ids[0], tokens.length, continuation.length - 1)) steps.push(top);
          expect(steps.map((top) => top.ids[0])).toEqual(continuation);
          steps.forEach((top, i) => expectSummaryMatches(top, rows[tokens.length - 1 + i], `step ${i}`));
        });
      }
    });
  }
});

// SwiftShader has no shader-f16, so the f16 matrices multiply in f32 here: what matters is that the
// summary ranks as the argmax kernel does, on other logits than the f32 weights'.
describe('tiny-gpt2 with f16 matrices', () => {
  let model: Gpt2Gpu;
  beforeAll(async () => {
    model = await loadModel('model.f16.safetensors', 'f16');
  });

  it('the summary\'s best token is the argmax, after a prompt and at every greedy step', async () => {
    for (const { tokens, greedy_continuation: continuation } of cases) {
      const argmax = (await model.forward(tokens, 0, 'last-argmax'))[0];
      expect((await model.inspect(tokens, 0)).top.ids[0]).toBe(argmax);
      expect((await model.inspect(tokens, 0, { scoreTokens: true })).top.ids[0]).toBe(argmax);
      if (continuation.length === 0) continue;
      const greedy: number[] = [];
      for await (const token of model.decodeGreedy(argmax, tokens.length, continuation.length)) greedy.push(token);
      const greedyTop: number[] = [];
      for await (const top of model.decodeGreedyTop(argmax, tokens.length, continuation.length)) greedyTop.push(top.ids[0]);
      expect(greedyTop).toEqual(greedy);
    }
  });
});
