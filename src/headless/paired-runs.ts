// The benchmark's two ratios, from runs of the engine each paired with the read bandwidth
// measured right after it. On a shared machine the speed drifts by 10-20% within minutes and
// swings by 2× within seconds, and dividing the best decode by the best of many more
// read-bandwidth samples, taken at other moments, mixes that drift into the ratio. So each run's
// decode is held against the bandwidth measured next to it and against its own prompt, and the
// median of the runs' ratios is reported. Tighter still, decode steps timed one by one between
// reads of the bandwidth are each held against the reads on either side (interleavedFractions).

export interface PairedRun {
  /** By context: the read bandwidth measured right after that context's decode steps. */
  readGbPerSecond: Record<number, number>;
  /** The run's prompt, as a whole. */
  prefillMs: number;
  /** By context: the median of the run's decode steps (the read bandwidth, too, is the middle of its runs). */
  decodeMsPerToken: Record<number, number>;
}

export interface PairedRatios {
  /** Decode weight bandwidth at `context` ÷ the read bandwidth. */
  decodeBandwidthFraction: number;
  /** Decode time per token at `context` ÷ prompt time per token. */
  prefillSpeedupPerToken: number;
}

export function median(values: number[]): number {
  if (values.length === 0) throw new RangeError('the median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function pairedRatios(runs: PairedRun[], decodeWeightBytes: number, promptTokens: number, context: number): PairedRatios {
  const atContext = (values: Record<number, number>, what: string) => {
    const value = values[context];
    if (value === undefined) throw new RangeError(`a run has no ${what} at context ${context}`);
    return value;
  };
  const decodeMs = (run: PairedRun) => atContext(run.decodeMsPerToken, 'decode time');
  return {
    decodeBandwidthFraction: median(runs.map((run) =>
      decodeWeightBytes / decodeMs(run) / 1e6 / atContext(run.readGbPerSecond, 'read bandwidth'))),
    prefillSpeedupPerToken: median(runs.map((run) => decodeMs(run) / (run.prefillMs / promptTokens))),
  };
}

/**
 * Each decode step's weight bandwidth ÷ the read bandwidth timed on either side of it (the mean
 * of the two): `readGbPerSecond[i]` was read just before `stepMs[i]`, `readGbPerSecond[i + 1]`
 * just after.
 */
export function interleavedFractions(stepMs: number[], readGbPerSecond: number[], decodeWeightBytes: number): number[] {
  if (readGbPerSecond.length !== stepMs.length + 1) {
    throw new RangeError(`${stepMs.length} decode steps need ${stepMs.length + 1} reads around them, not ${readGbPerSecond.length}`);
  }
  return stepMs.map((ms, i) => decodeWeightBytes / ms / 1e6 / ((readGbPerSecond[i] + readGbPerSecond[i + 1]) / 2));
}
