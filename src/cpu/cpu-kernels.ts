// Typed access to the CPU backend's WASM SIMD kernels (assembly/cpu/). Every pointer is a byte
// address in the memory the kernels were instantiated with; sizes are element counts.

export interface CpuKernels {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  /** out[t, r] = x[t] · W[r] + b[r] for rows [rowStart, rowEnd); x is `splitEvenOdd`-ed for f16. */
  linearF32(out: number, x: number, weight: number, bias: number, tokens: number, rows: number, cols: number, rowStart: number, rowEnd: number): void;
  linearF16(out: number, xSplit: number, weight: number, bias: number, tokens: number, rows: number, cols: number, rowStart: number, rowEnd: number): void;
  linearI8(out: number, xq: number, xScales: number, weight: number, weightScales: number, bias: number,
    tokens: number, rows: number, cols: number, rowStart: number, rowEnd: number): void;
  /** As linearI8, with 4-bit weights in groups of 32 columns, one scale each (assembly/cpu/linear-q4.ts). */
  linearQ4(out: number, xq: number, xScales: number, weight: number, weightScales: number, bias: number,
    tokens: number, rows: number, cols: number, rowStart: number, rowEnd: number): void;
  splitEvenOdd(dst: number, src: number, count: number): void;
  quantizeRowsI8(dst: number, scales: number, src: number, rows: number, cols: number): void;
  quantizeRowsQ4(dst: number, scales: number, src: number, rows: number, cols: number): void;
  /** int8's and q4's input form: int16 in the plain SIMD build, two 7-bit halves in the relaxed one (assembly/cpu/linear-int8.ts). */
  quantizeInputI8(dst: number, scales: number, src: number, tokens: number, cols: number): void;
  /** q4's input form: int8's, but in the plain build each group of 32 columns reordered (assembly/cpu/linear-q4.ts). */
  quantizeInputQ4(dst: number, scales: number, src: number, tokens: number, cols: number): void;
  layerNorm(out: number, x: number, weight: number, bias: number, tokens: number, C: number): void;
  /** x[t, c] += y[t, c] for t < tokens and columns [start, end) of rows `width` wide. */
  addColumns(x: number, y: number, tokens: number, width: number, start: number, end: number): void;
  /** GELU (tanh form) in place, over the same. */
  geluColumns(x: number, tokens: number, width: number, start: number, end: number): void;
  writeKvCache(kCache: number, vCache: number, qkv: number, tokens: number, pos0: number, C: number, nHead: number, nCtx: number): void;
  attention(out: number, qkv: number, kCache: number, vCache: number, headScores: number,
    tokens: number, pos0: number, C: number, nHead: number, nCtx: number, headStart: number, headEnd: number): void;
  /** The same two over bf16 caches (assembly/cpu/attention.ts gives their layout). */
  writeKvCacheBf16(kCache: number, vCache: number, qkv: number, tokens: number, pos0: number, C: number, nHead: number, nCtx: number): void;
  attentionBf16(out: number, qkv: number, kCache: number, vCache: number, headScores: number,
    tokens: number, pos0: number, C: number, nHead: number, nCtx: number, headStart: number, headEnd: number): void;
  embed(out: number, tokenIds: number, tokens: number, pos0: number,
    wte: number, wteScales: number, wteFormat: number, wpe: number, wpeFormat: number, C: number): void;
  argmax(values: number, count: number): number;
  /** log Σ exp(logits[0 .. count)); NaN if a logit is NaN, +∞ if one is +∞, −∞ if all are −∞. */
  logSumExp(logits: number, count: number): number;
  /**
   * The `k` (≥ 1) largest logits' ids (u32) and log-probabilities (f32), most likely first, equal
   * logits in id order; returns how many it wrote (fewer than k only when fewer logits are not NaN).
   */
  topTokens(logits: number, count: number, k: number, ids: number, logprobs: number): number;
  sumF32(ptr: number, start: number, end: number): number;
}

/** The format codes of `embed` (assembly/cpu/embedding.ts). */
export const WEIGHT_FORMAT_CODES = { f32: 0, f16: 1, int8: 2, q4: 3 } as const;

/** The WASM page size, and the most a 32-bit memory can hold. */
export const WASM_PAGE_BYTES = 65536;
export const WASM_MAX_PAGES = 65536;

/** Instantiates the kernels on `memory` (which must be shared for the threads build). */
export async function instantiateCpuKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<CpuKernels> {
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return { ...(instance.exports as unknown as Omit<CpuKernels, 'memory'>), memory };
}
