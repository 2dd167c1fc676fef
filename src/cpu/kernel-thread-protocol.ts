// The shared control block between KernelThreads (kernel-threads.ts) and the kernel threads
// (kernel-thread.ts), Int32s:
//
//   [generation, claim, done, failed, kernel id, count, chunk, args × MAX_ARGS, epilogue × EPILOGUE_INTS]
//
// The caller writes a run (a split kernel over items [0, count) in chunks of `chunk`), resets
// `done`, publishes `claim` and bumps `generation`: the threads' signal to go. Every thread, the
// caller too, then claims chunks until none is left and runs the kernel and its epilogue on each;
// `done` counts the chunks finished. Claiming, rather than a fixed range per thread, keeps a thread
// that woke late or shares its core from holding up the others: they take its chunks.
//
// `claim` holds the run's number of chunks beside the next chunk's index, so one atomic
// compare-and-swap both checks that a chunk is left and takes it. The run is read only after
// that: the caller writes the next run only once every chunk of this one is done, so a claimed
// chunk's run cannot change under it, and a thread that woke late can only take chunks of the run
// the block holds. (Reading the run first would let a late thread pair a finished run's last
// claim with the next run's larger count, and take a chunk that does not exist.)
import type { CpuKernels } from './cpu-kernels.ts';
import { EPILOGUE_INTS, runEpilogue, type SplitKernel } from './kernel-split.ts';

export const MAX_ARGS = 12;
export const CONTROL = { generation: 0, claim: 1, done: 2, failed: 3, kernel: 4, count: 5, chunk: 6, args: 7, epilogue: 7 + MAX_ARGS } as const;
export const CONTROL_INTS = CONTROL.epilogue + EPILOGUE_INTS;

/** Chunks a run may have: `claim` keeps the index in its low 16 bits and the count above. */
export const MAX_CHUNKS = 0x7fff;

/** The claim word of a run of `chunks` chunks whose first `taken` are claimed. */
export function claimWord(chunks: number, taken = 0): number {
  return (chunks << 16) | taken;
}

export const KERNEL_IDS: Record<SplitKernel, number> = { linearF32: 0, linearF16: 1, linearI8: 2, attention: 3, linearQ4: 4, attentionBf16: 5 };
export const KERNEL_NAMES = Object.keys(KERNEL_IDS) as SplitKernel[];

/** The first message to a kernel thread; it answers 'ready' (or { error }). */
export interface KernelThreadInit {
  kernels: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: Int32Array;
}

/** A kernel call's arguments, kept to spare an array a chunk (each thread has its own module). */
const callArgs: number[] = [];

/**
 * Claims chunks of the run in `control` and runs each (kernel, then epilogue) with `kernels` until
 * none is left; returns the first error this thread's chunks threw (having marked the run
 * failed), or null. A chunk that throws still counts as done, so that the caller is not left
 * waiting.
 */
export function workOnChunks(control: Int32Array, kernels: CpuKernels): unknown {
  let error: unknown = null;
  for (;;) {
    const claim = Atomics.load(control, CONTROL.claim);
    const chunks = claim >>> 16;
    const index = claim & 0xffff;
    if (index >= chunks) return error;
    if (Atomics.compareExchange(control, CONTROL.claim, claim, claim + 1) !== claim) continue;
    const chunk = control[CONTROL.chunk];
    const start = index * chunk;
    const end = Math.min(control[CONTROL.count], start + chunk);
    try {
      const kernel = kernels[KERNEL_NAMES[control[CONTROL.kernel]]] as (...values: number[]) => void;
      const arity = kernel.length;
      for (let i = 0; i < arity - 2; i++) callArgs[i] = control[CONTROL.args + i];
      callArgs[arity - 2] = start;
      callArgs[arity - 1] = end;
      callArgs.length = arity;
      kernel.apply(undefined, callArgs);
      runEpilogue(kernels, control, CONTROL.epilogue, start, end);
    } catch (thrown) {
      error ??= thrown;
      Atomics.store(control, CONTROL.failed, 1);
    }
    if (Atomics.add(control, CONTROL.done, 1) + 1 === chunks) Atomics.notify(control, CONTROL.done);
  }
}
