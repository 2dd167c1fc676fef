// The CPU kernels' builds as Node tests load them (the app picks one in src/cpu/kernel-modules.ts):
// plain SIMD or relaxed SIMD, for a private or a shared memory. Node 20 runs only the plain one
// (src/cpu/relaxed-simd.ts); the browser tests run the relaxed one.
import { readFileSync } from 'node:fs';

export type KernelBuild = 'plain' | 'relaxed';

export function cpuKernelModule(build: KernelBuild, shared: boolean): WebAssembly.Module {
  const file = `src/generated/cpu-kernels${shared ? '-threads' : ''}${build === 'relaxed' ? '-relaxed' : ''}.wasm`;
  return new WebAssembly.Module(readFileSync(file));
}
