// The builds of the CPU kernels (assembly/cpu/): for a private or a shared (threads) memory, each
// plain SIMD or with relaxed SIMD's integer dot product. Both compute the same model; they differ
// only in the int8 and q4 layers (assembly/cpu/linear-int8.ts), and kernel-build-choice.ts says
// which one runs faster on this machine.
import kernelsUrl from '../generated/cpu-kernels.wasm?url';
import threadKernelsUrl from '../generated/cpu-kernels-threads.wasm?url';
import relaxedKernelsUrl from '../generated/cpu-kernels-relaxed.wasm?url';
import relaxedThreadKernelsUrl from '../generated/cpu-kernels-threads-relaxed.wasm?url';

export type KernelBuild = 'plain' | 'relaxed';

// Each module compiled once per worker: the build choice compiles the private ones to time them,
// and every load after asks again.
const modules = new Map<string, Promise<WebAssembly.Module>>();

/** The kernels' module of `build` for a shared memory (kernel threads) or a private one. */
export function compileCpuKernels(shared: boolean, build: KernelBuild): Promise<WebAssembly.Module> {
  const url = build === 'relaxed' ? (shared ? relaxedThreadKernelsUrl : relaxedKernelsUrl) : (shared ? threadKernelsUrl : kernelsUrl);
  let module = modules.get(url);
  if (!module) {
    module = WebAssembly.compileStreaming(fetch(url));
    modules.set(url, module);
  }
  return module;
}
