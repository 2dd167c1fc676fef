// Next-token sampling: each filter on small distributions worked out by hand, the fast candidate
// search against a plain full-sort reference on vocabulary-sized logits, the seeded generator, and
// the frequencies of actual draws.
import { describe, expect, it } from 'vitest';
import { createRandom, nextTokenDistribution, sampleToken, type SamplingSettings } from '../../src/worker/sampling.ts';

const PLAIN: SamplingSettings = { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 };
const logitsOf = (values: number[]) => Float32Array.from(values);
/** Logits whose softmax is exactly `probabilities` (up to float32 rounding). */
const logitsFor = (probabilities: number[]) => logitsOf(probabilities.map(Math.log));

/** The distribution as token → probability. */
function distributionMap(logits: Float32Array, context: number[], settings: Partial<SamplingSettings>): Map<number, number> {
  const { tokens, probabilities } = nextTokenDistribution(logits, context, { ...PLAIN, ...settings });
  return new Map(Array.from(tokens, (token, index) => [token, probabilities[index]]));
}

/** The tokens a distribution keeps, by id (its own order is unspecified). */
function keptTokens(logits: Float32Array, context: number[], settings: Partial<SamplingSettings>): number[] {
  return [...distributionMap(logits, context, settings).keys()].sort((a, b) => a - b);
}

function expectDistribution(actual: Map<number, number>, expected: Record<number, number>, digits = 6) {
  expect([...actual.keys()].sort((a, b) => a - b)).toEqual(Object.keys(expected).map(Number));
  for (const [token, probability] of Object.entries(expected)) expect(actual.get(Number(token))).toBeCloseTo(probability, digits);
}

/**
 * The definition, done the slow obvious way: penalize, scale, sort the whole vocabulary, softmax,
 * keep the top k, then the nucleus of what is left, renormalize.
 */
