// The shared control block between KernelThreads (kernel-threads.ts) and each kernel thread
// (kernel-thread.ts): Int32s, one slot per helper thread.
//
//   [busy, failed, slot 0, slot 1, ...]
//   slot: [generation, kernel id, args × MAX_ARGS, rangeStart, rangeEnd, epilogue × EPILOGUE_INTS]
//
// The caller fills a slot and bumps its generation; the thread runs the kernel on the range, then
// the epilogue on it, and decrements `busy` (setting `failed` if either threw).
import { EPILOGUE_INTS, type SplitKernel } from './kernel-split.ts';

export const MAX_ARGS = 12;
/** Where a slot's epilogue starts, from the slot's first int. */
export const SLOT_EPILOGUE = 4 + MAX_ARGS;
export const SLOT_INTS = SLOT_EPILOGUE + EPILOGUE_INTS;
export const CONTROL = { busy: 0, failed: 1, slots: 2 } as const;

export const KERNEL_IDS: Record<SplitKernel, number> = { linearF32: 0, linearF16: 1, linearI8: 2, attention: 3, linearQ4: 4, attentionBf16: 5 };
export const KERNEL_NAMES = Object.keys(KERNEL_IDS) as SplitKernel[];

export function controlBlockInts(helpers: number): number {
  return CONTROL.slots + helpers * SLOT_INTS;
}

/** The first message to a kernel thread; it answers 'ready' (or { error }). */
export interface KernelThreadInit {
  kernels: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: Int32Array;
  /** Which slot is this thread's. */
  index: number;
}
