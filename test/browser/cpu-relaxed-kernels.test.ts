// The CPU kernels' relaxed-SIMD build in real Chromium, which has relaxed SIMD (Node 20 gets its
// dot product wrong, so the unit tests run only the plain build): the int8 kernel on its own, and
// the tiny GPT-2 with int8 weights on both builds, each within int8's bounds of the float64
// reference and both within the input's rounding of each other.
import { describe, expect, it } from 'vitest';
import parserWasmUrl from '../../src/generated/weights-parser.wasm?url';
import { CpuMemory } from '../../src/cpu/cpu-memory.ts';
import { compileCpuKernels } from '../../src/cpu/kernel-modules.ts';
import { loadCpuModel } from '../../src/cpu/load-cpu-model.ts';
import { hasRelaxedSimd } from '../../src/cpu/relaxed-simd.ts';
import { WeightsParser } from '../../src/weights/weights-parser.ts';
import { INT8_MAX_LOGIT_ERROR, INT8_MIN_TOP1_AGREEMENT, type ExpectedCase } from '../support/fixture-expected.ts';
import { maxAbsDifference } from '../support/gpu-harness.ts';
import { checkInt8Linear } from '../support/int8-linear-check.ts';

const fixtureBytes = async (name: string) => new Uint8Array(await (await fetch(`/test-models/tiny-gpt2/${name}`)).arrayBuffer());

describe('the CPU kernels\' relaxed-SIMD build', () => {
  it('is what this browser gets', () => {
    expect(hasRelaxedSimd()).toBe(true);
  });

  it('int8: quantized rows and their sums, the product within the 14-bit input\'s rounding of float64', async () => {
    checkInt8Linear(await CpuMemory.create(await compileCpuKernels(false, true), { shared: false }), 'relaxed');
  });

  it('runs the tiny GPT-2 with int8 weights within int8\'s bounds, as the plain build does', async () => {
    const cases: ExpectedCase[] = (await (await fetch('/test-models/tiny-gpt2/expected.json')).json()).cases;
    const parserModule = await WebAssembly.compileStreaming(fetch(parserWasmUrl));
    const [config, weights] = [await fixtureBytes('config.json'), await fixtureBytes('model.safetensors')];
    const logitsOf = async (relaxed: boolean) => {
      const { model } = await loadCpuModel(await WeightsParser.create(parserModule), {
        format: 'safetensors', config: { format: 'json', bytes: config }, files: [new File([weights], 'model.safetensors')],
      }, { dtype: 'int8', kernels: await compileCpuKernels(false, relaxed) });
      try {
        const results = [];
        for (const testCase of cases) {
          results.push({
            logits: await model.forward(testCase.tokens, 0, 'last-logits'),
            argmax: await model.forward(testCase.tokens, 0, 'all-argmax'),
          });
        }
        return results;
      } finally {
        model.destroy();
      }
    };
    const [plain, relaxed] = [await logitsOf(false), await logitsOf(true)];
    let agreeing = 0, positions = 0, betweenBuilds = 0;
    for (const [i, testCase] of cases.entries()) {
      expect(maxAbsDifference(plain[i].logits, testCase.last_logits)).toBeLessThan(INT8_MAX_LOGIT_ERROR);
      expect(maxAbsDifference(relaxed[i].logits, testCase.last_logits)).toBeLessThan(INT8_MAX_LOGIT_ERROR);
      betweenBuilds = Math.max(betweenBuilds, maxAbsDifference(relaxed[i].logits, plain[i].logits));
      agreeing += testCase.all_positions_argmax.filter((token, p) => token === relaxed[i].argmax[p]).length;
      positions += testCase.all_positions_argmax.length;
    }
    console.log(`int8, relaxed build: top-1 agreement ${agreeing}/${positions}; largest logit difference from the plain build ${betweenBuilds.toFixed(4)}`);
    expect(agreeing / positions).toBeGreaterThanOrEqual(INT8_MIN_TOP1_AGREEMENT);
    // The same int8 weights; only the input's rounding differs (14 bits against 16).
    expect(betweenBuilds).toBeLessThan(0.05);
    expect(betweenBuilds).toBeGreaterThan(0);
  });
});
