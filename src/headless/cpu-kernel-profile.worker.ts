// Where a CPU decode step's weight reads go: the linear layers of one token (every layer's QKV,
// attention projection, MLP up and down, then the LM head) timed alone, each call as
// Gpt2Cpu.linear makes it (input preparation included, split across the same kernel threads), on
// matrices of the model's shape and dtype, one set per layer as the model has (so they do not fit
// in a cache either). Weight values are a fixed pattern of normal numbers: the kernels' speed does
// not depend on them. What is left of a decode step beyond these is attention, LayerNorm, GELU,
// residual adds, the argmax, and the engine's own work between tokens.
import { CpuMemory } from '../cpu/cpu-memory.ts';
import { lmHeadFormat, matrixRowBytes } from '../cpu/cpu-weights.ts';
import { kernelBuildFor } from '../cpu/kernel-build-choice.ts';
import { compileCpuKernels } from '../cpu/kernel-modules.ts';
import { KernelThreads } from '../cpu/kernel-threads.ts';
import { SingleThread, type KernelSplitter } from '../cpu/kernel-split.ts';
import { webKernelThread } from '../cpu/web-kernel-thread.ts';
import type { Gpt2Config } from '../model/config.ts';
import type { WeightsDtype } from '../worker/engine-api.ts';
import { answerRequests } from './ask-worker.ts';
import type { KernelTiming } from './kernel-profile.ts';

export interface CpuProfileRequest {
  config: Gpt2Config;
  dtype: WeightsDtype;
  threads: number;
  /** Decode steps timed; the best counts. */
  passes: number;
}

interface Matrix {
  kernel: string;
  /** As the model stores it: under q4 the LM head is int8 (src/cpu/cpu-weights.ts). */
  dtype: WeightsDtype;
  rows: number;
  cols: number;
  /** One per layer (one for the LM head). */
  placements: { address: number; scales: number }[];
}


