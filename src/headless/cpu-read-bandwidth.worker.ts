// Times the CPU backend's read loop (`sumF32`, assembly/cpu/read-bandwidth.ts: 16-byte WASM SIMD
// loads, every byte read once) over a buffer larger than any cache: alone on this thread, and with
// reader threads summing disjoint ranges at the same time, as the kernel threads split a decode
// step's matrices. It runs in a worker because waiting for the readers needs Atomics.wait, which
// a page may not call.
import { compileCpuKernels } from '../cpu/kernel-modules.ts';
import { CpuMemory } from '../cpu/cpu-memory.ts';
import { splitRanges } from '../cpu/kernel-split.ts';
import { answerRequests } from './ask-worker.ts';
import { CONTROL, type CpuReadBandwidth, type ReadBandwidthRequest, type ReaderInit } from './cpu-read-bandwidth-protocol.ts';

/** sumF32 reads 32 floats per step. */
const FLOATS_PER_STEP = 32;
const FILL_CHUNK_FLOATS = 4 * 2 ** 20;

function startReader(init: ReaderInit): Promise<Worker> {
  const worker = new Worker(new URL('./cpu-read-bandwidth-reader.worker.ts', import.meta.url), { type: 'module', name: 'read bandwidth reader' });
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent) => {
      worker.onmessage = null;
      if (event.data === 'ready') resolve(worker);
      else reject(new Error(`a read-bandwidth thread could not start: ${(event.data as { error: string }).error}`));
    };
    worker.onerror = (event) => reject(new Error(`a read-bandwidth thread could not start: ${event.message || 'its script failed to load'}`));
    worker.postMessage(init);
  });
}

async function measure({ threads, bytes, passes }: ReadBandwidthRequest): Promise<CpuReadBandwidth> {
  const shared = threads > 1;
  const module = await compileCpuKernels(shared, 'plain'); // its loop is the same in every build
  const cpu = await CpuMemory.create(module, { shared });
  const floats = Math.floor(bytes / 4 / FLOATS_PER_STEP) * FLOATS_PER_STEP;
  const address = cpu.allocate(floats * 4, 'the read-bandwidth buffer');
  // Real values rather than the zeros a new memory holds, in case zero pages are treated specially.
  const pattern = new Float32Array(FILL_CHUNK_FLOATS).map((_, i) => (i % 7) - 3);
  const buffer = cpu.floats(address, floats);
  for (let offset = 0; offset < floats; offset += FILL_CHUNK_FLOATS) {
    buffer.set(pattern.subarray(0, Math.min(FILL_CHUNK_FLOATS, floats - offset)), offset);
  }

  const ranges = splitRanges(floats, threads, FLOATS_PER_STEP);
  const control = new Int32Array(new SharedArrayBuffer(8));
  const readers: Worker[] = [];
  try {
    for (const [start, end] of ranges.slice(1)) {
      readers.push(await startReader({ kernels: module, memory: cpu.memory, control, address, start, end }));
    }
    const sumAlone = () => cpu.kernels.sumF32(address, 0, floats);
    const sumTogether = () => {
      Atomics.store(control, CONTROL.busy, readers.length);
      Atomics.add(control, CONTROL.generation, 1);
      Atomics.notify(control, CONTROL.generation);
      cpu.kernels.sumF32(address, ranges[0][0], ranges[0][1]);
      for (let busy; (busy = Atomics.load(control, CONTROL.busy)) !== 0;) Atomics.wait(control, CONTROL.busy, busy);
    };
    let aloneMs = Infinity;
    let togetherMs = Infinity;
    // Taking turns, so that a stretch of load on a shared machine does not spoil one kind only.
    for (let pass = 0; pass < passes; pass++) {
      aloneMs = Math.min(aloneMs, timed(sumAlone));
      if (readers.length > 0) togetherMs = Math.min(togetherMs, timed(sumTogether));
    }
    const gbPerSecond = (ms: number) => (floats * 4) / ms / 1e6;
    return {
      bytes: floats * 4,
      threads: ranges.length,
      gbPerSecond: gbPerSecond(readers.length > 0 ? togetherMs : aloneMs),
      singleThreadGbPerSecond: gbPerSecond(aloneMs),
    };
  } finally {
    for (const reader of readers) reader.terminate();
  }
}

function timed(run: () => void): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

answerRequests(measure);
