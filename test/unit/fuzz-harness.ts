// What the weights fuzz tests share (weights-fuzz.test.ts, weights-pytorch-fuzz.test.ts): the run's
// seed and scale, seeded random numbers per case, a sink that checks every write, and files that
// stream in chunks of random sizes. WEIGHTS_FUZZ_SEED=<seed> replays a run; WEIGHTS_FUZZ_SCALE=<n>
// runs n times as many cases.
import type { WeightSink, WeightSlot } from '../../src/model/weight-layout.ts';
import { WeightsFormatError } from '../../src/weights/weights-parser.ts';
export { chunkedFile } from './weights-helpers.ts';

export const SEED = process.env.WEIGHTS_FUZZ_SEED === undefined ? (Math.random() * 2 ** 32) >>> 0 : Number(process.env.WEIGHTS_FUZZ_SEED) >>> 0;
export const SCALE = Number(process.env.WEIGHTS_FUZZ_SCALE ?? 1);
// Far above what a case takes (about a millisecond), far below a hang.
export const MAX_CASE_MS = 2000;
// Every message must tell the user what to do about the file.
export const ADVICE = /download|choose|use a|use the|load this model|load it again|check that/;

// --- Random numbers ---

/** mulberry32, seeded from the run's seed and the case number. */
export class Random {
  private state: number;

  constructor(seed: number, caseNumber: number) {
    this.state = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(caseNumber + 1, 0xc2b2ae35);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A whole number in [low, high]. */
  between(low: number, high: number): number {
    return low + this.below(high - low + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  u32(): number {
    return this.below(2 ** 32);
  }
}

// --- A sink that checks every write ---

/** Thrown by the sink: the parser wrote somewhere it must not. Not a WeightsFormatError, so the case fails. */
class BadWriteError extends Error {
  override name = 'BadWriteError';
}

/** Checks each write lands inside its slot on 4-byte boundaries, and records what it covered. */
export class CheckingSink implements WeightSink {
  private slots: readonly WeightSlot[] = [];
  private ranges: [number, number][][] = [];

  allocate(slots: readonly WeightSlot[]): void {
    if (this.slots.length > 0) throw new BadWriteError('allocate called twice');
    this.slots = slots;
    this.ranges = slots.map(() => []);
  }

  write(slotIndex: number, byteOffset: number, bytes: Uint8Array): void {
    const slot = this.slots[slotIndex];
    const where = `slot ${slotIndex} at ${byteOffset} (${bytes.length} bytes)`;
    if (!slot) throw new BadWriteError(`write to ${where}: there are ${this.slots.length} slots`);
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0 || bytes.length === 0 || bytes.length % 4 !== 0) {
      throw new BadWriteError(`misaligned or empty write to ${where}`);
    }
    if (byteOffset + bytes.length > slot.byteLength) throw new BadWriteError(`write to ${where} runs past its ${slot.byteLength} bytes`);
    this.ranges[slotIndex].push([byteOffset, byteOffset + bytes.length]);
  }

  /** Slots not covered by their writes exactly once. */
  coverageProblems(): string[] {
    return this.slots.flatMap((slot, index) => {
      const ranges = [...this.ranges[index]].sort((a, b) => a[0] - b[0]);
      let end = 0;
      for (const [begin, stop] of ranges) {
        if (begin !== end) return [`slot ${index}: bytes from ${Math.min(begin, end)} written ${begin < end ? 'twice' : 'never'}`];
        end = stop;
      }
      return end === slot.byteLength ? [] : [`slot ${index}: ${end} of ${slot.byteLength} bytes written`];
    });
  }
}

// --- Streaming ---

/** Chunk sizes for one case: mostly fixed, sometimes random for every chunk; a few one-byte runs. */
export function chunkSizes(random: Random, fileLength: number): { text: string; next: () => number } {
  const style = random.below(10);
  if (style === 0) return { text: 'chunks of 1 byte', next: () => 1 };
  if (style <= 3) {
    const limit = random.pick([8, 64, 1024, 16384]);
    return { text: `random chunks up to ${limit} bytes`, next: () => random.between(1, limit) };
  }
  const size = random.pick([2, 3, 7, 8, 13, 100, 511, 4096, 65536, Math.max(1, fileLength)]);
  return { text: `chunks of ${size} bytes`, next: () => size };
}

/** `bytes` with `remove` bytes at `at` replaced by `insert`. */
export function splicedBytes(bytes: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const spliced = new Uint8Array(bytes.length - remove + insert.length);
  spliced.set(bytes.subarray(0, at));
  spliced.set(insert, at);
  spliced.set(bytes.subarray(at + remove), at + insert.length);
  return spliced;
}

/** One of `weighted`'s items, each as likely as its weight. */
export function pickWeighted<T>(random: Random, weighted: [T, number][]): T {
  let ticket = random.below(weighted.reduce((sum, [, weight]) => sum + weight, 0));
  for (const [item, weight] of weighted) {
    ticket -= weight;
    if (ticket < 0) return item;
  }
  return weighted[0][0];
}

// --- One case ---

export interface FuzzStats {
  cases: number;
  loaded: number;
  ms: number;
  slowestMs: number;
  /** Rejection messages with their numbers blanked, so that kinds of error can be counted. */
  messageKinds: Set<string>;
  failures: string[];
}

export const newFuzzStats = (): FuzzStats => ({ cases: 0, loaded: 0, ms: 0, slowestMs: 0, messageKinds: new Set(), failures: [] });

/**
 * Runs `load` on one damaged file and records the outcome in `stats`: loaded with every slot written
 * once, or refused with a message that says what to do; anything else (another error, a message with
 * no advice, a slow case) is a failure, described by `describe()` so it can be replayed.
 */
export async function recordFuzzCase(
  stats: FuzzStats,
  load: (sink: CheckingSink) => Promise<unknown>,
  messageKind: (message: string) => string,
  describe: () => string,
): Promise<void> {
  const sink = new CheckingSink();
  const started = performance.now();
  let problem: string | undefined;
  try {
    await load(sink);
    stats.loaded++;
    const coverage = sink.coverageProblems();
    if (coverage.length > 0) problem = `loaded but left slots unwritten or written twice: ${coverage.slice(0, 3).join('; ')}`;
  } catch (error) {
    if (!(error instanceof WeightsFormatError)) {
      problem = `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    } else if (!ADVICE.test(error.message)) {
      problem = `message says nothing to do: ${error.message}`;
    } else {
      stats.messageKinds.add(messageKind(error.message));
    }
  }
  const ms = performance.now() - started;
  stats.cases++;
  stats.ms += ms;
  stats.slowestMs = Math.max(stats.slowestMs, ms);
  if (ms > MAX_CASE_MS) problem ??= `took ${ms.toFixed(0)} ms`;
  if (problem && stats.failures.length < 20) stats.failures.push(`seed ${SEED} ${describe()}: ${problem}`);
}
