// One model's memory on the CPU backend: a WASM memory (shared when kernel threads will use it),
// the kernels instantiated on it, and a bump allocator that lays out weights, activations and the
// KV cache one after another, as llm.c does. A WASM memory cannot shrink, so a model's memory is
// dropped whole when the model is unloaded.
import { WASM_MAX_PAGES, WASM_PAGE_BYTES, instantiateCpuKernels, type CpuKernels } from './cpu-kernels.ts';

/** The model does not fit in the 4 GiB a WASM memory can address, or the browser refused the memory. */
export class CpuMemoryError extends Error {
  override name = 'CpuMemoryError';
}

const ALIGNMENT = 64; // a cache line: rows start on one

export class CpuMemory {
  private end: number;

  private constructor(readonly kernels: CpuKernels, readonly shared: boolean) {
    this.end = kernels.heapBase();
  }

  static async create(module: WebAssembly.Module, options: { shared: boolean }): Promise<CpuMemory> {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: WASM_MAX_PAGES, shared: options.shared });
    return new CpuMemory(await instantiateCpuKernels(module, memory), options.shared);
  }

  get memory(): WebAssembly.Memory {
    return this.kernels.memory;
  }

  /** Bytes in use, from address 0. */
  get byteLength(): number {
    return this.end;
  }

  /**
   * Reserves `bytes` (aligned), growing the memory. `what` names the request in the error if the
   * memory cannot hold it.
   */
  allocate(bytes: number, what: string): number {
    const start = Math.ceil(this.end / ALIGNMENT) * ALIGNMENT;
    const end = start + bytes;
    const limit = WASM_MAX_PAGES * WASM_PAGE_BYTES;
    if (end > limit) {
      throw new CpuMemoryError(
        `${what} needs ${formatGiB(end)} of CPU memory in all, but the CPU backend can address at most ${formatGiB(limit)}: ` +
          'choose int8 weights or a smaller model',
      );
    }
    const pages = Math.ceil(end / WASM_PAGE_BYTES) - this.memory.buffer.byteLength / WASM_PAGE_BYTES;
    if (pages > 0) {
      try {
        this.memory.grow(pages);
      } catch (error) {
        throw new CpuMemoryError(
          `the browser would not give the CPU backend ${formatGiB(end)} of memory for ${what} (${(error as Error).message}): ` +
            'close other tabs, or choose int8 weights or a smaller model',
          { cause: error },
        );
      }
    }
    this.end = end;
    return start;
  }

  bytes(address: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, address, length);
  }

  floats(address: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, address, length);
  }
}

function formatGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}
