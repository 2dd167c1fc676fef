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
  backend: Backend;
  weightsDtype: WeightsDtype;
}

export type HeadlessResult =
  | { backend: Backend; weightsDtype: WeightsDtype; threads: number; logits: number[]; argmax?: number[]; generated?: number[] }
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
