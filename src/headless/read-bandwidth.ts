// The device's own read bandwidth: read-bandwidth.wgsl summing a buffer larger than any GPU cache
// (256 MiB, or the device's largest binding if smaller), once per dispatch, in the order and with
// the number of workgroups that suit the device best.
import { READ_LAYOUTS, readBandwidthKernel, type Kernel, type ReadLayout } from '../gpu/kernels.ts';
import { msPerRecordedRepeat, msPerRepeat, type RunStatistic } from './gpu-timing.ts';

const BUFFER_BYTES = 256 * 2 ** 20;
/**
 * Workgroup counts tried, with each read order, the best kept: a large GPU needs many threads in
 * flight (16384 × 64 threads each read 16 words), a software adapter runs workgroups one after
 * another on each core and pays for each (on SwiftShader 256 beat 4096 by ~20% in grid-stride
 * order, and 16 beat 256 by 10-30% in thread blocks).
 */
const WORKGROUP_COUNTS = [16, 64, 256, 1024, 4096, 16384];
const FILL_CHUNK_BYTES = 16 * 2 ** 20;

/** A read order and workgroup count. */
export type ReadChoice = Pick<ReadBandwidth, 'layout' | 'workgroups'>;

export interface ReadBandwidth {
  bytes: number;
  gbPerSecond: number;
  /** The read order and workgroup count that gave it. */
  layout: ReadLayout;
  workgroups: number;
}

/** The buffer to read and a pipeline per read order, made once, so that reads can be timed one
 *  at a time between other work. */
export class ReadBandwidthProbe {
  readonly bytes: number;
  private readonly data: GPUBuffer;
  private readonly partials: GPUBuffer;
  private readonly kernels = new Map<ReadLayout, { kernel: Kernel; bindGroup: GPUBindGroup }>();

  constructor(private readonly device: GPUDevice) {
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    this.bytes = Math.floor(Math.min(BUFFER_BYTES, limit) / 16) * 16;
    this.data = device.createBuffer({ label: 'read bandwidth data', size: this.bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    this.partials = device.createBuffer({ label: 'read bandwidth sums', size: Math.max(...WORKGROUP_COUNTS) * 64 * 4, usage: GPUBufferUsage.STORAGE });
    // Real values rather than the zeros a new buffer holds, in case a device treats those specially.
    const chunk = new Float32Array(FILL_CHUNK_BYTES / 4).map((_, i) => (i % 7) - 3);
    for (let offset = 0; offset < this.bytes; offset += FILL_CHUNK_BYTES) {
      device.queue.writeBuffer(this.data, offset, chunk, 0, Math.min(FILL_CHUNK_BYTES, this.bytes - offset) / 4);
    }
  }

  /** Records one read of the whole buffer. */
  recorder({ layout, workgroups }: ReadChoice): (pass: GPUComputePassEncoder) => void {
    let made = this.kernels.get(layout);
    if (!made) {
      const kernel = readBandwidthKernel(this.device, layout);
      made = { kernel, bindGroup: kernel.bind(this.device, [this.data, this.partials]) };
      this.kernels.set(layout, made);
    }
    const { kernel, bindGroup } = made;
    return (pass) => kernel.dispatch(pass, bindGroup, workgroups);
  }

  /** GB/s of one submission of `repeats` reads, with nothing else timed. */
  async gbPerSecondOnce(choice: ReadChoice, repeats: number): Promise<number> {
    return this.bytes / (await msPerRecordedRepeat(this.device, this.recorder(choice), repeats)) / 1e6;
  }

  destroy(): void {
    this.data.destroy();
    this.partials.destroy();
  }
}

/** Tries every read order and workgroup count, or only those of `only` (a best found earlier);
 *  each timed as the best of a few runs, or their median. */
export async function measureReadBandwidth(device: GPUDevice, only?: ReadChoice,
  statistic: RunStatistic = 'best'): Promise<ReadBandwidth> {
  const probe = new ReadBandwidthProbe(device);
  try {
    let best: { ms: number; layout: ReadLayout; workgroups: number } = { ms: Infinity, layout: READ_LAYOUTS[0], workgroups: 0 };
    for (const layout of only ? [only.layout] : READ_LAYOUTS) {
      for (const workgroups of only ? [only.workgroups] : WORKGROUP_COUNTS) {
        const ms = await msPerRepeat(device, probe.recorder({ layout, workgroups }), undefined, statistic);
        if (ms < best.ms) best = { ms, layout, workgroups };
      }
    }
    return { bytes: probe.bytes, gbPerSecond: probe.bytes / best.ms / 1e6, layout: best.layout, workgroups: best.workgroups };
  } finally {
    probe.destroy();
  }
}
