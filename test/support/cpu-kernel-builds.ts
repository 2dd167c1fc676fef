// The CPU kernels' builds as Node tests load them (the app picks one in src/cpu/kernel-build-choice.ts):
// plain SIMD or relaxed SIMD, for a private or a shared memory. Node 20 runs only the plain one
// (src/cpu/relaxed-simd.ts); the browser tests run the relaxed one.
import { readFileSync } from 'node:fs';
import type { KernelBuild } from '../../src/cpu/kernel-modules.ts';

export type { KernelBuild };

export function cpuKernelModule(build: KernelBuild, shared: boolean): WebAssembly.Module {
  const file = `src/generated/cpu-kernels${shared ? '-threads' : ''}${build === 'relaxed' ? '-relaxed' : ''}.wasm`;
  return new WebAssembly.Module(readFileSync(file));
}
