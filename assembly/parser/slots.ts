// The output layout (src/model/weight-layout.ts): slots 0..3 hold the model-wide tensors, then
// each layer has 12 slots, one per WeightKind 4..15. Every matrix is [out, in] row-major.
import { ModelConfig } from './config';

export const MODEL_WIDE_SLOTS: i32 = 4;
export const SLOTS_PER_LAYER: i32 = 12;

export const DTYPE_F32: i32 = 0;
export const DTYPE_F16: i32 = 1;

// How the checkpoint stores a slot's tensor.
const VECTOR: i32 = 0; // 1-D [cols]
const MATRIX: i32 = 1; // [rows, cols], as the slot
const CONV1D: i32 = 2; // HF Conv1D [in, out] = [cols, rows]: the slot holds it transposed

export class Slot {
  constructor(
    readonly kind: i32,
    readonly layer: i32, // -1 for the model-wide tensors
    readonly rows: i32, // 1 for vectors
    readonly cols: i32,
    private readonly storage: i32,
  ) {}

  get isMatrix(): bool {
    return this.storage != VECTOR;
  }

  get transposed(): bool {
    return this.storage == CONV1D;
  }

  get elementCount(): i32 {
    return this.rows * this.cols;
  }

  /** The shape the checkpoint stores this tensor with. */
  sourceShape(): u64[] {
    if (this.storage == VECTOR) return [<u64>this.cols];
    if (this.storage == CONV1D) return [<u64>this.cols, <u64>this.rows];
    return [<u64>this.rows, <u64>this.cols];
  }

  /** Matrices take the model's matrix dtype; vectors are always f32. */
  dtype(matrixDtype: i32): i32 {
    return this.isMatrix ? matrixDtype : DTYPE_F32;
  }

  /** f16 packs two halves per u32, so an odd count is padded with one zero half. */
  byteLength(matrixDtype: i32): u64 {
    const count = <u64>this.elementCount;
    return this.dtype(matrixDtype) == DTYPE_F16 ? ((count + 1) / 2) * 4 : count * 4;
  }
}

export function buildSlots(config: ModelConfig): Slot[] {
  const d = config.nEmbd;
  const slots: Slot[] = [
    new Slot(0, -1, config.vocabSize, d, MATRIX), // wte
    new Slot(1, -1, config.nCtx, d, MATRIX), // wpe
    new Slot(2, -1, 1, d, VECTOR), // ln_f.weight
    new Slot(3, -1, 1, d, VECTOR), // ln_f.bias
  ];
  for (let layer = 0; layer < config.nLayer; layer++) {
    slots.push(new Slot(4, layer, 1, d, VECTOR)); // ln_1.weight
    slots.push(new Slot(5, layer, 1, d, VECTOR)); // ln_1.bias
    slots.push(new Slot(6, layer, 3 * d, d, CONV1D)); // attn.c_attn.weight: Q, K, V stacked
    slots.push(new Slot(7, layer, 1, 3 * d, VECTOR)); // attn.c_attn.bias
    slots.push(new Slot(8, layer, d, d, CONV1D)); // attn.c_proj.weight
    slots.push(new Slot(9, layer, 1, d, VECTOR)); // attn.c_proj.bias
    slots.push(new Slot(10, layer, 1, d, VECTOR)); // ln_2.weight
    slots.push(new Slot(11, layer, 1, d, VECTOR)); // ln_2.bias
    slots.push(new Slot(12, layer, 4 * d, d, CONV1D)); // mlp.c_fc.weight
    slots.push(new Slot(13, layer, 1, 4 * d, VECTOR)); // mlp.c_fc.bias
    slots.push(new Slot(14, layer, d, 4 * d, CONV1D)); // mlp.c_proj.weight
    slots.push(new Slot(15, layer, 1, d, VECTOR)); // mlp.c_proj.bias
  }
  return slots;
}
