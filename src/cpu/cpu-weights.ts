// GPT-2's weights in the CPU backend's WASM memory, written as the parser streams the file.
//
// f32 and f16 slots are copied as the parser lays them out ([out, in], f16 packed two per u32).
// int8 and q4 matrices are quantized on the way in: the parser delivers them as f32, each tensor's
// pieces in order, so every whole row is quantized (int8: one scale per row; q4: one per group of
// 32 columns) as soon as it has arrived and only a partial row waits in a small staging area. The
// whole f32 matrix never sits in memory.
//
// The weights lie one after another in one region of memory, which a saved layout holds byte for
// byte (src/storage/cpu-layout-store.ts): a later load lays out the same slots and reads it back.
import { slotIndex, WeightKind, type MatrixDtype, type WeightSink, type WeightSlot } from '../model/weight-layout.ts';
import type { CpuMemory } from './cpu-memory.ts';

export type CpuWeightsDtype = 'f32' | 'f16' | 'int8' | 'q4';
type QuantizedFormat = 'int8' | 'q4';

/** Where one tensor lives and how it is stored: its data, and for int8 / q4 matrices their scales (0 otherwise). */
export interface WeightPlacement {
  address: number;
  scales: number;
  format: CpuWeightsDtype;
}

/** q4 packs 32 columns (16 bytes of nibbles) per f32 scale, and one f32 more per row: assembly/cpu/linear-q4.ts. */
const Q4_GROUP = 32;

const STAGING_BYTES = 1 << 20;

/**
 * The version of what CpuWeights writes into memory: bump it whenever that changes (quantization,
 * the order or alignment of the tensors), so that layouts saved by an older app are not used.
 */
export const CPU_LAYOUT_VERSION = 3;

/**
 * wte's format under q4. wte is both the embedding and the LM head, whose logits every token is
 * chosen from, and int8 there costs a third of q4's error: held-out loss of the demo model +0.013
 * nats/token over F16 (q4 wte: +0.041); on the tiny fixture max logit error 5.5 and top-1 agreement
 * 61% (q4 wte: 6.7, 51%). q4 would read 8/13 of the bytes for the head (124M: 24 MB against 39).
 */
const Q4_LM_HEAD_FORMAT: QuantizedFormat = 'int8';

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
      const format = this.quantizedFormat(slot);
      if (!format) {
        this.bytes += slot.byteLength;
        return { address: this.cpu.allocate(slot.byteLength, what), scales: 0, format: slot.dtype };
      }
      if (format === 'q4' && slot.cols % Q4_GROUP !== 0) {
        throw new Error(`q4 weights need rows of a multiple of ${Q4_GROUP} columns, but tensor ${index + 1} has ${slot.cols}: choose int8`);
      }
      largestRow = Math.max(largestRow, slot.cols * 4);
      const { dataBytes, scaleBytes } = matrixRowBytes(format, slot.cols);
      this.bytes += slot.rows * (dataBytes + scaleBytes);
      return { address: this.cpu.allocate(slot.rows * dataBytes, what), scales: this.cpu.allocate(slot.rows * scaleBytes, what), format };
    });
    this.regionStart = this.placements[0]?.address ?? 0;
    this.regionEnd = this.cpu.byteLength;
    if (largestRow > 0 && !forSavedLayout) {
      this.stagingBytes = Math.max(STAGING_BYTES, 2 * largestRow);
      this.staging = this.cpu.allocate(this.stagingBytes, `${this.dtype} quantization`);
    }
  }

  write(slot: number, byteOffset: number, bytes: Uint8Array): void {
    const format = this.quantizedFormat(this.slots[slot]);
    if (!format) {
      this.cpu.bytes(this.placements[slot].address + byteOffset, bytes.length).set(bytes);
      return;
    }
    const { cols } = this.slots[slot];
    const rowBytes = cols * 4;
    if (this.quantizing.slot !== slot) this.quantizing = { slot, rowsDone: 0 };
    if (byteOffset !== this.quantizing.rowsDone * rowBytes + this.staged) {
      throw new Error(`${format} quantization expected the bytes of tensor ${slot} in order, but got offset ${byteOffset}: this is a bug`);
    }
    const { address, scales } = this.placements[slot];
    const { dataBytes, scaleBytes } = matrixRowBytes(format, cols);
    const quantizeRows = format === 'q4' ? this.cpu.kernels.quantizeRowsQ4 : this.cpu.kernels.quantizeRowsI8;
    for (let consumed = 0; consumed < bytes.length;) {
      const take = Math.min(bytes.length - consumed, this.stagingBytes - this.staged);
      this.cpu.bytes(this.staging + this.staged, take).set(bytes.subarray(consumed, consumed + take));
      consumed += take;
      this.staged += take;
      const rows = Math.floor(this.staged / rowBytes);
      if (rows === 0) continue;
      const row = this.quantizing.rowsDone;
      quantizeRows(address + row * dataBytes, scales + row * scaleBytes, this.staging, rows, cols);
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

  /** Bytes the weights take in memory (int8 / q4 scales included, staging not). */
  get byteLength(): number {
    return this.bytes;
  }

  /**
   * int8 and q4 cover the matrices every token reads whole; wpe (one row per token) stays f32. Under
   * q4, wte (the embedding and the tied LM head) is int8: see Q4_LM_HEAD_FORMAT.
   */
  private quantizedFormat(slot: WeightSlot): QuantizedFormat | null {
    if (this.dtype !== 'int8' && this.dtype !== 'q4') return null;
    if (slot.rows <= 1 || slot.kind === WeightKind.positionEmbedding) return null;
    return this.dtype === 'q4' && slot.kind === WeightKind.tokenEmbedding ? Q4_LM_HEAD_FORMAT : this.dtype;
  }

  /** How `kind` is stored: the model's format for matrices (wpe: f32 under int8 and q4, wte: see above), f32 for vectors. */
  formatOf(kind: WeightKind): CpuWeightsDtype {
    const slot = this.slots[slotIndex(kind, kind < WeightKind.attnNormWeight ? -1 : 0)];
    return this.quantizedFormat(slot) ?? slot.dtype;
  }
}

/**
 * Bytes per row of a matrix `cols` wide stored as `format`: its values, and its scales (int8: an f32
 * scale and the i32 sum of the row's values; q4: an f32 per group of 32, then the row's scaled sum).
 */
export function matrixRowBytes(format: CpuWeightsDtype, cols: number): { dataBytes: number; scaleBytes: number } {
  switch (format) {
    case 'f32':
      return { dataBytes: cols * 4, scaleBytes: 0 };
    case 'f16':
      return { dataBytes: cols * 2, scaleBytes: 0 };
    case 'int8':
      return { dataBytes: cols, scaleBytes: 8 };
    case 'q4':
      return { dataBytes: cols / 2, scaleBytes: (cols / Q4_GROUP + 1) * 4 };
  }
}

/** How wte (the embedding and the tied LM head) is stored when the other matrices are `dtype`. */
export function lmHeadFormat(dtype: CpuWeightsDtype): CpuWeightsDtype {
  return dtype === 'q4' ? Q4_LM_HEAD_FORMAT : dtype;
}
