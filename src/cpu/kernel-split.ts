// Kernels whose work splits into independent ranges (rows of a linear layer, attention heads),
// what each thread does to its own outputs afterwards (the epilogue), and the single-threaded way
// to run them. src/cpu/kernel-threads.ts runs them across workers.
import type { CpuKernels } from './cpu-kernels.ts';

/** Kernels whose last two arguments are a range [start, end) of the items they compute. */
export type SplitKernel = 'linearF32' | 'linearF16' | 'linearI8' | 'linearQ4' | 'attention' | 'attentionBf16';

/**
 * Done by each thread to the columns [start, end) of a linear layer's output [tokens, width] it
 * has just computed, in the same wake-up: GELU in place, or adding them into the residual stream.
 */
export type Epilogue =
  | { kind: 'gelu'; out: number; tokens: number; width: number }
  | { kind: 'add-into'; residual: number; out: number; tokens: number; width: number };

/** An epilogue as the ints the threads' control block carries: [kind, address, address, tokens, width] (kind 0: none). */
export const EPILOGUE_INTS = 5;

export function encodeEpilogue(epilogue: Epilogue | undefined): number[] {
  if (!epilogue) return [0, 0, 0, 0, 0];
  if (epilogue.kind === 'gelu') return [1, epilogue.out, 0, epilogue.tokens, epilogue.width];
  return [2, epilogue.residual, epilogue.out, epilogue.tokens, epilogue.width];
}

/** Runs an encoded epilogue (from `offset` in `ints`) over columns [start, end). */
export function runEpilogue(kernels: CpuKernels, ints: ArrayLike<number>, offset: number, start: number, end: number): void {
  const [kind, a, b, tokens, width] = [ints[offset], ints[offset + 1], ints[offset + 2], ints[offset + 3], ints[offset + 4]];
  if (kind === 1) kernels.geluColumns(a, tokens, width, start, end);
  else if (kind === 2) kernels.addColumns(a, b, tokens, width, start, end);
}

export interface KernelSplitter {
  /** Threads that compute (1: only the caller's). */
  readonly threads: number;
  /**
   * Runs `kernel(...args, start, end)` over [0, count), each range followed by `epilogue` on it,
   * and returns when every range is done. Ranges start at multiples of `align` (linear kernels do
   * four rows at a time).
   */
  run(kernel: SplitKernel, args: number[], count: number, align: number, epilogue?: Epilogue): void;
  /** Stops the threads (if any). */
  close(): void;
}

/** `count` items cut into `parts` ranges of multiples of `align` (the last takes the rest). */
export function splitRanges(count: number, parts: number, align: number): Array<[number, number]> {
  const step = Math.ceil(count / parts / align) * align;
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < count; start += step) ranges.push([start, Math.min(count, start + step)]);
  return ranges;
}

/** `kernel` over all of [0, count), then `epilogue`, on the calling thread. */
export function runWhole(kernels: CpuKernels, kernel: SplitKernel, args: number[], count: number, epilogue?: Epilogue): void {
  (kernels[kernel] as (...values: number[]) => void)(...args, 0, count);
  runEpilogue(kernels, encodeEpilogue(epilogue), 0, 0, count);
}

/** Everything on the calling thread. */
export class SingleThread implements KernelSplitter {
  readonly threads = 1;

  constructor(private readonly kernels: CpuKernels) {}

  run(kernel: SplitKernel, args: number[], count: number, _align: number, epilogue?: Epilogue): void {
    runWhole(this.kernels, kernel, args, count, epilogue);
  }

  close(): void {}
}
