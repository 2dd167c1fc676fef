// What the engine chooses when the caller leaves it out: whether an adapter is a real GPU (the
// engine's backend choice), and how to store the matrices on each backend.
import type { AdapterSummary } from '../gpu/device.ts';
import { parameterCount, type Gpt2Config } from '../model/config.ts';
import type { MatrixDtype } from '../model/weight-layout.ts';

/** Adapters that are the CPU pretending to be a GPU: WASM SIMD is several times faster on them. */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

export function adapterName(adapter: AdapterSummary): string {
  return [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' ');
}

export function isSoftwareAdapter(adapter: AdapterSummary): boolean {
  return adapter.isFallbackAdapter || SOFTWARE_ADAPTER.test(adapterName(adapter));
}

/**
 * On the CPU, int8 matrices: a quarter of the bytes and integer dot products, ~4× faster than f32
 * on the 124M shape (see docs/BENCHMARKS.md for its error).
 */
export const CPU_WEIGHTS_DTYPE = 'int8';

/** Past this many bytes of f32 weights (774M and up), f16 even on a software adapter. */
const SOFTWARE_ADAPTER_F32_MAX_BYTES = 2 * 2 ** 30;

/**
 * On WebGPU: f16 matrices on a GPU (decoding reads every weight once per token, so half the bytes
 * is close to half the time; f16 storage needs no shader-f16; logits stay within ~2e-2 of f32 on
 * the test fixtures). On a software adapter (used only when chosen in the settings), f32: the CPU
 * behind it is bound by instructions, not memory, and unpacking f16 costs more of them than half
 * the reads saves (SwiftShader: 0.62 G f32 weights/s against 0.53 G f16, docs/BENCHMARKS.md); but
 * for large models f16 there too, to halve the memory they take.
 */
export function gpuWeightsDtype(config: Gpt2Config, softwareAdapter: boolean): MatrixDtype {
  return softwareAdapter && parameterCount(config) * 4 <= SOFTWARE_ADAPTER_F32_MAX_BYTES ? 'f32' : 'f16';
}
