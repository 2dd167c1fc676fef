// Which build of the CPU kernels (assembly/cpu/) this browser gets: for a private or a shared
// (threads) memory, with relaxed SIMD's integer dot product where the browser compiles it (Chrome
// 114 and later), the plain SIMD build elsewhere. Both compute the same model; the relaxed build's
// int8 layers run faster (assembly/cpu/linear-int8.ts).
import kernelsUrl from '../generated/cpu-kernels.wasm?url';
import threadKernelsUrl from '../generated/cpu-kernels-threads.wasm?url';
import relaxedKernelsUrl from '../generated/cpu-kernels-relaxed.wasm?url';
import relaxedThreadKernelsUrl from '../generated/cpu-kernels-threads-relaxed.wasm?url';
import { hasRelaxedSimd } from './relaxed-simd.ts';

/** The kernels' module for a shared memory (kernel threads) or a private one; `relaxed` left out, the best this browser runs. */
export function compileCpuKernels(shared: boolean, relaxed = hasRelaxedSimd()): Promise<WebAssembly.Module> {
  const url = relaxed ? (shared ? relaxedThreadKernelsUrl : relaxedKernelsUrl) : (shared ? threadKernelsUrl : kernelsUrl);
  return WebAssembly.compileStreaming(fetch(url));
}
