// The CPU backend's decode-step linear layers timed alone (cpu-kernel-profile.worker.ts), in a
// worker of its own because kernel threads are waited for with Atomics.wait.
import { askWorker } from './ask-worker.ts';
import type { CpuProfileRequest } from './cpu-kernel-profile.worker.ts';
import type { KernelTiming } from './kernel-profile.ts';

const PASSES = 20;

export function profileCpuLinearKernels(request: Omit<CpuProfileRequest, 'passes'>): Promise<KernelTiming[]> {
  const worker = new Worker(new URL('./cpu-kernel-profile.worker.ts', import.meta.url), { type: 'module', name: 'cpu kernel profile' });
  return askWorker<CpuProfileRequest, KernelTiming[]>(worker, 'profiling the CPU kernels', { ...request, passes: PASSES });
}
