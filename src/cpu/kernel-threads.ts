// Runs split kernels (kernel-split.ts) across worker threads that share the model's WASM memory:
// each thread has its own instance of the kernels (the threads build) on that memory, and the
// calling thread and they take chunks of the rows or heads until none is left
// (kernel-thread-protocol.ts).
//
// Threads are woken through a small shared control block rather than postMessage, because a token
// runs about 60 split kernels and each must start within microseconds: a thread spins briefly on
// the block's generation before sleeping in Atomics.wait, and the caller spins, then waits, for
// the count of chunks done. (The caller is a worker or Node, where Atomics.wait is allowed.)
import type { CpuMemory } from './cpu-memory.ts';
import { encodeEpilogue, runWhole, type Epilogue, type KernelSplitter, type SplitKernel } from './kernel-split.ts';
import { CONTROL, CONTROL_INTS, KERNEL_IDS, MAX_CHUNKS, claimWord, workOnChunks, type KernelThreadInit } from './kernel-thread-protocol.ts';

/** The part of a Worker (web or Node worker_threads) the pool uses. */
export interface ThreadHandle {
  postMessage(message: unknown): void;
  /** Resolves when the thread says it is ready, rejects if it fails to start. */
  ready: Promise<void>;
  terminate(): void;
}

const SPIN_ITERATIONS = 20000;

/**
 * Chunks per thread in a run. With one range per thread, a thread whose core was taken by
 * anything else (another tab, a phone's slower core) held up every split kernel: on 2 cores with
 * one busy process beside the app, decode took 28 ms/token. With chunks the others take up its
 * share (11.8 ms there), for one atomic claim a chunk; on a quiet machine it is the same either way.
 */
const CHUNKS_PER_THREAD = 4;

/** Items per chunk: a multiple of `align` (linear kernels do four rows at a time), at most MAX_CHUNKS of them. */
export function chunkSize(count: number, threads: number, align: number): number {
  return Math.max(align, Math.ceil(count / Math.min(threads * CHUNKS_PER_THREAD, MAX_CHUNKS) / align) * align);
}

export class KernelThreads implements KernelSplitter {
  private constructor(
    private readonly memory: CpuMemory,
    private readonly control: Int32Array,
    private readonly handles: ThreadHandle[],
  ) {}

  get threads(): number {
    return this.handles.length + 1;
  }

  /** Starts `count - 1` threads (the caller is the first) running `kernels` on the shared memory. */
  static async start(
    memory: CpuMemory,
    kernels: WebAssembly.Module,
    count: number,
    spawn: () => ThreadHandle,
  ): Promise<KernelThreads> {
    if (!memory.shared) throw new Error('kernel threads need a shared memory');
    const helpers = count - 1;
    const control = new Int32Array(new SharedArrayBuffer(CONTROL_INTS * 4));
    const handles: ThreadHandle[] = [];
    try {
      for (let helper = 0; helper < helpers; helper++) {
        const handle = spawn();
        handles.push(handle);
        const init: KernelThreadInit = { kernels, memory: memory.memory, control };
        handle.postMessage(init);
      }
      await Promise.all(handles.map((handle) => handle.ready));
    } catch (error) {
      for (const handle of handles) handle.terminate();
      throw error;
    }
    return new KernelThreads(memory, control, handles);
  }

  run(kernel: SplitKernel, args: number[], count: number, align: number, epilogue?: Epilogue): void {
    const chunk = chunkSize(count, this.threads, align);
    if (chunk >= count) {
      runWhole(this.memory.kernels, kernel, args, count, epilogue);
      return;
    }
    const control = this.control;
    const chunks = Math.ceil(count / chunk);
    control[CONTROL.kernel] = KERNEL_IDS[kernel];
    control[CONTROL.count] = count;
    control[CONTROL.chunk] = chunk;
    control.set(args, CONTROL.args);
    control.set(encodeEpilogue(epilogue), CONTROL.epilogue);
    Atomics.store(control, CONTROL.done, 0);
    Atomics.store(control, CONTROL.claim, claimWord(chunks));
    Atomics.add(control, CONTROL.generation, 1); // the threads' signal to go
    Atomics.notify(control, CONTROL.generation);
    const error = workOnChunks(control, this.memory.kernels);
    for (let spin = 0, done; (done = Atomics.load(control, CONTROL.done)) !== chunks; spin++) {
      if (spin > SPIN_ITERATIONS) Atomics.wait(control, CONTROL.done, done, 1);
    }
    if (error !== null) throw error;
    if (Atomics.load(control, CONTROL.failed) !== 0) throw new Error('a CPU kernel thread failed: load the model again');
  }

  close(): void {
    for (const handle of this.handles) handle.terminate();
    this.handles.length = 0;
  }
}
