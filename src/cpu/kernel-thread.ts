// The body of a kernel thread (see kernel-threads.ts): instantiate the kernels on the shared
// memory, say ready, then forever wait for a run in the control block and work on its chunks
// (kernel-thread-protocol.ts).
// It never returns: the thread is terminated when its model is unloaded.
import { instantiateCpuKernels, type CpuKernels } from './cpu-kernels.ts';
import { CONTROL, workOnChunks, type KernelThreadInit } from './kernel-thread-protocol.ts';

/** Checks of the generation before sleeping: the gaps between a step's split kernels are shorter than a wake-up. */
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
  serve(kernels, init.control);
}

function serve(kernels: CpuKernels, control: Int32Array): never {
  // The block starts at generation 0; a run may already be waiting by the time this thread gets here.
  let generation = 0;
  for (;;) {
    for (let spin = 0; Atomics.load(control, CONTROL.generation) === generation; spin++) {
      if (spin > SPIN_ITERATIONS) Atomics.wait(control, CONTROL.generation, generation);
    }
    generation = Atomics.load(control, CONTROL.generation);
    workOnChunks(control, kernels);
  }
}
