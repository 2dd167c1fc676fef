// GPT-2's weights in the CPU backend's WASM memory, written as the parser streams the file.
//
// f32 and f16 slots are copied as the parser lays them out ([out, in], f16 packed two per u32).
// int8 matrices are quantized on the way in: the parser delivers them as f32, each tensor's pieces
// in order, so every whole row is quantized (one scale per row) as soon as it has arrived and
// only a partial row waits in a small staging area. The whole f32 matrix never sits in memory.
//
// The weights lie one after another in one region of memory, which a saved layout holds byte for
// byte (src/worker/cpu-layout-cache.ts): a later load lays out the same slots and reads it back.
import { slotIndex, WeightKind, type MatrixDtype, type WeightSink, type WeightSlot } from '../model/weight-layout.ts';
import type { CpuMemory } from './cpu-memory.ts';

export type CpuWeightsDtype = 'f32' | 'f16' | 'int8';

/** Where one tensor lives: its data, and for int8 matrices its per-row f32 scales (0 otherwise). */
export interface WeightPlacement {
  address: number;
  scales: number;
}

const STAGING_BYTES = 1 << 20;

/**
 * The version of what CpuWeights writes into memory: bump it whenever that changes (quantization,
 * the order or alignment of the tensors), so that layouts saved by an older app are not used.
 */
export const CPU_LAYOUT_VERSION = 1;

export class CpuWeights implements WeightSink {
  private slots: readonly WeightSlot[] = [];
  private placements: WeightPlacement[] = [];
  private bytes = 0;
  // int8: the f32 bytes of the matrix being quantized that do not make a whole row yet.
  private staging = 0;
  private stagingBytes = 0;
  private staged = 0;
  private quantizing = { slot: -1, rowsDone: 0 };
  private regionStart = 0;
  private regionEnd = 0;

  constructor(private readonly cpu: CpuMemory, readonly dtype: CpuWeightsDtype) {}

  /** What the parser should produce for this dtype: int8 is quantized here, from f32. */
  get parserDtype(): MatrixDtype {
    return this.dtype === 'f16' ? 'f16' : 'f32';
  }

  /**
   * Places every slot; with `forSavedLayout`, no staging area, as the region will be read whole
   * from a saved layout instead of written by the parser.
   */
  allocate(slots: readonly WeightSlot[], forSavedLayout = false): void {
    this.slots = slots;
    let largestRow = 0;
    this.placements = slots.map((slot, index) => {
      const what = `the model's weights (tensor ${index + 1} of ${slots.length})`;
      if (!this.isQuantized(slot)) {
        this.bytes += slot.byteLength;
        return { address: this.cpu.allocate(slot.byteLength, what), scales: 0 };
      }
      largestRow = Math.max(largestRow, slot.cols * 4);
      this.bytes += slot.rows * slot.cols + slot.rows * 4;
      return { address: this.cpu.allocate(slot.rows * slot.cols, what), scales: this.cpu.allocate(slot.rows * 4, what) };
    });
    this.regionStart = this.placements[0]?.address ?? 0;
    this.regionEnd = this.cpu.byteLength;
    if (largestRow > 0 && !forSavedLayout) {
      this.stagingBytes = Math.max(STAGING_BYTES, 2 * largestRow);
      this.staging = this.cpu.allocate(this.stagingBytes, 'int8 quantization');
    }
  }

  write(slot: number, byteOffset: number, bytes: Uint8Array): void {
    if (!this.isQuantized(this.slots[slot])) {
      this.cpu.bytes(this.placements[slot].address + byteOffset, bytes.length).set(bytes);
      return;
    }
    const { cols } = this.slots[slot];
    const rowBytes = cols * 4;
    if (this.quantizing.slot !== slot) this.quantizing = { slot, rowsDone: 0 };
    if (byteOffset !== this.quantizing.rowsDone * rowBytes + this.staged) {
      throw new Error(`int8 quantization expected the bytes of tensor ${slot} in order, but got offset ${byteOffset}: this is a bug`);
    }
    const { address, scales } = this.placements[slot];
    for (let consumed = 0; consumed < bytes.length;) {
      const take = Math.min(bytes.length - consumed, this.stagingBytes - this.staged);
      this.cpu.bytes(this.staging + this.staged, take).set(bytes.subarray(consumed, consumed + take));
      consumed += take;
      this.staged += take;
      const rows = Math.floor(this.staged / rowBytes);
      if (rows === 0) continue;
      const row = this.quantizing.rowsDone;
      this.cpu.kernels.quantizeRowsI8(address + row * cols, scales + row * 4, this.staging, rows, cols);
      this.quantizing.rowsDone += rows;
      const rest = this.staged - rows * rowBytes;
      this.cpu.bytes(this.staging, this.stagingBytes).copyWithin(0, rows * rowBytes, this.staged);
      this.staged = rest;
    }
  }

  /** Where `kind` (of `layer`, for per-layer kinds) is. */
  get(kind: WeightKind, layer = -1): WeightPlacement {
    const index = slotIndex(kind, layer);
    const slot = this.slots[index];
    if (!slot || slot.kind !== kind || slot.layer !== layer) throw new Error(`no weight of kind ${kind} for layer ${layer}`);
    return this.placements[index];
  }

  /** The slots as allocated: with the region's bytes, what a saved layout needs. */
  get layoutSlots(): readonly WeightSlot[] {
    return this.slots;
  }

  /** Bytes [offset, offset + length) of the weights' region (a view: valid until memory grows). */
  regionBytes(offset: number, length: number): Uint8Array {
    if (offset < 0 || offset + length > this.regionLength) {
      throw new RangeError(`bytes [${offset}, ${offset + length}) are outside the weights' ${this.regionLength} bytes`);
    }
    return this.cpu.bytes(this.regionStart + offset, length);
  }

  /** The length of the memory region that holds every weight, alignment gaps included. */
  get regionLength(): number {
    return this.regionEnd - this.regionStart;
  }

  /** Bytes the weights take in memory (int8 scales included, staging not). */
  get byteLength(): number {
    return this.bytes;
  }

  /** int8 covers the matrices every token reads whole; wpe (one row per token) stays f32. */
  private isQuantized(slot: WeightSlot): boolean {
    return this.dtype === 'int8' && slot.rows > 1 && slot.kind !== WeightKind.positionEmbedding;
  }

  /** How `kind` is stored: the model's format for matrices (wpe: f32 under int8), f32 for vectors. */
  formatOf(kind: WeightKind): CpuWeightsDtype {
    const slot = this.slots[slotIndex(kind, kind < WeightKind.attnNormWeight ? -1 : 0)];
    if (this.isQuantized(slot)) return 'int8';
    return slot.dtype;
  }
}