async function profile({ config, dtype, threads, passes }: CpuProfileRequest): Promise<KernelTiming[]> {
  const { nEmbd: C, nLayer, vocabSize } = config;
  const shared = threads > 1;
  const module = await compileCpuKernels(shared, await kernelBuildFor(dtype));
  const cpu = await CpuMemory.create(module, { shared });
  const k = cpu.kernels;
  const largest = Math.max(vocabSize, 4 * C);

  const place = (format: WeightsDtype, rows: number, cols: number) => {
    const { dataBytes, scaleBytes } = matrixRowBytes(format, cols);
    const address = cpu.allocate(rows * dataBytes, 'the profile\'s weights');
    fillWeights(cpu.bytes(address, rows * dataBytes), format);
    const scaleCount = (scaleBytes / 4) * rows;
    const scales = scaleCount > 0 ? cpu.allocate(scaleCount * 4, 'the profile\'s scales') : 0;
    if (format === 'q4') cpu.floats(scales, scaleCount).fill(1 / 64);
    if (format === 'int8') {
      // Each row's scale, then the sum of its values: 0, since fillWeights' int8 pattern sums to 0.
      const floats = cpu.floats(scales, scaleCount), ints = new Int32Array(floats.buffer, floats.byteOffset, scaleCount);
      for (let row = 0; row < rows; row++) [floats[2 * row], ints[2 * row + 1]] = [1 / 127, 0];
    }
    return { address, scales };
  };
  const matrix = (kernel: string, format: WeightsDtype, rows: number, cols: number, count: number): Matrix =>
    ({ kernel, dtype: format, rows, cols, placements: Array.from({ length: count }, () => place(format, rows, cols)) });
  const matrices = [
    matrix('qkv', dtype, 3 * C, C, nLayer),
    matrix('attn-proj', dtype, C, C, nLayer),
    matrix('mlp-up', dtype, 4 * C, C, nLayer),
    matrix('mlp-down', dtype, C, 4 * C, nLayer),
    matrix('lm-head', lmHeadFormat(dtype), vocabSize, C, 1),
  ];
  const x = cpu.allocate(4 * C * 4, 'the profile\'s input');
  cpu.floats(x, 4 * C).set(Float32Array.from({ length: 4 * C }, (_, i) => ((i % 13) - 6) / 10));
  const linearInput = cpu.allocate(4 * C * 4, 'the profile\'s prepared input');
  const inputScale = cpu.allocate(4, 'the profile\'s input scale');
  const bias = cpu.allocate(largest * 4, 'the profile\'s bias');
  cpu.floats(bias, largest).fill(0);
  const out = cpu.allocate(largest * 4, 'the profile\'s output');

  const splitter: KernelSplitter = shared
    ? await KernelThreads.start(cpu, module, threads, webKernelThread)
    : new SingleThread(k);
  try {
    // As Gpt2Cpu.linear, for one token.
    const linear = (format: WeightsDtype, weight: { address: number; scales: number }, rows: number, cols: number) => {
      switch (format) {
        case 'f32':
          splitter.run('linearF32', [out, x, weight.address, bias, 1, rows, cols], rows, 4);
          return;
        case 'f16':
          k.splitEvenOdd(linearInput, x, cols);
          splitter.run('linearF16', [out, linearInput, weight.address, bias, 1, rows, cols], rows, 4);
          return;
        case 'int8':
          k.quantizeInputI8(linearInput, inputScale, x, 1, cols);
          splitter.run('linearI8', [out, linearInput, inputScale, weight.address, weight.scales, bias, 1, rows, cols], rows, 4);
          return;
        case 'q4':
          k.quantizeInputI8(linearInput, inputScale, x, 1, cols);
          splitter.run('linearQ4', [out, linearInput, inputScale, weight.address, weight.scales, bias, 1, rows, cols], rows, 4);
          return;
      }
    };
    // In the forward pass's order: layer by layer, then the head.
    const calls = [
      ...Array.from({ length: nLayer }, (_, layer) => matrices.slice(0, 4).map((m, index) => ({ index, m, weight: m.placements[layer] }))).flat(),
      { index: 4, m: matrices[4], weight: matrices[4].placements[0] },
    ];
    const best = matrices.map(() => Infinity);
    for (let pass = 0; pass < passes; pass++) {
      const spent = matrices.map(() => 0);
      for (const { index, m, weight } of calls) {
        const started = performance.now();
        linear(m.dtype, weight, m.rows, m.cols);
        spent[index] += performance.now() - started;
      }
      spent.forEach((ms, index) => (best[index] = Math.min(best[index], ms)));
    }
    return matrices.map((m, index): KernelTiming => {
      const { dataBytes, scaleBytes } = matrixRowBytes(m.dtype, m.cols);
      return {
        pass: 'decode (linear)',
        kernel: m.kernel,
        rows: 1,
        calls: m.placements.length,
        msPerCall: best[index] / m.placements.length,
        weightBytes: m.rows * (dataBytes + scaleBytes),
        flops: 2 * m.rows * m.cols,
      };
    });
  } finally {
    splitter.close();
  }
}

/** Normal numbers of either sign in the dtype's encoding (f16: ±0.1, ±0.2; f32: ±0.1 … ±0.3; int8: -3 … 3; q4: -8 … 7). */
function fillWeights(bytes: Uint8Array, dtype: WeightsDtype): void {
  const patterns: Record<WeightsDtype, Uint8Array> = {
    f32: new Uint8Array(Float32Array.of(0.1, -0.2, 0.3, -0.1, 0.2, -0.3, 0.1, 0.2).buffer),
    f16: new Uint8Array(Uint16Array.of(0x2e66, 0xae66, 0x3266, 0xb266, 0x2e66, 0x3266, 0xae66, 0xb266).buffer),
    int8: new Uint8Array(Int8Array.of(-3, -2, -1, 0, 1, 2, 3, 1, -1, 2, -2, 3, -3, 0, 1, -1).buffer),
    q4: Uint8Array.of(0x8f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0),
  };
  const pattern = patterns[dtype];
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < chunk.length; i += pattern.length) chunk.set(pattern.subarray(0, Math.min(pattern.length, chunk.length - i)), i);
  for (let offset = 0; offset < bytes.length; offset += chunk.length) {
    bytes.set(chunk.subarray(0, Math.min(chunk.length, bytes.length - offset)), offset);
  }
}

answerRequests(profile);
