// The GPU-ready layout of GPT-2's weights, as the AssemblyScript parser produces them.
//
// Every matrix is stored row-major as [outFeatures, inFeatures] (HF's Conv1D stores [in, out];
// the parser transposes), so every linear layer, the tied LM head included, is "dot each weight
// row with the input row". c_attn stays fused: rows [0, d) are Q, [d, 2d) K, [2d, 3d) V.
// Rank-2 tensors use the model's matrix dtype (f32, or f16 packed two per u32, the even element in
// the low half); vectors (biases, LayerNorm) are always f32.

export const WeightKind = {
  tokenEmbedding: 0, // wte [vocab, d], also the LM head
  positionEmbedding: 1, // wpe [nCtx, d]
  finalNormWeight: 2, // ln_f.weight [d]
  finalNormBias: 3, // ln_f.bias [d]
  attnNormWeight: 4, // h.i.ln_1.weight [d]
  attnNormBias: 5, // h.i.ln_1.bias [d]
  qkvWeight: 6, // h.i.attn.c_attn.weight, transposed to [3d, d]
  qkvBias: 7, // h.i.attn.c_attn.bias [3d]
  attnProjWeight: 8, // h.i.attn.c_proj.weight, transposed to [d, d]
  attnProjBias: 9, // h.i.attn.c_proj.bias [d]
  mlpNormWeight: 10, // h.i.ln_2.weight [d]
  mlpNormBias: 11, // h.i.ln_2.bias [d]
  mlpUpWeight: 12, // h.i.mlp.c_fc.weight, transposed to [4d, d]
  mlpUpBias: 13, // h.i.mlp.c_fc.bias [4d]
  mlpDownWeight: 14, // h.i.mlp.c_proj.weight, transposed to [d, 4d]
  mlpDownBias: 15, // h.i.mlp.c_proj.bias [d]
} as const;
export type WeightKind = (typeof WeightKind)[keyof typeof WeightKind];

export type MatrixDtype = 'f32' | 'f16';

export interface WeightSlot {
  kind: WeightKind;
  layer: number; // -1 for the four model-wide tensors
  rows: number; // 1 for vectors
  cols: number;
  dtype: MatrixDtype; // always 'f32' for vectors
  byteLength: number; // f16: ceil(rows * cols / 2) * 4
}

/** Where parsed weights go (GPU buffers, or CPU memory). */
export interface WeightSink {
  /** Called once before any data, with every slot the model needs, in slot-index order. */
  allocate(slots: readonly WeightSlot[]): void;
  /** Copies `bytes` into slot `slotIndex` at `byteOffset`; `bytes` is only valid during the call. */
  write(slotIndex: number, byteOffset: number, bytes: Uint8Array): void;
}

/** The slot index of `kind` (of `layer`, for the per-layer kinds): 4 model-wide slots, then 12 per layer. */
export function slotIndex(kind: WeightKind, layer = -1): number {
  return layer < 0 ? kind : 4 + layer * 12 + (kind - WeightKind.attnNormWeight);
}
