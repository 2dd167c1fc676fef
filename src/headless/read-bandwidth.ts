// The device's own read bandwidth: read-bandwidth.wgsl summing a buffer larger than any GPU cache
// (256 MiB, or the device's largest binding if smaller), once per dispatch, with the number of
// workgroups that suits the device best.
import { readBandwidthKernel } from '../gpu/kernels.ts';
import { msPerRepeat } from './gpu-timing.ts';

const BUFFER_BYTES = 256 * 2 ** 20;
/**
 * Workgroup counts tried, the best kept: a large GPU needs many threads in flight (16384 × 64
 * threads each read 16 words), a software adapter runs workgroups one after another on each core
 * and pays for each (on SwiftShader 256 beat 4096 by ~20%).
 */
const WORKGROUP_COUNTS = [256, 1024, 4096, 16384];
const FILL_CHUNK_BYTES = 16 * 2 ** 20;

export interface ReadBandwidth {
  bytes: number;
  gbPerSecond: number;
}

export async function measureReadBandwidth(device: GPUDevice): Promise<ReadBandwidth> {
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
    const kernel = readBandwidthKernel(device);
    const bindGroup = kernel.bind(device, [data, partials]);
    let bestMs = Infinity;
    for (const workgroups of WORKGROUP_COUNTS) {
      bestMs = Math.min(bestMs, await msPerRepeat(device, (pass) => kernel.dispatch(pass, bindGroup, workgroups)));
    }
    return { bytes, gbPerSecond: bytes / bestMs / 1e6 };
  } finally {
    data.destroy();
    partials.destroy();
  }
}
