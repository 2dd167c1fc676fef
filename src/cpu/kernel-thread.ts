// The body of a kernel thread (see kernel-threads.ts): instantiate the kernels on the shared
// memory, say ready, then forever wait for work in this thread's slot, run it (and its epilogue),
// and report done.
// It never returns: the thread is terminated when its model is unloaded.
import { instantiateCpuKernels, type CpuKernels } from './cpu-kernels.ts';
import { runEpilogue } from './kernel-split.ts';
import { CONTROL, KERNEL_NAMES, MAX_ARGS, SLOT_EPILOGUE, SLOT_INTS, type KernelThreadInit } from './kernel-thread-protocol.ts';

const SPIN_ITERATIONS = 20000;

export async function startKernelThread(init: KernelThreadInit, reply: (message: unknown) => void): Promise<void> {
  let kernels: CpuKernels;
  try {
    kernels = await instantiateCpuKernels(init.kernels, init.memory);
  } catch (error) {
    reply({ error: String(error) });
    return;
  }
  reply('ready');
  // Let the 'ready' message go out before this thread blocks for good.
  await new Promise((resolve) => setTimeout(resolve, 0));
  serve(kernels, init.control, CONTROL.slots + init.index * SLOT_INTS);
}

function serve(kernels: CpuKernels, control: Int32Array, slot: number): never {
  // Slots start at generation 0; work may already be waiting by the time this thread gets here.
  let generation = 0;
  const args = new Array<number>(MAX_ARGS);
  for (;;) {
    for (let spin = 0; Atomics.load(control, slot) === generation; spin++) {
      if (spin > SPIN_ITERATIONS) Atomics.wait(control, slot, generation);
    }
    generation = Atomics.load(control, slot);
    const kernel = kernels[KERNEL_NAMES[control[slot + 1]]] as (...values: number[]) => void;
    for (let i = 0; i < MAX_ARGS; i++) args[i] = control[slot + 2 + i];
    try {
      const [start, end] = [control[slot + 2 + MAX_ARGS], control[slot + 3 + MAX_ARGS]];
      kernel(...args.slice(0, kernel.length - 2), start, end);
      runEpilogue(kernels, control, slot + SLOT_EPILOGUE, start, end);
    } catch {
      Atomics.store(control, CONTROL.failed, 1);
    }
    if (Atomics.sub(control, CONTROL.busy, 1) === 1) Atomics.notify(control, CONTROL.busy);
  }
}
