// The CPU backend's kernels (WASM SIMD), one entry point for every build: "cpu" on a private
// memory, and "cpu-threads" on a shared memory that several workers' instances compute in at once;
// each also as "-relaxed", with relaxed SIMD's integer dot product (linear-int8.ts, linear-q4.ts), for browsers
// that have it (src/cpu/kernel-modules.ts picks).
// Kernels only compute: they take byte addresses into memory laid out by the TypeScript side
// (src/cpu/memory-plan.ts), never allocate, and keep no state, so any instance can run any slice.
export { attention, attentionBf16, writeKvCache, writeKvCacheBf16 } from './attention';
export { addColumns, geluColumns } from './elementwise';
export { argmax, embed } from './embedding';
export { layerNorm } from './layernorm';
export { linearF16, splitEvenOdd } from './linear-f16';
export { linearF32 } from './linear-f32';
export { linearI8, quantizeInputI8, quantizeRowsI8 } from './linear-int8';
export { linearQ4, quantizeInputQ4, quantizeRowsQ4 } from './linear-q4';
export { sumF32 } from './read-bandwidth';
export { logSumExp, topTokens } from './top-tokens';

/** Where the module's own static data ends: memory from here on is the caller's. */
export function heapBase(): usize {
  return __heap_base;
}
