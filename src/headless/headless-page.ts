// The page behind `npm run logits`: loads a model in the engine worker, on the backend asked for,
// and answers one request.
// Results are plain arrays so they cross Playwright's page boundary as JSON.
import type { Backend, WeightsDtype } from '../worker/engine-api.ts';
import { startEngine } from '../worker/engine-client.ts';

export interface HeadlessRequest {
  configUrl: string;
  weightsUrl: string;
  tokens: number[];
  allPositions: boolean;
  generate: number;
  /** With 1 or more: the top tokens after the last prompt token and after each generated one, and
   *  the prompt's log-probabilities, summarised on the device. */
  topK: number;
  backend: Backend;
  weightsDtype: WeightsDtype;
}

export type HeadlessResult =
  | {
    backend: Backend; weightsDtype: WeightsDtype; threads: number; logits: number[]; argmax?: number[]; generated?: number[];
    top_k?: [number, number][][]; prompt_logprobs?: number[];
  }
  | { error: string };

async function run(request: HeadlessRequest): Promise<HeadlessResult> {
  const engine = startEngine();
  try {
    const source = { kind: 'url' as const, name: request.weightsUrl, configUrl: request.configUrl, weightsUrl: request.weightsUrl };
    const { backend, weightsDtype, threads } = await engine.load(source, { backend: request.backend, weightsDtype: request.weightsDtype });
    const { logits, argmax } = await engine.api.logits(request.tokens, { allPositions: request.allPositions });
    const result: HeadlessResult = { backend, weightsDtype, threads, logits: Array.from(logits) };
    if (argmax) result.argmax = argmax;
    if (request.generate > 0) result.generated = await engine.api.greedy(request.tokens, request.generate);
    if (request.topK > 0) {
      const inspection = await engine.api.inspect(request.tokens, request.generate);
      if (request.generate > 0 && inspection.generated.join() !== result.generated!.join()) {
        throw new Error(`the greedy tokens with the top-k summary (${inspection.generated}) differ from those without (${result.generated})`);
      }
      result.top_k = inspection.top.map((top) => top.slice(0, request.topK));
      result.prompt_logprobs = inspection.promptLogprobs;
    }
    return result;
  } catch (error) {
    return { error: (error as Error).message };
  } finally {
    engine.terminate();
  }
}

declare global {
  interface Window {
    runHeadless(request: HeadlessRequest): Promise<HeadlessResult>;
  }
}

window.runHeadless = run;
