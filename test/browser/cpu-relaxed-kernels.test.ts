// The CPU kernels' relaxed-SIMD build in real Chromium, which has relaxed SIMD (Node 20 gets its
// dot product wrong, so the unit tests run only the plain build): the int8 and q4 kernels on their
// own, and the tiny GPT-2 with int8 and with q4 weights on both builds, each within its format's
// bounds of the float64 reference and both builds within the input's rounding of each other.
import { describe, expect, it } from 'vitest';
import parserWasmUrl from '../../src/generated/weights-parser.wasm?url';
import { CpuMemory } from '../../src/cpu/cpu-memory.ts';
import { kernelBuildFor, timeKernelBuilds } from '../../src/cpu/kernel-build-choice.ts';
import { compileCpuKernels } from '../../src/cpu/kernel-modules.ts';
import { loadCpuModel } from '../../src/cpu/load-cpu-model.ts';
import { hasRelaxedSimd } from '../../src/cpu/relaxed-simd.ts';
import { WeightsParser } from '../../src/weights/weights-parser.ts';
import {
  INT8_MAX_LOGIT_ERROR, INT8_MIN_TOP1_AGREEMENT, Q4_MAX_LOGIT_ERROR, Q4_MIN_TOP1_AGREEMENT, type ExpectedCase,
} from '../support/fixture-expected.ts';
import { maxAbsDifference } from '../support/gpu-harness.ts';
import { checkInt8Linear } from '../support/int8-linear-check.ts';
import { checkQ4Linear, Q4_CHECK_SHAPES } from '../support/q4-linear-check.ts';

const fixtureBytes = async (name: string) => new Uint8Array(await (await fetch(`/test-models/tiny-gpt2/${name}`)).arrayBuffer());

describe('the CPU kernels\' relaxed-SIMD build', () => {
  it('is what this browser gets', () => {
    expect(hasRelaxedSimd()).toBe(true);
  });

  it('is timed against the plain build for int8 and q4 layers, and run where it is faster; f32 and f16 take the plain build', async () => {
    for (const dtype of ['int8', 'q4'] as const) {
      const times = await timeKernelBuilds(dtype);
      console.log(`${dtype} layer work: plain build ${times.plain.toFixed(3)} ms, relaxed ${times.relaxed.toFixed(3)} ms`);
      for (const ms of [times.plain, times.relaxed]) {
        expect(ms).toBeGreaterThan(0);
        expect(ms).toBeLessThan(1000);
      }
      const build = await kernelBuildFor(dtype);
      expect(['plain', 'relaxed']).toContain(build);
      expect(await kernelBuildFor(dtype)).toBe(build); // timed once per worker and format
    }
    expect(await kernelBuildFor('f32')).toBe('plain');
    expect(await kernelBuildFor('f16')).toBe('plain');
  });

  it('int8: quantized rows and their sums, the product within the 14-bit input\'s rounding of float64', async () => {
    checkInt8Linear(await CpuMemory.create(await compileCpuKernels(false, 'relaxed'), { shared: false }), 'relaxed');
  });

  for (const [index, shape] of Q4_CHECK_SHAPES.entries()) {
    const { rows, cols, tokens } = shape;
    it(`q4, ${rows}×${cols}, ${tokens} token(s): quantized within half a step, the product within the 14-bit input's rounding of float64`, async () => {
      checkQ4Linear(await CpuMemory.create(await compileCpuKernels(false, 'relaxed'), { shared: false }), shape, index);
    });
  }

  const bounds = {
    int8: { maxLogitError: INT8_MAX_LOGIT_ERROR, minTop1: INT8_MIN_TOP1_AGREEMENT },
    q4: { maxLogitError: Q4_MAX_LOGIT_ERROR, minTop1: Q4_MIN_TOP1_AGREEMENT },
  };
  for (const dtype of ['int8', 'q4'] as const) it(`runs the tiny GPT-2 with ${dtype} weights within ${dtype}'s bounds, as the plain build does`, async () => {
    const cases: ExpectedCase[] = (await (await fetch('/test-models/tiny-gpt2/expected.json')).json()).cases;
    const parserModule = await WebAssembly.compileStreaming(fetch(parserWasmUrl));
    const [config, weights] = [await fixtureBytes('config.json'), await fixtureBytes('model.safetensors')];
    const logitsOf = async (relaxed: boolean) => {
      const { model } = await loadCpuModel(await WeightsParser.create(parserModule), {
        format: 'safetensors', config: { format: 'json', bytes: config }, files: [new File([weights], 'model.safetensors')],
      }, { dtype, kernels: await compileCpuKernels(false, relaxed ? 'relaxed' : 'plain') });
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
    const { maxLogitError, minTop1 } = bounds[dtype];
    let agreeing = 0, positions = 0, betweenBuilds = 0;
    for (const [i, testCase] of cases.entries()) {
      expect(maxAbsDifference(plain[i].logits, testCase.last_logits)).toBeLessThan(maxLogitError);
      expect(maxAbsDifference(relaxed[i].logits, testCase.last_logits)).toBeLessThan(maxLogitError);
      betweenBuilds = Math.max(betweenBuilds, maxAbsDifference(relaxed[i].logits, plain[i].logits));
      agreeing += testCase.all_positions_argmax.filter((token, p) => token === relaxed[i].argmax[p]).length;
      positions += testCase.all_positions_argmax.length;
    }
    console.log(`${dtype}, relaxed build: top-1 agreement ${agreeing}/${positions}; largest logit difference from the plain build ${betweenBuilds.toFixed(4)}`);
    expect(agreeing / positions).toBeGreaterThanOrEqual(minTop1);
    // The same quantized weights; only the input's rounding differs (14 bits against 16).
    expect(betweenBuilds).toBeLessThan(0.05);
    expect(betweenBuilds).toBeGreaterThan(0);
  });
});
