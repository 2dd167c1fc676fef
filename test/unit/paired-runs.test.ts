import { describe, expect, it } from 'vitest';
import { interleavedFractions, median, pairedRatios, type PairedRun } from '../../src/headless/paired-runs.ts';

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('refuses an empty list', () => {
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('pairedRatios', () => {
  const run = (readGbPerSecond: number, prefillMs: number, decodeMs: number): PairedRun =>
    ({ readGbPerSecond: { 128: readGbPerSecond, 512: readGbPerSecond / 2 }, prefillMs, decodeMsPerToken: { 128: decodeMs, 512: decodeMs * 2 } });

  it('holds each run against its own bandwidth and prompt, then takes the median', () => {
    // 500 MB per token: run 1 reads 2.5 GB/s of 3.125 (0.8), run 2 2.0 of 4.0 (0.5, the best
    // bandwidth but not its own), run 3 2.5 of 2.5 (1.0).
    const runs = [run(3.125, 4000, 200), run(4.0, 5120, 250), run(2.5, 3200, 200)];
    const ratios = pairedRatios(runs, 500e6, 128, 128);
    expect(ratios.decodeBandwidthFraction).toBeCloseTo(0.8, 12);
    // Prompt per token 31.25, 40 and 25 ms: 6.4×, 6.25× and 8×.
    expect(ratios.prefillSpeedupPerToken).toBeCloseTo(6.4, 12);
  });

  it('uses the context asked for, with the bandwidth measured after it', () => {
    // At 512: 200 ms per token, 2.5 GB/s of weights, against 1.25 GB/s read right after.
    const ratios = pairedRatios([run(2.5, 3200, 100)], 500e6, 128, 512);
    expect(ratios.decodeBandwidthFraction).toBeCloseTo(2, 12);
    expect(ratios.prefillSpeedupPerToken).toBeCloseTo(8, 12);
  });

  it('says which context is missing', () => {
    expect(() => pairedRatios([run(2.5, 3200, 100)], 500e6, 128, 1024)).toThrow(/decode time at context 1024/);
    const noBandwidth = { ...run(2.5, 3200, 100), readGbPerSecond: { 512: 1 } };
    expect(() => pairedRatios([noBandwidth], 500e6, 128, 128)).toThrow(/read bandwidth at context 128/);
  });
});

describe('interleavedFractions', () => {
  it('holds each step against the mean of the reads before and after it', () => {
    // 500 MB per token. Step 1: 200 ms (2.5 GB/s) between reads of 3 and 2 GB/s (mean 2.5): 1.0.
    // Step 2: 250 ms (2.0 GB/s) between 2 and 3 GB/s: 0.8.
    const fractions = interleavedFractions([200, 250], [3, 2, 3], 500e6);
    expect(fractions[0]).toBeCloseTo(1, 12);
    expect(fractions[1]).toBeCloseTo(0.8, 12);
  });

  it('needs one read more than there are steps', () => {
    expect(() => interleavedFractions([200, 250], [3, 2], 500e6)).toThrow(/2 decode steps need 3 reads around them, not 2/);
  });
});
