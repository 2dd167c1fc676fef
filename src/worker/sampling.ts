// Choosing the next token from the model's logits, in the order HF's `generate` applies its
// processors: repetition penalty, temperature, top-k, top-p, then a draw weighted by probability.
import type { GenerationSettings } from './engine-api.ts';

export type SamplingSettings = Pick<GenerationSettings, 'temperature' | 'topK' | 'topP' | 'repetitionPenalty'>;

/** A source of uniformly distributed numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32 (Tommy Ettinger): 32 bits of state and a few integer operations per number, with a
 * period of 2^32, which no generation comes near. The seed's whole part is taken modulo 2^32.
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The tokens the next draw may pick, with the probability of each. */
export interface TokenDistribution {
  /** In no particular order: sampling needs none, and ordering them would cost more than the rest. */
  tokens: Int32Array;
  /** Parallel to `tokens`; they sum to 1. */
  probabilities: Float64Array;
}

/** Picks the next token: `random` draws from `nextTokenDistribution`. */
export function sampleToken(logits: Float32Array, context: readonly number[], settings: SamplingSettings, random: Random): number {
  return drawToken(nextTokenDistribution(logits, context, settings), random);
}

/** A token drawn from `distribution`. */
export function drawToken({ tokens, probabilities }: TokenDistribution, random: Random): number {
  return tokens[drawIndex(probabilities, random)];
}

/**
 * The distribution the next token is drawn from, after `context` (the tokens so far) is penalized.
 * Temperature 0 (or below) is greedy: the best token, the lowest id among equals, with probability 1.
 */
export function nextTokenDistribution(logits: Float32Array, context: readonly number[], settings: SamplingSettings): TokenDistribution {
  const { temperature, topK, topP, repetitionPenalty } = settings;
  const scores = new Float64Array(logits);
  if (repetitionPenalty !== 1) {
    // CTRL's penalty, dividing positive logits and multiplying negative ones, so that either way
    // a repeated token becomes less likely; each distinct token is penalized once.
    for (const token of new Set(context)) {
      scores[token] = scores[token] > 0 ? scores[token] / repetitionPenalty : scores[token] * repetitionPenalty;
    }
  }
  if (temperature <= 0) return { tokens: Int32Array.of(argmax(scores)), probabilities: Float64Array.of(1) };

  for (let token = 0; token < scores.length; token++) scores[token] /= temperature;
  const best = scores[argmax(scores)];
  // Probabilities relative to the best token's; subtracting the best keeps exp() from overflowing.
  const weights = scores.map((score) => Math.exp(score - best));

  let tokens: Int32Array = new Int32Array(scores.length);
  for (let token = 0; token < tokens.length; token++) tokens[token] = token;
  if (topK > 0 && topK < scores.length) {
    tokens = bestTokens(tokens, scores, weights, (count) => count >= topK);
  }
  if (topP < 1) {
    // The nucleus, taken from what top-k kept: the fewest best tokens holding topP of its mass.
    const massNeeded = topP * sumOf(tokens, weights);
    tokens = bestTokens(tokens, scores, weights, (_count, mass) => mass >= massNeeded);
  }
  const keptMass = sumOf(tokens, weights);
  const probabilities = new Float64Array(tokens.length);
  for (let index = 0; index < tokens.length; index++) probabilities[index] = weights[tokens[index]] / keptMass;
  return { tokens, probabilities };
}

/**
 * The best of `tokens` (ranked by score, then lower id first), taken in rank order up to and
 * including the first at which `isEnough(count, mass)` holds (mass: the sum of their weights), or
 * all of them if it never does. Sorting the whole vocabulary on every step would cost more than
 * everything else in sampling; this is quickselect, which finds that cut in expected linear time
 * and leaves the tokens in no particular order.
 */
function bestTokens(
  tokens: Int32Array,
  scores: Float64Array,
  weights: Float64Array,
  isEnough: (count: number, mass: number) => boolean,
): Int32Array {
  const order = tokens.slice();
  // order[0, kept) are in; order[kept, end) are still undecided; the rest are out.
  let kept = 0;
  let end = order.length;
  let keptMass = 0;
  while (kept < end) {
    // Partition the undecided tokens around the middle one (Lomuto's scheme, the pivot parked at
    // the end meanwhile): those ranked above it, then it, then the rest.
    const middle = (kept + end) >> 1;
    const pivot = order[middle];
    const pivotScore = scores[pivot];
    order[middle] = order[end - 1];
    let aboveEnd = kept;
    let aboveMass = 0;
    for (let index = kept; index < end - 1; index++) {
      const token = order[index];
      if (scores[token] > pivotScore || (scores[token] === pivotScore && token < pivot)) {
        order[index] = order[aboveEnd];
        order[aboveEnd++] = token;
        aboveMass += weights[token];
      }
    }
    order[end - 1] = order[aboveEnd];
    order[aboveEnd] = pivot;

    if (aboveEnd > kept && isEnough(aboveEnd, keptMass + aboveMass)) {
      end = aboveEnd;
    } else {
      kept = aboveEnd + 1;
      keptMass += aboveMass + weights[pivot];
      if (isEnough(kept, keptMass)) break;
    }
  }
  return order.subarray(0, kept);
}

function sumOf(tokens: Int32Array, weights: Float64Array): number {
  let total = 0;
  for (let index = 0; index < tokens.length; index++) total += weights[tokens[index]];
  return total;
}

/** The first index of the largest value. */
function argmax(values: Float64Array): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index] > values[best]) best = index;
  return best;
}

/** An index drawn with the given probabilities (which sum to 1). */
function drawIndex(probabilities: Float64Array, random: Random): number {
  let remaining = random();
  let lastPossible = 0;
  for (let index = 0; index < probabilities.length; index++) {
    if (probabilities[index] === 0) continue;
    lastPossible = index;
    remaining -= probabilities[index];
    if (remaining < 0) return index;
  }
  // Rounding can leave the probabilities summing to a hair under 1: the draw fell in that gap.
  return lastPossible;
}
