// Which build of the CPU kernels (kernel-modules.ts) runs a model's layers faster on this machine.
//
// The builds differ only in the int8 and q4 layers. The relaxed build's dot product
// (i32x4.relaxed_dot_i8x16_i7x16_add_s) is one instruction on CPUs with AVX-VNNI (Intel since
// Alder Lake, AMD since Zen 5), where it made int8 prompts and decoding ~20% faster. Elsewhere V8
// spells it out in five, and the plain build is faster: on an AMD EPYC with AVX-512 VNNI but not
// AVX-VNNI, Chromium 156, one thread, int8 took 1.25× as long to decode and 2× for prompts.
// JavaScript cannot ask the CPU what it has, so this times both builds on a layer-sized matrix in
// the model's format, once per worker and format, and takes the faster.
import { CpuMemory } from './cpu-memory.ts';
import { matrixRowBytes, type CpuWeightsDtype } from './cpu-weights.ts';
import { compileCpuKernels, type KernelBuild } from './kernel-modules.ts';
import { hasRelaxedSimd } from './relaxed-simd.ts';

/** The best time of each build for the same work: milliseconds. */
export interface KernelBuildTimes {
  plain: number;
  relaxed: number;
}

// A matrix as wide as GPT-2 small's (1024 × 768: 768 KiB as int8, which stays in L2, so the rounds
// time the arithmetic the builds differ in rather than the memory they share), four single-token
// products (decoding) and one of four tokens (a prompt's): about half a millisecond a round.
const ROWS = 1024;
const COLS = 768;
const PROMPT_TOKENS = 4;
const DECODE_CALLS = 4;
// The first rounds may run before V8 has optimized the kernels; the best of the rest counts.
const WARM_UP_ROUNDS = 3;
const ROUNDS = 9;

const choices = new Map<CpuWeightsDtype, Promise<KernelBuild>>();

/** The build to run `dtype`'s layers with: relaxed only where the browser has it right and it is faster. */
export function kernelBuildFor(dtype: CpuWeightsDtype): Promise<KernelBuild> {
  if ((dtype !== 'int8' && dtype !== 'q4') || !hasRelaxedSimd()) return Promise.resolve('plain');
  let choice = choices.get(dtype);
  if (!choice) {
    choice = timeKernelBuilds(dtype).then((times) => (times.relaxed < times.plain ? 'relaxed' : 'plain'));
    choices.set(dtype, choice);
  }
  return choice;
}

/** Both builds' best time for the same `dtype` layer work, timed in turn. Needs relaxed SIMD. */
export async function timeKernelBuilds(dtype: 'int8' | 'q4'): Promise<KernelBuildTimes> {
  const [plain, relaxed] = await Promise.all([layerWork('plain', dtype), layerWork('relaxed', dtype)]);
  const times = { plain: Infinity, relaxed: Infinity };
  for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
    const [plainMs, relaxedMs] = [plain(), relaxed()];
    if (round < WARM_UP_ROUNDS) continue;
    times.plain = Math.min(times.plain, plainMs);
    times.relaxed = Math.min(times.relaxed, relaxedMs);
  }
  return times;
}

/** A function that runs one round of layer work on `build`'s kernels and returns how long it took. */
async function layerWork(build: KernelBuild, dtype: 'int8' | 'q4'): Promise<() => number> {
  const cpu = await CpuMemory.create(await compileCpuKernels(false, build), { shared: false });
  const k = cpu.kernels;
  const { dataBytes, scaleBytes } = matrixRowBytes(dtype, COLS);
  const source = cpu.allocate(ROWS * COLS * 4, 'the timed weights (f32)');
  const weight = cpu.allocate(ROWS * dataBytes, 'the timed weights');
  const scales = cpu.allocate(ROWS * scaleBytes, 'the timed weights\' scales');
  const x = cpu.allocate(PROMPT_TOKENS * COLS * 4, 'the timed input');
  const xq = cpu.allocate(PROMPT_TOKENS * COLS * 2, 'the timed quantized input');
  const xScales = cpu.allocate(PROMPT_TOKENS * 4, 'the timed input scales');
  const bias = cpu.allocate(ROWS * 4, 'the timed bias');
  const out = cpu.allocate(PROMPT_TOKENS * ROWS * 4, 'the timed output');
  fillEitherSign(cpu.floats(source, ROWS * COLS), 0.1);
  fillEitherSign(cpu.floats(x, PROMPT_TOKENS * COLS), 1);
  cpu.floats(bias, ROWS).fill(0);
  (dtype === 'q4' ? k.quantizeRowsQ4 : k.quantizeRowsI8)(weight, scales, source, ROWS, COLS);
  (dtype === 'q4' ? k.quantizeInputQ4 : k.quantizeInputI8)(xq, xScales, x, PROMPT_TOKENS, COLS);
  const linear = dtype === 'q4' ? k.linearQ4 : k.linearI8;
  return () => {
    const started = performance.now();
    for (let call = 0; call < DECODE_CALLS; call++) linear(out, xq, xScales, weight, scales, bias, 1, ROWS, COLS, 0, ROWS);
    linear(out, xq, xScales, weight, scales, bias, PROMPT_TOKENS, ROWS, COLS, 0, ROWS);
    return performance.now() - started;
  };
}

/** Values of either sign up to ±`scale`, as a layer's weights and inputs have, from a multiplicative hash (quick to make). */
function fillEitherSign(values: Float32Array, scale: number): void {
  for (let i = 0; i < values.length; i++) values[i] = ((Math.imul(i, 2654435761) >>> 16) / 32768 - 1) * scale;
}
