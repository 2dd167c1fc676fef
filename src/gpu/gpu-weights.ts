// GPT-2's weights on the GPU: one storage buffer per parsed slot, filled piece by piece as the
// parser streams the file, so the whole file never sits in memory. A device caps the size of one
// buffer, so whether a model fits is known from its config before any weight is read.
import type { Gpt2Config } from '../model/config.ts';
import { WeightKind, slotIndex, type MatrixDtype, type WeightSink, type WeightSlot } from '../model/weight-layout.ts';
import { MODEL_CATALOG } from '../models/catalog.ts';

/** A model needs more GPU memory per buffer than this device allows. */
export class GpuLimitError extends Error {
  override name = 'GpuLimitError';
}

export type BufferLimits = Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>;

/** The most bytes one weight buffer may hold: each is created whole and bound whole as storage. */
export function bufferLimit(limits: BufferLimits): number {
  return Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
}

/**
 * Bytes of the largest weight buffer a model of this shape needs, as the parser sizes its slots:
 * the largest matrix is wte [vocab, d], wpe [nCtx, d] or c_fc [4d, d] (wte for every GPT-2), and
 * f16 packs two elements per u32. Vectors are at most 4d floats, never the largest.
 */
export function largestWeightBytes(config: Gpt2Config, dtype: MatrixDtype): number {
  const d = config.nEmbd;
  const elements = Math.max(config.vocabSize * d, config.nCtx * d, 4 * d * d);
  return dtype === 'f16' ? Math.ceil(elements / 2) * 4 : elements * 4;
}

/**
 * Why this device cannot hold a model of this shape with `dtype` matrices, and what would fit
 * instead (the same model with f16 weights, and the largest catalog model); null if it fits.
 */
export function bufferLimitReason(config: Gpt2Config, dtype: MatrixDtype, limits: BufferLimits): string | null {
  const limit = bufferLimit(limits);
  const needed = largestWeightBytes(config, dtype);
  if (needed <= limit) return null;
  const fitsAsF16 = dtype === 'f32' && largestWeightBytes(config, 'f16') <= limit;
  return `this model needs GPU buffers of ${formatMiB(needed)} but this GPU allows at most ${formatMiB(limit)} per buffer; ` +
    (fitsAsF16 ? 'it fits with f16 weights (choose f16 in the settings). ' : '') +
    largestCatalogModelThatFits(limit);
}

function largestCatalogModelThatFits(limit: number): string {
  const bySizeDescending = [...MODEL_CATALOG].sort((a, b) => b.parameters - a.parameters);
  const fitting = bySizeDescending.find((entry) => largestWeightBytes(entry.config, 'f16') <= limit);
  if (!fitting) {
    const smallest = bySizeDescending.at(-1)!;
    return `No catalog model fits this GPU either (even ${smallest.label} needs ${formatMiB(largestWeightBytes(smallest.config, 'f16'))} ` +
      'with f16 weights): use a device or browser whose WebGPU allows larger buffers.';
  }
  const dtypes = largestWeightBytes(fitting.config, 'f32') <= limit ? 'f32 or f16' : 'f16';
  return `The largest model that fits this GPU is ${fitting.label}, with ${dtypes} weights.`;
}

export class GpuWeights implements WeightSink {
  private buffers: GPUBuffer[] = [];
  private slots: readonly WeightSlot[] = [];

  constructor(private readonly device: GPUDevice) {}

  allocate(slots: readonly WeightSlot[]): void {
    // The engine checks the config against the limits first (bufferLimitReason); this guards any other caller.
    const limit = bufferLimit(this.device.limits);
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
    const index = slotIndex(kind, layer);
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
