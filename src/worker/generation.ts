// Autoregressive generation: process the prompt once, then one KV-cached decode step per token,
// streaming each token's text as it is produced.
//
// GPT-2 has absolute position embeddings, so when the context fills up the cache cannot simply
// slide: the oldest half of the tokens is dropped and the rest is processed again from position 0.
import type { Gpt2Model } from '../model/gpt2-model.ts';
import type { GenerationEvent, GenerationResult, GenerationSettings, StopReason } from './engine-api.ts';
import { createRandom, sampleToken } from './sampling.ts';
import { TextStream } from './text-stream.ts';
import { END_OF_TEXT } from './tokenizer.ts';

/** Why these settings cannot be used, or null if they can. */
export function invalidSettingsReason(settings: GenerationSettings): string | null {
  const { maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stopStrings } = settings;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) return `max new tokens must be a whole number of at least 1, got ${maxNewTokens}`;
  if (!Number.isFinite(temperature) || temperature < 0) return `temperature must be 0 (greedy) or more, got ${temperature}`;
  if (!Number.isInteger(topK) || topK < 0) return `top-k must be a whole number (0 turns it off), got ${topK}`;
  if (!(topP > 0 && topP <= 1)) return `top-p must be above 0 and at most 1 (1 turns it off), got ${topP}`;
  if (!Number.isFinite(repetitionPenalty) || repetitionPenalty <= 0) return `repetition penalty must be above 0 (1 turns it off), got ${repetitionPenalty}`;
  if (!Number.isFinite(seed)) return `the seed must be a number, got ${seed}`;
  if (!Array.isArray(stopStrings) || stopStrings.some((stop) => typeof stop !== 'string')) return 'stop strings must be a list of strings';
  return null;
}

export interface GenerationRun {
  model: Gpt2Model;
  promptTokens: number[];
  settings: GenerationSettings;
  onEvent: (event: GenerationEvent) => void;
  /** Checked after every token; true ends the generation with 'aborted'. */
  aborted: () => boolean;
}

export async function generate({ model, promptTokens, settings, onEvent, aborted }: GenerationRun): Promise<GenerationResult> {
  const reason = invalidSettingsReason(settings);
  if (reason) throw new RangeError(reason);
  const { nCtx } = model.config;
  // An empty prompt starts from <|endoftext|>, the token GPT-2 saw between documents.
  let context = promptTokens.length > 0 ? [...promptTokens] : [END_OF_TEXT];
  const random = createRandom(settings.seed);
  // Greedy without a penalty needs only the argmax, which the GPU computes: 4 bytes come back, and
  // decoding runs as one stream of steps (decodeGreedy) that the GPU can run ahead in.
  const greedyOnGpu = settings.temperature === 0 && settings.repetitionPenalty === 1;
  const text = new TextStream(settings.stopStrings);
  const generated: number[] = [];
  let reply = '';
  let contextShifts = 0;

  /** Runs `tokens` from `position`, returning the next token. */
  const step = async (tokens: number[], position: number): Promise<number> => {
    if (greedyOnGpu) return (await model.forward(tokens, position, 'last-argmax'))[0];
    const logits = await model.forward(tokens, position, 'last-logits');
    return sampleToken(logits, context, settings, random);
  };
  let greedySteps: AsyncGenerator<number, void, undefined> | undefined;
  /** One decode step: the token after `token`, run at `position`. */
  const decodeStep = async (token: number, position: number): Promise<number> => {
    if (!greedyOnGpu) return step([token], position);
    // As many steps as the loop below can still ask for: up to the token limit or the context's end.
    greedySteps ??= model.decodeGreedy(token, position, Math.min(settings.maxNewTokens - generated.length, nCtx - position));
    const { value, done } = await greedySteps.next();
    if (done) throw new Error('greedy decoding ran out of steps before the reply ended');
    return value;
  };
  /** Drops the oldest tokens so that at most `keep` remain. */
  const fitContext = (keep: number): void => {
    if (context.length <= keep) return;
    const droppedTokens = context.length - keep;
    context = context.slice(droppedTokens);
    contextShifts++;
    // The steps queued so far continue the old positions: start again after the shift.
    void greedySteps?.return();
    greedySteps = undefined;
    onEvent({ type: 'context-shift', droppedTokens });
  };

  const promptStart = performance.now();
  fitContext(nCtx);
  let next = await step(context, 0);
  const promptMs = performance.now() - promptStart;
  const promptTokenCount = context.length;
  onEvent({ type: 'prompt-done', promptTokens: promptTokenCount, ms: promptMs });

  const decodeStart = performance.now();
  let stopReason: StopReason = 'max-tokens';
  for (;;) {
    if (next === END_OF_TEXT) {
      stopReason = 'end-of-text';
      break;
    }
    generated.push(next);
    const chunk = text.push(next);
    reply += chunk.text;
    onEvent({ type: 'token', token: next, text: chunk.text });
    if (chunk.stopped) {
      stopReason = 'stop-string';
      break;
    }
    if (generated.length >= settings.maxNewTokens) break;
    if (aborted()) {
      stopReason = 'aborted';
      break;
    }
    context.push(next);
    if (context.length > nCtx) {
      // Out of room: keep the newest half and process it again from position 0.
      fitContext(Math.floor(nCtx / 2));
      next = await step(context, 0);
    } else {
      next = await decodeStep(next, context.length - 1);
    }
  }
  await greedySteps?.return();
  const finalChunk = text.finish();
  reply += finalChunk.text;
  if (finalChunk.text) onEvent({ type: 'final-text', text: finalChunk.text });
  const decodeSeconds = (performance.now() - decodeStart) / 1000;
  return {
    text: reply,
    tokens: generated,
    stopReason,
    promptTokens: promptTokenCount,
    promptTokensPerSecond: promptTokenCount / (promptMs / 1000),
    generatedTokensPerSecond: generated.length > 1 ? (generated.length - 1) / decodeSeconds : 0,
    contextShifts,
  };
}
