// Kernels whose work splits into independent ranges (rows of a linear layer, attention heads),
// and the single-threaded way to run them. src/cpu/kernel-threads.ts runs them across workers.
import type { CpuKernels } from './cpu-kernels.ts';

/** Kernels whose last two arguments are a range [start, end) of the items they compute. */
export type SplitKernel = 'linearF32' | 'linearF16' | 'linearI8' | 'attention';

export interface KernelSplitter {
  /** Threads that compute (1: only the caller's). */
  readonly threads: number;
  /**
   * Runs `kernel(...args, start, end)` over [0, count) and returns when every range is done.
   * Ranges start at multiples of `align` (linear kernels do four rows at a time).
   */
  run(kernel: SplitKernel, args: number[], count: number, align: number): void;
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

/** Everything on the calling thread. */
export class SingleThread implements KernelSplitter {
  readonly threads = 1;

  constructor(private readonly kernels: CpuKernels) {}

  run(kernel: SplitKernel, args: number[], count: number): void {
    (this.kernels[kernel] as (...values: number[]) => void)(...args, 0, count);
  }

  close(): void {}
}
