// The device's own read bandwidth: read-bandwidth.wgsl summing a buffer larger than any GPU cache
// (256 MiB, or the device's largest binding if smaller), once per dispatch, in the order and with
// the number of workgroups that suit the device best.
import { READ_LAYOUTS, readBandwidthKernel, type ReadLayout } from '../gpu/kernels.ts';
import { msPerRepeat, type RunStatistic } from './gpu-timing.ts';

const BUFFER_BYTES = 256 * 2 ** 20;
/**
 * Workgroup counts tried, with each read order, the best kept: a large GPU needs many threads in
 * flight (16384 × 64 threads each read 16 words), a software adapter runs workgroups one after
 * another on each core and pays for each (on SwiftShader 256 beat 4096 by ~20% in grid-stride
 * order, and 16 beat 256 by 10-30% in thread blocks).
 */
const WORKGROUP_COUNTS = [16, 64, 256, 1024, 4096, 16384];
const FILL_CHUNK_BYTES = 16 * 2 ** 20;

export interface ReadBandwidth {
  bytes: number;
  gbPerSecond: number;
  /** The read order and workgroup count that gave it. */
  layout: ReadLayout;
  workgroups: number;
}

/** Tries every read order and workgroup count, or only those of `only` (a best found earlier);
 *  each timed as the best of a few runs, or their median. */
export async function measureReadBandwidth(device: GPUDevice, only?: Pick<ReadBandwidth, 'layout' | 'workgroups'>,
  statistic: RunStatistic = 'best'): Promise<ReadBandwidth> {
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const bytes = Math.floor(Math.min(BUFFER_BYTES, limit) / 16) * 16;
  const data = device.createBuffer({ label: 'read bandwidth data', size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const partials = device.createBuffer({ label: 'read bandwidth sums', size: Math.max(...WORKGROUP_COUNTS) * 64 * 4, usage: GPUBufferUsage.STORAGE });
  try {
    // Real values rather than the zeros a new buffer holds, in case a device treats those specially.
    const chunk = new Float32Array(FILL_CHUNK_BYTES / 4).map((_, i) => (i % 7) - 3);
    for (let offset = 0; offset < bytes; offset += FILL_CHUNK_BYTES) {
      device.queue.writeBuffer(data, offset, chunk, 0, Math.min(FILL_CHUNK_BYTES, bytes - offset) / 4);
    }
    let best: { ms: number; layout: ReadLayout; workgroups: number } = { ms: Infinity, layout: READ_LAYOUTS[0], workgroups: 0 };
    for (const layout of only ? [only.layout] : READ_LAYOUTS) {
      const kernel = readBandwidthKernel(device, layout);
      const bindGroup = kernel.bind(device, [data, partials]);
      for (const workgroups of only ? [only.workgroups] : WORKGROUP_COUNTS) {
        const ms = await msPerRepeat(device, (pass) => kernel.dispatch(pass, bindGroup, workgroups), undefined, statistic);
        if (ms < best.ms) best = { ms, layout, workgroups };
      }
    }
    return { bytes, gbPerSecond: bytes / best.ms / 1e6, layout: best.layout, workgroups: best.workgroups };
  } finally {
    data.destroy();
    partials.destroy();
  }
}
