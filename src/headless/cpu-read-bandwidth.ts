// The CPU's read bandwidth as the CPU backend's kernels reach it: WASM SIMD sums over a 512 MiB
// buffer (larger than any CPU cache), with one thread and with `threads` reading at once, the
// best of several passes each. The timing happens in a worker of its own (cpu-read-bandwidth.worker.ts).
import { askWorker } from './ask-worker.ts';
import type { CpuReadBandwidth, ReadBandwidthRequest } from './cpu-read-bandwidth-protocol.ts';

export type { CpuReadBandwidth } from './cpu-read-bandwidth-protocol.ts';

const BUFFER_BYTES = 512 * 2 ** 20;
const PASSES = 10;

export function measureCpuReadBandwidth(threads: number): Promise<CpuReadBandwidth> {
  const worker = new Worker(new URL('./cpu-read-bandwidth.worker.ts', import.meta.url), { type: 'module', name: 'read bandwidth' });
  return askWorker<ReadBandwidthRequest, CpuReadBandwidth>(worker, 'measuring the CPU read bandwidth', { threads, bytes: BUFFER_BYTES, passes: PASSES });
}
