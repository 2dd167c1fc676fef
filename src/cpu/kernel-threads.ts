// Runs split kernels (kernel-split.ts) across worker threads that share the model's WASM memory:
// each thread has its own instance of the kernels (the threads build) on that memory, and takes
// one range of rows or heads while the calling thread does the first.
//
// Threads are woken through a small shared control block rather than postMessage, because a token
// runs about 60 split kernels and each must start within microseconds: a thread spins briefly on
// its slot before sleeping in Atomics.wait, and the caller spins, then waits, for the count of
// threads still busy to reach zero. (The caller is a worker or Node, where Atomics.wait is allowed.)
import type { CpuMemory } from './cpu-memory.ts';
import { encodeEpilogue, runEpilogue, splitRanges, type Epilogue, type KernelSplitter, type SplitKernel } from './kernel-split.ts';
import { CONTROL, KERNEL_IDS, MAX_ARGS, SLOT_EPILOGUE, SLOT_INTS, controlBlockInts, type KernelThreadInit } from './kernel-thread-protocol.ts';

/** The part of a Worker (web or Node worker_threads) the pool uses. */
export interface ThreadHandle {
  postMessage(message: unknown): void;
  /** Resolves when the thread says it is ready, rejects if it fails to start. */
  ready: Promise<void>;
  terminate(): void;
}

const SPIN_ITERATIONS = 20000;

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
    const control = new Int32Array(new SharedArrayBuffer(controlBlockInts(helpers) * 4));
    const handles: ThreadHandle[] = [];
    try {
      for (let index = 0; index < helpers; index++) {
        const handle = spawn();
        handles.push(handle);
        const init: KernelThreadInit = { kernels, memory: memory.memory, control, index };
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
    const ranges = splitRanges(count, this.threads, align);
    const control = this.control;
    const finish = encodeEpilogue(epilogue);
    const helpersUsed = ranges.length - 1;
    Atomics.store(control, CONTROL.busy, helpersUsed);
    for (let helper = 0; helper < helpersUsed; helper++) {
      const slot = CONTROL.slots + helper * SLOT_INTS;
      control[slot + 1] = KERNEL_IDS[kernel];
      for (let i = 0; i < args.length; i++) control[slot + 2 + i] = args[i];
      control[slot + 2 + MAX_ARGS] = ranges[helper + 1][0];
      control[slot + 3 + MAX_ARGS] = ranges[helper + 1][1];
      control.set(finish, slot + SLOT_EPILOGUE);
      Atomics.add(control, slot, 1); // the slot's generation: the thread's signal to go
      Atomics.notify(control, slot);
    }
    const [start, end] = ranges[0];
    (this.memory.kernels[kernel] as (...values: number[]) => void)(...args, start, end);
    runEpilogue(this.memory.kernels, finish, 0, start, end);
    for (let spin = 0; Atomics.load(control, CONTROL.busy) !== 0; spin++) {
      if (spin > SPIN_ITERATIONS) Atomics.wait(control, CONTROL.busy, Atomics.load(control, CONTROL.busy), 1);
    }
    if (Atomics.load(control, CONTROL.failed) !== 0) throw new Error('a CPU kernel thread failed: load the model again');
  }

  close(): void {
    for (const handle of this.handles) handle.terminate();
    this.handles.length = 0;
  }
}
