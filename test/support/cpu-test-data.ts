// Putting a test's values into a CPU model memory, where the kernels read them.
import type { CpuMemory } from '../../src/cpu/cpu-memory.ts';

/** Copies `values` into fresh memory in `cpu` and returns its address. */
export function putValues(cpu: CpuMemory, values: Float32Array | Uint8Array | Int32Array | Uint16Array): number {
  const address = cpu.allocate(values.byteLength, 'test data');
  cpu.bytes(address, values.byteLength).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return address;
}