function referenceDistribution(logits: Float32Array, context: number[], settings: SamplingSettings) {
  const { temperature, topK, topP, repetitionPenalty } = settings;
  const scores = Array.from(logits, (logit, token) => {
    const penalized = context.includes(token) ? (logit > 0 ? logit / repetitionPenalty : logit * repetitionPenalty) : logit;
    return penalized / temperature;
  });
  let tokens = scores.map((_, token) => token).sort((a, b) => scores[b] - scores[a] || a - b);
  let weights = tokens.map((token) => Math.exp(scores[token] - scores[tokens[0]]));
  if (topK > 0) {
    tokens = tokens.slice(0, topK);
    weights = weights.slice(0, topK);
  }
  if (topP < 1) {
    const total = weights.reduce((a, b) => a + b, 0);
    let kept = 0;
    for (let cumulative = 0; kept < tokens.length && (kept === 0 || cumulative < topP * total); kept++) cumulative += weights[kept];
    tokens = tokens.slice(0, kept);
    weights = weights.slice(0, kept);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  return { tokens, probabilities: weights.map((weight) => weight / total) };
}

/** GPT-2-sized logits: a broad spread plus a few standout tokens, as a trained model gives. */
function vocabularyLogits(seed: number): Float32Array {
  const random = createRandom(seed);
  const logits = new Float32Array(50257);
  for (let token = 0; token < logits.length; token++) logits[token] = (random() + random() + random() - 1.5) * 6;
  for (let standout = 0; standout < 20; standout++) logits[Math.floor(random() * logits.length)] += 10 + random() * 10;
  return logits;
}

describe('temperature', () => {
  it('0 picks the best token, the lowest id among equals, whatever top-k and top-p say', () => {
    const logits = logitsOf([1, 3, 3, 2]);
    for (const settings of [{}, { topK: 1 }, { topP: 0.1 }]) {
      expectDistribution(distributionMap(logits, [], { ...settings, temperature: 0 }), { 1: 1 });
    }
    const random = createRandom(1);
    for (let draw = 0; draw < 20; draw++) expect(sampleToken(logits, [], { ...PLAIN, temperature: 0 }, random)).toBe(1);
  });

  it('divides the logits before the softmax', () => {
    const logits = logitsOf([0, Math.log(4)]);
    expectDistribution(distributionMap(logits, [], {}), { 0: 1 / 5, 1: 4 / 5 });
    expectDistribution(distributionMap(logits, [], { temperature: 2 }), { 0: 1 / 3, 1: 2 / 3 });
    expectDistribution(distributionMap(logits, [], { temperature: 0.5 }), { 0: 1 / 17, 1: 16 / 17 });
  });
});

describe('top-k', () => {
  it('keeps exactly the k best tokens, renormalized', () => {
    const logits = logitsOf([1, 3, 2, 5, 4]);
    const e = Math.E;
    expectDistribution(distributionMap(logits, [], { topK: 2 }), { 3: e / (e + 1), 4: 1 / (e + 1) });
    expectDistribution(distributionMap(logits, [], { topK: 1 }), { 3: 1 });
    expect(keptTokens(logits, [], { topK: 3 })).toEqual([1, 3, 4]);
  });

  it('breaks ties at the cut by lower id', () => {
    expect(keptTokens(logitsOf([2, 7, 2, 2, 9]), [], { topK: 3 })).toEqual([0, 1, 4]);
    expect(keptTokens(logitsOf([2, 7, 2, 2, 9]), [], { topK: 4 })).toEqual([0, 1, 2, 4]);
  });

  it('is off at 0 and at or above the vocabulary size', () => {
    const logits = logitsOf([1, 3, 2]);
    for (const topK of [0, 3, 10]) expect(distributionMap(logits, [], { topK }).size).toBe(3);
  });
});

describe('top-p', () => {
  const logits = logitsFor([0.5, 0.1, 0.25, 0.15]);

  it('keeps the smallest set of best tokens whose probability reaches p', () => {
    expectDistribution(distributionMap(logits, [], { topP: 0.7 }), { 0: 0.5 / 0.75, 2: 0.25 / 0.75 });
    expectDistribution(distributionMap(logits, [], { topP: 0.8 }), { 0: 0.5 / 0.9, 2: 0.25 / 0.9, 3: 0.15 / 0.9 });
    expectDistribution(distributionMap(logits, [], { topP: 0.95 }), { 0: 0.5, 1: 0.1, 2: 0.25, 3: 0.15 });
  });

  it('always keeps at least the best token', () => {
    for (const topP of [0.3, 0.01, 0]) expectDistribution(distributionMap(logits, [], { topP }), { 0: 1 });
  });

  it('applies to what top-k kept, renormalized, as HF does', () => {
    const fourTokens = logitsFor([0.4, 0.3, 0.2, 0.1]);
    // Alone, 0.75 needs three tokens (0.4 + 0.3 < 0.75); among the top 3 (0.44, 0.33, 0.22) it needs two.
    expectDistribution(distributionMap(fourTokens, [], { topP: 0.75 }), { 0: 4 / 9, 1: 3 / 9, 2: 2 / 9 });
    expectDistribution(distributionMap(fourTokens, [], { topK: 3, topP: 0.75 }), { 0: 4 / 7, 1: 3 / 7 });
  });
});

describe('repetition penalty', () => {
  it('divides positive logits and multiplies negative ones of tokens in the context', () => {
    const logits = logitsOf([2, -2, 1, 0.5]);
    const penalized = [1, -4, 1, 0.5].map(Math.exp);
    const total = penalized.reduce((a, b) => a + b, 0);
    expectDistribution(distributionMap(logits, [0, 1, 1], { repetitionPenalty: 2 }), Object.fromEntries(penalized.map((weight, token) => [token, weight / total])));
  });

  it('can change the greedy choice, lowering a negative logit further', () => {
    const greedy = { temperature: 0, repetitionPenalty: 2 };
    expect(keptTokens(logitsOf([2, -2, 1.5]), [], greedy)).toEqual([0]);
    expect(keptTokens(logitsOf([2, -2, 1.5]), [0], greedy)).toEqual([2]);
    // Dividing -1 by 2 would have kept token 0 ahead; multiplying puts it behind -1.5.
    expect(keptTokens(logitsOf([-1, -1.5]), [0], greedy)).toEqual([1]);
  });

  it('penalizes a repeated token once, and leaves the logits untouched', () => {
    const logits = logitsOf([2, -2, 1, 0.5]);
    const once = distributionMap(logits, [0, 1], { repetitionPenalty: 1.3 });
    const often = distributionMap(logits, [0, 0, 0, 1, 1, 0], { repetitionPenalty: 1.3 });
    for (const token of [0, 1, 2, 3]) expect(often.get(token)).toBeCloseTo(once.get(token)!, 12);
    expect(Array.from(logits)).toEqual([2, -2, 1, 0.5]);
  });
});

describe('on vocabulary-sized logits', () => {
  const settingsCases: Partial<SamplingSettings>[] = [
    { topK: 40 },
    { topK: 1 },
    { topK: 50000 },
    { topP: 0.9 },
    { topP: 0.999999 },
    { topK: 40, topP: 0.9 },
    { topK: 200, topP: 0.5, temperature: 0.7 },
    { topP: 0.95, temperature: 1.5, repetitionPenalty: 1.2 },
    { topK: 100, temperature: 3 },
    { topP: 0.9, temperature: 3 },
  ];
  const context = [464, 2068, 7586, 21831, 464, 50256];

  it('keeps the same tokens with the same probabilities as a full sort', () => {
    for (const [index, settings] of settingsCases.entries()) {
      const logits = vocabularyLogits(100 + index);
      const expected = referenceDistribution(logits, context, { ...PLAIN, ...settings });
      const actual = distributionMap(logits, context, settings);
      expect([...actual.keys()].sort((a, b) => a - b), JSON.stringify(settings)).toEqual([...expected.tokens].sort((a, b) => a - b));
      expected.tokens.forEach((token, rank) => expect(actual.get(token)).toBeCloseTo(expected.probabilities[rank], 12));
    }
  });

  it('cuts through tied logits by lower id, as a full sort does', () => {
    const logits = vocabularyLogits(7).map(Math.round);
    for (const settings of [{ topK: 1000 }, { topP: 0.5 }, { topK: 3000, topP: 0.8, temperature: 2 }]) {
      const expected = referenceDistribution(logits, [], { ...PLAIN, ...settings });
      expect(keptTokens(logits, [], settings), JSON.stringify(settings)).toEqual([...expected.tokens].sort((a, b) => a - b));
    }
  });

  it('handles banned (-Infinity) tokens, even when top-k asks for more tokens than remain', () => {
    const logits = new Float32Array(50257).fill(-Infinity);
    logits.set([1, 2, 3], 1000);
    for (const settings of [{ topK: 10 }, { topP: 0.9 }, { topK: 5, topP: 0.999 }, {}]) {
      const distribution = distributionMap(logits, [], settings);
      const possible = [...distribution].filter(([, probability]) => probability > 0).map(([token]) => token);
      expect(possible.sort((a, b) => a - b), JSON.stringify(settings)).toEqual(settings.topP === 0.9 ? [1001, 1002] : [1000, 1001, 1002]);
      const random = createRandom(5);
      for (let draw = 0; draw < 20; draw++) expect(possible).toContain(sampleToken(logits, [], { ...PLAIN, ...settings }, random));
    }
  });
});

describe('seeded generator', () => {
  const numbers = (seed: number, count: number) => {
    const random = createRandom(seed);
    return Array.from({ length: count }, () => random());
  };

  it('repeats its sequence for a seed and differs between seeds', () => {
    expect(numbers(42, 100)).toEqual(numbers(42, 100));
    expect(numbers(42, 100)).not.toEqual(numbers(43, 100));
    expect(numbers(0, 100)).not.toEqual(numbers(2 ** 31, 100));
  });

  it('gives numbers spread evenly over [0, 1)', () => {
    const values = numbers(7, 100_000);
    const bins = new Array<number>(10).fill(0);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    for (const value of values) bins[Math.floor(value * 10)]++;
    // Each bin expects 10,000 with a standard deviation of about 95; 500 is over five of those.
    for (const count of bins) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('makes token sequences repeat for a seed and differ between seeds', () => {
    const logits = vocabularyLogits(3);
    const settings = { ...PLAIN, topK: 50, temperature: 1.2 };
    const draws = (seed: number) => {
      const random = createRandom(seed);
      return Array.from({ length: 30 }, () => sampleToken(logits, [], settings, random));
    };
    expect(draws(11)).toEqual(draws(11));
    expect(draws(11)).not.toEqual(draws(12));
  });
});

describe('draws', () => {
  it('land on each token as often as the filtered distribution says', () => {
    const logits = logitsOf([0.3, 2.1, -1, 1.7, 0.9, 2.4, -0.2, 1.2]);
    const settings: SamplingSettings = { temperature: 0.8, topK: 6, topP: 0.9, repetitionPenalty: 1.5 };
    const context = [5, 3];
    const expected = referenceDistribution(logits, context, settings);
    expect(expected.tokens.length).toBeGreaterThan(2);

    const drawCount = 200_000;
    const counts = new Map<number, number>();
    const random = createRandom(2024);
    for (let draw = 0; draw < drawCount; draw++) {
      const token = sampleToken(logits, context, settings, random);
      counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([...expected.tokens].sort());
    expected.tokens.forEach((token, rank) => {
      const probability = expected.probabilities[rank];
      // Within five standard errors of a binomial proportion: a fair sampler misses this less
      // than once in a million runs, while a wrong filter is off by far more.
      const tolerance = 5 * Math.sqrt((probability * (1 - probability)) / drawCount);
      expect(Math.abs(counts.get(token)! / drawCount - probability)).toBeLessThan(tolerance);
    });
  });
});
