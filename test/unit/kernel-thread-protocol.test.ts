// The control block's chunk claiming (src/cpu/kernel-thread-protocol.ts), driven from one thread
// with a stand-in kernel that records its calls: what each thread of a run does, and what a thread
// that woke late must not do. (test/unit/cpu-engine.test.ts runs it across real threads.)
import { describe, expect, it } from 'vitest';
import type { CpuKernels } from '../../src/cpu/cpu-kernels.ts';
import { chunkSize } from '../../src/cpu/kernel-threads.ts';
import { CONTROL, CONTROL_INTS, KERNEL_IDS, claimWord, workOnChunks } from '../../src/cpu/kernel-thread-protocol.ts';

type Call = [args: number[], start: number, end: number];

/** Kernels whose linearF32 records each call (seven arguments, then the range) and throws on `failAt`. */
function recordingKernels(calls: Call[], failAt = -1): CpuKernels {
  return {
    linearF32(out: number, x: number, w: number, b: number, tokens: number, rows: number, cols: number, start: number, end: number) {
      calls.push([[out, x, w, b, tokens, rows, cols], start, end]);
      if (start === failAt) throw new Error('memory access out of bounds');
    },
  } as unknown as CpuKernels;
}

/** A block as the caller leaves it for a run of linearF32 over `count` rows in chunks of `chunk`. */
function run(count: number, chunk: number, args = [1, 2, 3, 4, 5, 6, 7]): Int32Array {
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_INTS * 4));
  control[CONTROL.kernel] = KERNEL_IDS.linearF32;
  control[CONTROL.count] = count;
  control[CONTROL.chunk] = chunk;
  control.set(args, CONTROL.args);
  Atomics.store(control, CONTROL.claim, claimWord(Math.ceil(count / chunk)));
  return control;
}

describe('claiming chunks of a split kernel', () => {
  it('runs every chunk of [0, count) once with the run\'s arguments, the last one short, and counts them done', () => {
    const control = run(50257, 1572);
    const calls: Call[] = [];
    expect(workOnChunks(control, recordingKernels(calls))).toBeNull();
    expect(calls.length).toBe(32);
    expect(calls[0]).toEqual([[1, 2, 3, 4, 5, 6, 7], 0, 1572]);
    for (let i = 1; i < calls.length; i++) expect(calls[i][1]).toBe(calls[i - 1][2]);
    expect(calls.at(-1)).toEqual([[1, 2, 3, 4, 5, 6, 7], 31 * 1572, 50257]);
    expect(Atomics.load(control, CONTROL.done)).toBe(32);
  });

  it('leaves the chunks other threads took to them', () => {
    const control = run(40, 8);
    Atomics.store(control, CONTROL.claim, claimWord(5, 2));
    const calls: Call[] = [];
    workOnChunks(control, recordingKernels(calls));
    expect(calls.map(([, start]) => start)).toEqual([16, 24, 32]);
  });

  it('takes nothing from a finished run, even while the caller is writing a larger one into the block', () => {
    // The block as a thread that woke late may find it: every chunk of the last run (5 of 8 rows)
    // claimed, and the next run's arguments half written before its claim word is.
    const control = run(40, 8);
    Atomics.store(control, CONTROL.claim, claimWord(5, 5));
    control[CONTROL.count] = 50257;
    control[CONTROL.chunk] = 4;
    const calls: Call[] = [];
    expect(workOnChunks(control, recordingKernels(calls))).toBeNull();
    expect(calls).toEqual([]);
    expect(Atomics.load(control, CONTROL.claim)).toBe(claimWord(5, 5));
    expect(Atomics.load(control, CONTROL.done)).toBe(0);
  });

  it('counts a chunk that threw as done, marks the run failed, returns the error and goes on with the rest', () => {
    const control = run(32, 8);
    const calls: Call[] = [];
    const error = workOnChunks(control, recordingKernels(calls, 8));
    expect(String(error)).toContain('memory access out of bounds');
    expect(calls.map(([, start]) => start)).toEqual([0, 8, 16, 24]);
    expect(Atomics.load(control, CONTROL.done)).toBe(4);
    expect(Atomics.load(control, CONTROL.failed)).toBe(1);
  });
});

describe('chunk sizes', () => {
  it('are multiples of the alignment, a few per thread, and at least one item', () => {
    for (const [count, threads, align] of [[2304, 2, 4], [50257, 8, 4], [12, 2, 1], [25, 8, 1], [4, 3, 4], [3, 2, 4]]) {
      const chunk = chunkSize(count, threads, align);
      expect(chunk % align).toBe(0);
      expect(chunk).toBeGreaterThanOrEqual(align);
      expect(Math.ceil(count / chunk)).toBeLessThanOrEqual(threads * 4);
    }
    expect(chunkSize(2304, 2, 4)).toBe(288); // 8 chunks of c_attn's rows for 2 threads
    expect(chunkSize(12, 2, 1)).toBe(2); // 6 of GPT-2 124M's 12 heads
  });
});
