// Sizes, parameter counts and durations as the UI writes them.
import { expect, it } from 'vitest';
import { formatBytes, formatDuration, formatParameters, formatRate } from '../../src/ui/format.ts';
import { MODEL_CATALOG } from '../../src/models/catalog.ts';

it('writes sizes in decimal units with three significant digits', () => {
  expect(formatBytes(0)).toBe('0 B');
  expect(formatBytes(999)).toBe('999 B');
  expect(formatBytes(1500)).toBe('1.50 kB');
  expect(formatBytes(548_105_171)).toBe('548 MB');
  expect(formatBytes(1_519_974_136)).toBe('1.52 GB');
  expect(formatBytes(6_431_830_000)).toBe('6.43 GB');
});

it('writes the catalog sizes the way the model picker shows them', () => {
  expect(MODEL_CATALOG.map((entry) => `${formatParameters(entry.parameters)} ${formatBytes(entry.downloadBytes)}`)).toEqual([
    '81.9M 353 MB',
    '124M 548 MB',
    '355M 1.52 GB',
    '774M 3.25 GB',
    '1.56B 6.43 GB',
    '124M 548 MB',
    '355M 1.52 GB',
    '774M 3.25 GB',
  ]);
});

it('writes durations in seconds, minutes or hours', () => {
  expect(formatDuration(0.4)).toBe('0 s');
  expect(formatDuration(12.5)).toBe('13 s');
  expect(formatDuration(125)).toBe('2 min 5 s');
  expect(formatDuration(3780)).toBe('1 h 3 min');
});

it('writes rates with one decimal below 100', () => {
  expect(formatRate(12.345)).toBe('12.3');
  expect(formatRate(250.4)).toBe('250');
});
