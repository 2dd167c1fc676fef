// What the engine needs of a GPT-2 backend (WebGPU or CPU): a forward pass over new tokens with
// a KV cache, returning only what the caller asked for.
import type { Gpt2Config } from './config.ts';

/** What a pass returns: the last position's logits, or the argmax of the last / every position. */
export type ForwardOutput = 'last-logits' | 'last-argmax' | 'all-argmax';

/** How many of the most likely next tokens a pass summarises (the app shows up to this many). */
export const TOP_TOKENS = 20;

/** The model's own next-token distribution after one position, summarised on the device that computed it. */
export interface TopTokens {
  /** The TOP_TOKENS most likely token ids, most likely first; equal logits go to the lower id (so
   *  ids[0] is the argmax that greedy decoding takes). */
  ids: Uint32Array;
  /** Their natural log-probabilities under the softmax of the raw logits (no temperature):
   *  logit − log Σ exp(logits) over the whole vocabulary. */
  logprobs: Float32Array;
}

export interface InspectOptions {
  /** Also score the pass's own tokens: the log-probability of tokens[i] after the positions before it. */
  scoreTokens?: boolean;
  /** Also return the last position's full logits (a sampler needs them; the summary does not). */
  logits?: boolean;
}

/** What `inspect` returns. */
export interface InspectedPass {
  /** The distribution after the last position. */
  top: TopTokens;
  /** With `scoreTokens`: T − 1 values, log p(tokens[i] | tokens[0..i)) for i = 1 .. T − 1, computed
   *  from the same pass (the head runs on every position). Otherwise null. */
  tokenLogprobs: Float32Array | null;
  /** With `logits`: the last position's logits (vocab floats). Otherwise null. */
  logits: Float32Array | null;
}

/** A model's KV cache: what each key and value is stored as, and its bytes for a full context (every layer's keys and values). */
export interface KvCacheInfo {
  dtype: 'f32' | 'bf16';
  bytes: number;
}

/** The KV cache of `config` at `bytesPerValue`. */
export function kvCacheBytes(config: Gpt2Config, bytesPerValue: number): number {
  return 2 * config.nLayer * config.nCtx * config.nEmbd * bytesPerValue;
}

export interface Gpt2Model {
  readonly config: Gpt2Config;
  readonly kvCache: KvCacheInfo;
  /**
   * Runs `tokens` at positions [pos0, pos0 + tokens.length), appending their keys and values to
   * the cache (whatever the cache held from pos0 on is overwritten). Returns the last position's
   * logits (vocab floats), or the argmax token of the last position, or of every position.
   */
  forward(tokens: ArrayLike<number>, pos0: number, output: 'last-logits'): Promise<Float32Array>;
  forward(tokens: ArrayLike<number>, pos0: number, output: 'last-argmax' | 'all-argmax'): Promise<Uint32Array>;
  forward(tokens: ArrayLike<number>, pos0: number, output: ForwardOutput): Promise<Float32Array | Uint32Array>;
  /**
   * Greedy decoding: runs `token` at `pos0`, then each step's argmax at the next position, and
   * yields the argmax of each of `steps` steps (positions pos0 .. pos0 + steps - 1). A backend may
   * run ahead of the tokens read so far (WebGPU queues the next step before reading this one), so
   * stopping early can leave keys and values past the last token yielded; the next forward from
   * there overwrites them.
   */
  decodeGreedy(token: number, pos0: number, steps: number): AsyncGenerator<number, void, undefined>;
  /**
   * A forward pass like `forward`, whose result is the summary of the next-token distribution
   * (the top tokens and their log-probabilities, computed on the device: the full logits are not
   * read back unless asked for), and optionally the log-probability of each of the pass's tokens.
   */
  inspect(tokens: ArrayLike<number>, pos0: number, options?: InspectOptions): Promise<InspectedPass>;
  /**
   * decodeGreedy that yields each step's summary instead of its token alone: the token taken is
   * top.ids[0]. Runs ahead the same way, and reads back TOP_TOKENS ids and log-probabilities per step.
   */
  decodeGreedyTop(token: number, pos0: number, steps: number): AsyncGenerator<TopTokens, void, undefined>;
  /** Frees activations and caches. */
  destroy(): void;
}

/** The token ids of a forward pass, checked against the vocabulary and the context. */
export function checkedTokenIds(config: Gpt2Config, tokens: ArrayLike<number>, pos0: number): Uint32Array<ArrayBuffer> {
  const { nCtx, vocabSize } = config;
  const count = tokens.length;
  if (count < 1) throw new RangeError('forward needs at least one token');
  if (!Number.isInteger(pos0) || pos0 < 0 || pos0 + count > nCtx) {
    throw new RangeError(`positions ${pos0}..${pos0 + count - 1} do not fit the model's context of ${nCtx} tokens`);
  }
  const tokenIds = Uint32Array.from(tokens);
  const invalid = tokenIds.findIndex((token, i) => token >= vocabSize || token !== tokens[i]);
  if (invalid >= 0) throw new RangeError(`token ${tokens[invalid]} is not in the vocabulary (0..${vocabSize - 1})`);
  return tokenIds;
}

/** Checks decodeGreedy's arguments: the token, and `steps` positions from `pos0` within the context. */
export function checkedGreedySteps(config: Gpt2Config, token: number, pos0: number, steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`greedy decoding needs a whole number of steps, at least 1, got ${steps}`);
  checkedTokenIds(config, [token], pos0);
  if (pos0 + steps > config.nCtx) {
    throw new RangeError(`${steps} greedy steps from position ${pos0} do not fit the model's context of ${config.nCtx} tokens`);
  }
}

/** decodeGreedy for a backend that reads each step back before running the next. */
export async function* greedyStepByStep(model: Gpt2Model, token: number, pos0: number, steps: number): AsyncGenerator<number, void, undefined> {
  checkedGreedySteps(model.config, token, pos0, steps);
  let next = token;
  for (let i = 0; i < steps; i++) {
    next = (await model.forward([next], pos0 + i, 'last-argmax'))[0];
    yield next;
  }
}
