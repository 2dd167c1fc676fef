// Messages between the page (cpu-read-bandwidth.ts), the worker that times the reads
// (cpu-read-bandwidth.worker.ts) and its reader threads (cpu-read-bandwidth-reader.worker.ts).
//
// The control block is two Int32s shared by the timing worker and its readers:
//   [generation, busy]
// The timing worker sets `busy` to the number of readers and bumps `generation`; each reader sums
// its range once and decrements `busy`.

export const CONTROL = { generation: 0, busy: 1 } as const;

export interface ReadBandwidthRequest {
  /** Threads reading disjoint ranges at once; 1 needs no shared memory. */
  threads: number;
  bytes: number;
  /** Passes of each kind (one thread, all threads); the best counts. */
  passes: number;
}

export interface CpuReadBandwidth {
  bytes: number;
  threads: number;
  /** All `threads` reading disjoint ranges at once. */
  gbPerSecond: number;
  singleThreadGbPerSecond: number;
}

/** The first message to a reader; it answers 'ready' (or { error }). */
export interface ReaderInit {
  kernels: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: Int32Array;
  /** The byte address of the buffer, and this reader's range of it in floats. */
  address: number;
  start: number;
  end: number;
}
