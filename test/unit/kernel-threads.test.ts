// KernelThreads (src/cpu/kernel-threads.ts) across real threads in Node: many short runs one after
// another, with more threads than this machine's cores, so that threads often wake late and find
// the next run already in the control block. Every run's output must be whole and exactly the
// single-threaded kernel's.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CpuMemory } from '../../src/cpu/cpu-memory.ts';
import { KernelThreads } from '../../src/cpu/kernel-threads.ts';
import { nodeKernelThread } from '../support/node-kernel-threads.ts';
import { randomValues } from '../support/random-values.ts';

const threadedKernels = new WebAssembly.Module(readFileSync('src/generated/cpu-kernels-threads.wasm'));

/** A linear layer's buffers in `memory`: x [cols], W [rows, cols], b [rows], out [rows]. */
function linearLayer(memory: CpuMemory, rows: number, cols: number, seed: number) {
  const place = (values: Float32Array, what: string) => {
    const address = memory.allocate(values.length * 4, what);
    memory.floats(address, values.length).set(values);
    return address;
  };
  return {
    rows,
    x: place(randomValues(cols, seed), 'x'),
    w: place(randomValues(rows * cols, seed + 1), 'W'),
    b: place(randomValues(rows, seed + 2), 'b'),
    out: memory.allocate(rows * 4, 'out'),
    args(this: { out: number; x: number; w: number; b: number }) {
      return [this.out, this.x, this.w, this.b, 1, rows, cols];
    },
  };
}

let memory: CpuMemory;
let threads: KernelThreads;

beforeAll(async () => {
  memory = await CpuMemory.create(threadedKernels, { shared: true });
  threads = await KernelThreads.start(memory, threadedKernels, 3, nodeKernelThread);
}, 60_000);
afterAll(() => threads?.close());

it('gives every run of thousands, big and small in turn, exactly the one-thread result, across three threads', () => {
  const cols = 64;
  // A run of two chunks, then one of twelve: a thread late for the first finds the second's count.
  const layers = [linearLayer(memory, 8, cols, 1), linearLayer(memory, 4096, cols, 4)];
  const expected = layers.map((layer) => {
    memory.kernels.linearF32(...(layer.args() as [number, number, number, number, number, number, number]), 0, layer.rows);
    return memory.floats(layer.out, layer.rows).slice();
  });
  let wrongRuns = 0;
  for (let run = 0; run < 4000; run++) {
    const which = run % 2;
    const layer = layers[which];
    const out = memory.floats(layer.out, layer.rows);
    out.fill(Number.NaN);
    threads.run('linearF32', layer.args(), layer.rows, 4);
    if (!out.every((value, row) => Object.is(value, expected[which][row]))) wrongRuns++;
  }
  expect(wrongRuns).toBe(0);
}, 120_000);
