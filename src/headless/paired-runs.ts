// The benchmark's two ratios, from runs of the engine each paired with the read bandwidth
// measured just before it. On a shared machine the speed drifts by 10-20% within minutes, and
// dividing the best decode by the best of many more read-bandwidth samples, taken at other
// moments, mixes that drift into the ratio. So each run's decode is held against its own
// bandwidth and its own prompt, and the median of the runs' ratios is reported.

export interface PairedRun {
  /** The read bandwidth measured just before the run. */
  readGbPerSecond: number;
  /** The run's prompt, as a whole. */
  prefillMs: number;
  /** The run's decode time per token, by context. */
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
  const decodeMs = (run: PairedRun) => {
    const ms = run.decodeMsPerToken[context];
    if (ms === undefined) throw new RangeError(`a run has no decode time at context ${context}`);
    return ms;
  };
  return {
    decodeBandwidthFraction: median(runs.map((run) => decodeWeightBytes / decodeMs(run) / 1e6 / run.readGbPerSecond)),
    prefillSpeedupPerToken: median(runs.map((run) => decodeMs(run) / (run.prefillMs / promptTokens))),
  };
}
