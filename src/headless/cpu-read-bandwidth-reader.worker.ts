// One reader thread of the CPU read-bandwidth measurement (see cpu-read-bandwidth.worker.ts): sums
// its range of the shared buffer with the kernels' `sumF32` each time the generation moves on.
// It never returns: the timing worker terminates it.
import { instantiateCpuKernels } from '../cpu/cpu-kernels.ts';
import { CONTROL, type ReaderInit } from './cpu-read-bandwidth-protocol.ts';

self.onmessage = async (event: MessageEvent<ReaderInit>) => {
  self.onmessage = null;
  const { kernels: module, memory, control, address, start, end } = event.data;
  let kernels;
  try {
    kernels = await instantiateCpuKernels(module, memory);
  } catch (error) {
    self.postMessage({ error: String(error) });
    return;
  }
  // Read before saying ready: the first pass may start as soon as the timing worker hears it.
  let generation = Atomics.load(control, CONTROL.generation);
  self.postMessage('ready');
  // Let 'ready' go out before this thread blocks for good.
  await new Promise((resolve) => setTimeout(resolve, 0));
  for (;;) {
    Atomics.wait(control, CONTROL.generation, generation);
    generation = Atomics.load(control, CONTROL.generation);
    kernels.sumF32(address, start, end);
    if (Atomics.sub(control, CONTROL.busy, 1) === 1) Atomics.notify(control, CONTROL.busy);
  }
};
