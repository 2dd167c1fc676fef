// What the app shows when it looks inside the model: for a generated token, its probability and
// the alternatives, under the model's own softmax (summarised on the device: TopTokens) and under
// the distribution the sampler drew from; for a prompt, each token's surprisal.
import type { TopTokens } from '../model/gpt2-model.ts';
import { INSIGHT_ALTERNATIVES, type PromptScore, type TokenChance, type TokenInsight } from './engine-api.ts';
import type { TokenDistribution } from './sampling.ts';
import { tokenBytes } from './tokenizer.ts';

const utf8Decoder = new TextDecoder();

/** A token's own text; a token that holds only part of a character reads as U+FFFD. */
export function tokenText(token: number): string {
  return utf8Decoder.decode(tokenBytes(token));
}

const chance = (token: number, probability: number): TokenChance => ({ token, text: tokenText(token), probability });

/**
 * The insight for `token`, drawn after the pass summarised in `top`. `logits` (the last position's,
 * present when a sampler needed them) give the token's probability when it is not among the top;
 * `drawnFrom` is the sampler's distribution (greedy decoding draws the best token for certain).
 */
export function tokenInsight(token: number, top: TopTokens, logits: Float32Array | null, drawnFrom: TokenDistribution | null): TokenInsight {
  return {
    probability: probabilityOf(token, top, logits),
    top: Array.from(top.ids.subarray(0, INSIGHT_ALTERNATIVES), (id, rank) => chance(id, Math.exp(top.logprobs[rank]))),
    sampled: drawnFrom ? mostLikely(drawnFrom) : [chance(token, 1)],
  };
}

/** log Σ exp(logits) is logit − logprob of any listed token; from it, the probability of any token. */
function probabilityOf(token: number, top: TopTokens, logits: Float32Array | null): number {
  const rank = top.ids.indexOf(token);
  if (rank >= 0) return Math.exp(top.logprobs[rank]);
  if (!logits) throw new Error(`token ${token} is not among the top ${top.ids.length}, and no logits came back to score it`);
  const logSumExp = logits[top.ids[0]] - top.logprobs[0];
  return Math.exp(logits[token] - logSumExp);
}

/** The sampler's INSIGHT_ALTERNATIVES most likely tokens, most likely first (lower id first among equals). */
function mostLikely({ tokens, probabilities }: TokenDistribution): TokenChance[] {
  const best: number[] = [];
  for (let index = 0; index < tokens.length; index++) {
    if (best.length === INSIGHT_ALTERNATIVES && !ranksAbove(index, best[best.length - 1])) continue;
    let at = best.length;
    while (at > 0 && ranksAbove(index, best[at - 1])) at--;
    best.splice(at, 0, index);
    if (best.length > INSIGHT_ALTERNATIVES) best.pop();
  }
  return best.map((index) => chance(tokens[index], probabilities[index]));

  function ranksAbove(a: number, b: number): boolean {
    return probabilities[a] > probabilities[b] || (probabilities[a] === probabilities[b] && tokens[a] < tokens[b]);
  }
}

/** The prompt as read, with each token's surprisal from the pass's own log-probabilities. */
export function promptScore(tokens: readonly number[], tokenLogprobs: Float32Array): PromptScore {
  return { tokens: [...tokens], pieces: tokens.map(tokenText), surprisal: Array.from(tokenLogprobs, (logprob) => -logprob) };
}
