// Autoregressive generation: process the prompt once, then one KV-cached decode step per token,
// streaming each token's text as it is produced.
//
// GPT-2 has absolute position embeddings, so when the context fills up the cache cannot simply
// slide: the oldest half of the tokens is dropped and the rest is processed again from position 0.
//
// With `settings.inspect`, each pass also summarises the model's distribution on the device (its top
// tokens: Gpt2Model.inspect), and each token event carries what the model thought of the token.
import type { Gpt2Model, TopTokens } from '../model/gpt2-model.ts';
import type { GenerationEvent, GenerationResult, GenerationSettings, PromptScore, StopReason, TokenInsight } from './engine-api.ts';
import { createRandom, drawToken, nextTokenDistribution, sampleToken } from './sampling.ts';
import { TextStream } from './text-stream.ts';
import { promptScore, tokenInsight } from './token-insight.ts';
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
  /** Branching: the reply's first tokens, chosen already. They are read with the prompt and not
   *  reported again; they count towards maxNewTokens, as the reply's. */
  replyStart?: number[];
  settings: GenerationSettings;
  onEvent: (event: GenerationEvent) => void;
  /** Checked after every token; true ends the generation with 'aborted'. */
  aborted: () => boolean;
}

export async function generate({ model, promptTokens, replyStart = [], settings, onEvent, aborted }: GenerationRun): Promise<GenerationResult> {
  const reason = invalidSettingsReason(settings);
  if (reason) throw new RangeError(reason);
  const { nCtx } = model.config;
  // An empty prompt starts from <|endoftext|>, the token GPT-2 saw between documents.
  let context = [...(promptTokens.length > 0 ? promptTokens : [END_OF_TEXT]), ...replyStart];
  const random = createRandom(settings.seed);
  const inspect = settings.inspect === true;
  // Greedy without a penalty needs only the argmax (or the top tokens), which the GPU computes: a
  // few bytes come back, and decoding runs as one stream of steps that the GPU can run ahead in.
  const greedyOnGpu = settings.temperature === 0 && settings.repetitionPenalty === 1;
  const text = new TextStream(settings.stopStrings);
  // A branch's first tokens go through the text stream (a character or a stop string can span them
  // and the new ones), but their text was reported before: what the stream releases now is dropped,
  // and what it holds back is skipped when it is released with the new tokens' text.
  let textToSkip = 0;
  for (const token of replyStart) {
    const chunk = text.push(token);
    textToSkip += chunk.piece.length - chunk.text.length;
  }
  const newText = (released: string): string => {
    const skipped = Math.min(textToSkip, released.length);
    textToSkip -= skipped;
    return released.slice(skipped);
  };
  const maxNewTokens = settings.maxNewTokens - replyStart.length;
  const generated: number[] = [];
  let reply = '';
  let contextShifts = 0;

  /** The next token, and with `inspect`, what the model thought of it. */
  interface NextToken { token: number; insight?: TokenInsight }
  const fromTop = (top: TopTokens): NextToken => ({ token: top.ids[0], insight: tokenInsight(top.ids[0], top, null, null) });
  let score: PromptScore | undefined;

  /** Runs `tokens` from `position`, returning the next token; `scoring` also scores the tokens (the prompt). */
  const step = async (tokens: number[], position: number, scoring = false): Promise<NextToken> => {
    if (!inspect) {
      if (greedyOnGpu) return { token: (await model.forward(tokens, position, 'last-argmax'))[0] };
      return { token: sampleToken(await model.forward(tokens, position, 'last-logits'), context, settings, random) };
    }
    const pass = await model.inspect(tokens, position, { scoreTokens: scoring, logits: !greedyOnGpu });
    if (pass.tokenLogprobs) score = promptScore(tokens, pass.tokenLogprobs);
    if (greedyOnGpu) return fromTop(pass.top);
    const distribution = nextTokenDistribution(pass.logits!, context, settings);
    const token = drawToken(distribution, random);
    return { token, insight: tokenInsight(token, pass.top, pass.logits, distribution) };
  };
  let greedySteps: AsyncGenerator<number | TopTokens, void, undefined> | undefined;
  /** One decode step: the token after `token`, run at `position`. */
  const decodeStep = async (token: number, position: number): Promise<NextToken> => {
    if (!greedyOnGpu) return step([token], position);
    // As many steps as the loop below can still ask for: up to the token limit or the context's end.
    const steps = Math.min(maxNewTokens - generated.length, nCtx - position);
    greedySteps ??= inspect ? model.decodeGreedyTop(token, position, steps) : model.decodeGreedy(token, position, steps);
    const { value, done } = await greedySteps.next();
    if (done) throw new Error('greedy decoding ran out of steps before the reply ended');
    return typeof value === 'number' ? { token: value } : fromTop(value);
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
  const result = (stopReason: StopReason, promptTokenCount: number, promptMs: number, decodeSeconds: number): GenerationResult => ({
    text: reply,
    tokens: generated,
    stopReason,
    promptTokens: promptTokenCount,
    promptTokensPerSecond: promptTokenCount / (promptMs / 1000),
    generatedTokensPerSecond: generated.length > 1 ? (generated.length - 1) / decodeSeconds : 0,
    contextShifts,
  });
  // A branch taken at the reply's last allowed token has nothing left to write.
  if (maxNewTokens <= 0) return result('max-tokens', 0, 0, 0);

  const promptStart = performance.now();
  fitContext(nCtx);
  let next = await step(context, 0, inspect);
  const promptMs = performance.now() - promptStart;
  const promptTokenCount = context.length;
  onEvent({ type: 'prompt-done', promptTokens: promptTokenCount, ms: promptMs, ...(score && { score }) });

  const decodeStart = performance.now();
  let stopReason: StopReason = 'max-tokens';
  for (;;) {
    const { token, insight } = next;
    if (token === END_OF_TEXT) {
      stopReason = 'end-of-text';
      break;
    }
    generated.push(token);
    const chunk = text.push(token);
    const added = newText(chunk.text);
    reply += added;
    onEvent({ type: 'token', token, text: added, piece: chunk.piece, ...(insight && { insight }) });
    if (chunk.stopped) {
      stopReason = 'stop-string';
      break;
    }
    if (generated.length >= maxNewTokens) break;
    if (aborted()) {
      stopReason = 'aborted';
      break;
    }
    context.push(token);
    if (context.length > nCtx) {
      // Out of room: keep the newest half and process it again from position 0.
      fitContext(Math.floor(nCtx / 2));
      next = await step(context, 0);
    } else {
      next = await decodeStep(token, context.length - 1);
    }
  }
  await greedySteps?.return();
  const finalChunk = text.finish();
  const finalText = newText(finalChunk.text);
  reply += finalText;
  if (finalText) onEvent({ type: 'final-text', text: finalText });
  return result(stopReason, promptTokenCount, promptMs, (performance.now() - decodeStart) / 1000);
}
