// The five shades of probability and the way a probability is written.
import { expect, it } from 'vitest';
import { formatProbability, PROBABILITY_LEVELS, probabilityLevel } from '../../src/ui/probability-scale.ts';

it('puts each probability in the level whose range holds it, bounds included from below', () => {
  PROBABILITY_LEVELS.forEach((level, index) => {
    expect(probabilityLevel(level.atLeast)).toBe(index);
    if (index > 0) expect(probabilityLevel(PROBABILITY_LEVELS[index - 1].atLeast - 1e-9)).toBe(index);
  });
  expect(probabilityLevel(1)).toBe(0);
  expect(probabilityLevel(0)).toBe(PROBABILITY_LEVELS.length - 1);
});

it('writes probabilities with enough digits to tell small ones apart', () => {
  expect(formatProbability(1)).toBe('100%');
  expect(formatProbability(0.4234)).toBe('42.3%');
  expect(formatProbability(0.042)).toBe('4.2%');
  expect(formatProbability(0.0042)).toBe('0.42%');
  expect(formatProbability(0.000123)).toBe('0.012%');
  expect(formatProbability(0.00000123)).toBe('<0.01%');
  expect(formatProbability(0)).toBe('0%');
});
