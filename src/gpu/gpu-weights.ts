// GPT-2's weights on the GPU: one storage buffer per parsed slot, filled piece by piece as the
// parser streams the file, so the whole file never sits in memory.
import { WeightKind, type MatrixDtype, type WeightSink, type WeightSlot } from '../model/weight-layout.ts';

/** A model needs more GPU memory per buffer than this device allows. */
export class GpuLimitError extends Error {
  override name = 'GpuLimitError';
}

export class GpuWeights implements WeightSink {
  private buffers: GPUBuffer[] = [];
  private slots: readonly WeightSlot[] = [];

  constructor(private readonly device: GPUDevice) {}

  allocate(slots: readonly WeightSlot[]): void {
    const limit = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    const largest = slots.reduce((a, b) => (b.byteLength > a.byteLength ? b : a));
    if (largest.byteLength > limit) {
      throw new GpuLimitError(
        `this model needs GPU buffers of ${formatMiB(largest.byteLength)} but this GPU allows at most ` +
          `${formatMiB(limit)} per buffer; choose a smaller model, or f16 weights`,
      );
    }
    this.slots = slots;
    this.buffers = slots.map((slot) =>
      this.device.createBuffer({
        label: `weight kind ${slot.kind} layer ${slot.layer}`,
        size: Math.ceil(slot.byteLength / 4) * 4,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      }),
    );
  }

  write(slotIndex: number, byteOffset: number, bytes: Uint8Array): void {
    this.device.queue.writeBuffer(this.buffers[slotIndex], byteOffset, bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The buffer holding `kind` (of `layer`, for per-layer kinds). */
  get(kind: WeightKind, layer = -1): GPUBuffer {
    const index = layer < 0 ? kind : 4 + layer * 12 + (kind - WeightKind.attnNormWeight);
    const slot = this.slots[index];
    if (!slot || slot.kind !== kind || slot.layer !== layer) throw new Error(`no weight of kind ${kind} for layer ${layer}`);
    return this.buffers[index];
  }

  /** How the matrices are stored (every rank-2 tensor shares one dtype). */
  get matrixDtype(): MatrixDtype {
    const tokenEmbedding = this.slots[WeightKind.tokenEmbedding];
    if (!tokenEmbedding) throw new Error('no weights are allocated yet');
    return tokenEmbedding.dtype;
  }

  get byteLength(): number {
    return this.slots.reduce((sum, slot) => sum + slot.byteLength, 0);
  }

  destroy(): void {
    for (const buffer of this.buffers) buffer.destroy();
    this.buffers = [];
    this.slots = [];
  }
}

function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}
