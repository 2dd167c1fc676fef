// The page behind `npm run bench`: saves a model in the app's storage, then loads it in the
// engine worker and times loading, prompt processing and decoding through the engine's own API;
// on a device of its own it measures the adapter's read bandwidth and profiles each kernel.
// Results are plain JSON so they cross Playwright's page boundary.
import { createGpuContext } from '../gpu/device.ts';
import type { Gpt2Config } from '../model/config.ts';
import type { MatrixDtype } from '../model/weight-layout.ts';
import type { GenerationSettings } from '../worker/engine-api.ts';
import { startEngine, type EngineClient } from '../worker/engine-client.ts';
import { profileKernels, type KernelTiming } from './kernel-profile.ts';
import { measureReadBandwidth, type ReadBandwidth } from './read-bandwidth.ts';

export interface BenchRequest {
  modelName: string;
  configUrl: string;
  weightsUrl: string;
  /** Left out, the engine chooses, as it does in the app. */
  weightsDtype?: MatrixDtype;
  promptTokens: number;
  decodeContexts: number[];
  /** Tokens decoded after each prompt. */
  decodeTokens: number;
}

export interface BenchResult {
  model: string;
  config: Gpt2Config;
  adapter: string;
  weights_dtype: MatrixDtype;
  weight_bytes: number;
  /** Every weight but the unused rows of wpe: what one decode step reads. */
  decode_weight_bytes_per_token: number;
  /** From asking the engine to load the saved model to having the first token of a reply. */
  load_ms: number;
  prefill_tokens: number;
  prefill_ms: number;
  prefill_tokens_per_s: number;
  /** decode_ms_per_token_ctx<N> for every context asked for. */
  [decodeAtContext: `decode_ms_per_token_ctx${number}`]: number;
  read_bandwidth_gbs: number;
  read_bandwidth_bytes: number;
  /** Decode weight bytes per token ÷ decode time at the first context. */
  decode_weight_bandwidth_gbs: number;
  decode_bandwidth_fraction: number;
  /** Decode time per token ÷ prompt processing time per token. */
  prefill_speedup_per_token: number;
  profile: KernelTiming[];
}

export type BenchOutcome = BenchResult | { error: string };

const log = (message: string) => console.log(`bench: ${message}`);

const RUNS = 3;

const greedy = (maxNewTokens: number): GenerationSettings => ({
  maxNewTokens, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, stopStrings: [],
});

/** A prompt of exactly `length` tokens: " the" is one token, however often it is repeated. */
async function promptOf(engine: EngineClient, length: number): Promise<string> {
  const text = 'the' + ' the'.repeat(length - 1);
  const tokens = await engine.api.tokenize(text);
  if (tokens.length !== length) throw new Error(`the benchmark prompt came to ${tokens.length} tokens, not ${length}`);
  return text;
}

async function timeEngine(engine: EngineClient, request: BenchRequest) {
  const id = `bench:${request.modelName}`;
  log('saving the model in the browser\'s storage (not timed)');
  await engine.download({ id, label: `benchmark ${request.modelName}`, configUrl: request.configUrl, weightsUrl: request.weightsUrl });

  log('loading the saved model');
  const loadStarted = performance.now();
  const info = await engine.load({ kind: 'cached', id }, request.weightsDtype ? { weightsDtype: request.weightsDtype } : {});
  await engine.generate('the', greedy(1), () => {});
  const loadMs = performance.now() - loadStarted;

  // The engine's own generation, as the app runs it, times its two phases: the prompt in one
  // pass, then one pass per new token. The best of RUNS runs counts; the runs of the different
  // contexts take turns, so that a stretch of load on a shared machine does not spoil all of one.
  const contexts = [...new Set([request.promptTokens, ...request.decodeContexts])];
  const prompts = new Map<number, string>();
  for (const context of contexts) prompts.set(context, await promptOf(engine, context));
  const prefillMs: Record<number, number> = {};
  const decodeMs: Record<number, number> = {};
  for (let run = 1; run <= RUNS; run++) {
    for (const context of contexts) {
      log(`run ${run} of ${RUNS}: a ${context}-token prompt, then ${request.decodeTokens} tokens decoded`);
      const result = await engine.generate(prompts.get(context)!, greedy(request.decodeTokens + 1), () => {});
      if (result.tokens.length < 2) throw new Error('the model ended its reply before a token was decoded');
      prefillMs[context] = Math.min(prefillMs[context] ?? Infinity, (1000 * context) / result.promptTokensPerSecond);
      decodeMs[context] = Math.min(decodeMs[context] ?? Infinity, 1000 / result.generatedTokensPerSecond);
    }
  }
  return { info, loadMs, prefillMs: prefillMs[request.promptTokens], decodeMsPerToken: decodeMs };
}

type EngineTimings = Awaited<ReturnType<typeof timeEngine>>;

async function run(request: BenchRequest): Promise<BenchResult> {
  // The page's own device measures the adapter's read bandwidth before and after the engine's
  // timings, and the better of the two counts, as the best of several runs does for the engine:
  // the machine may be shared, and load that comes and goes should not favour either side.
  const gpu = await createGpuContext();
  try {
    log('measuring the device\'s read bandwidth');
    const bandwidthBefore = await measureReadBandwidth(gpu.device);
    const engine = startEngine();
    let timings: EngineTimings;
    try {
      timings = await timeEngine(engine, request);
      await engine.api.deleteCachedModel(`bench:${request.modelName}`);
    } finally {
      engine.terminate();
    }
    log('measuring the device\'s read bandwidth again');
    const bandwidthAfter = await measureReadBandwidth(gpu.device);
    const readBandwidth = bandwidthBefore.gbPerSecond > bandwidthAfter.gbPerSecond ? bandwidthBefore : bandwidthAfter;
    log('profiling each kernel');
    const profile = await profileKernels(gpu.device, timings.info.config, timings.info.weightsDtype,
      { promptTokens: request.promptTokens, decodeContexts: request.decodeContexts });
    return summarise(request, timings, readBandwidth, profile);
  } finally {
    gpu.device.destroy();
  }
}

function summarise(request: BenchRequest, timings: EngineTimings, readBandwidth: ReadBandwidth, profile: KernelTiming[]): BenchResult {
  const { info, loadMs, prefillMs, decodeMsPerToken } = timings;
  const { config } = info;
  const bytesPerElement = info.weightsDtype === 'f16' ? 2 : 4;
  const decodeWeightBytes = info.weightBytes - (config.nCtx - 1) * config.nEmbd * bytesPerElement;
  const firstDecodeMs = decodeMsPerToken[request.decodeContexts[0]];
  const decodeBandwidth = decodeWeightBytes / firstDecodeMs / 1e6;
  return {
    model: request.modelName,
    config,
    adapter: info.adapter,
    weights_dtype: info.weightsDtype,
    weight_bytes: info.weightBytes,
    decode_weight_bytes_per_token: decodeWeightBytes,
    load_ms: loadMs,
    prefill_tokens: request.promptTokens,
    prefill_ms: prefillMs,
    prefill_tokens_per_s: request.promptTokens / (prefillMs / 1000),
    ...Object.fromEntries(request.decodeContexts.map((context) => [`decode_ms_per_token_ctx${context}`, decodeMsPerToken[context]])),
    read_bandwidth_gbs: readBandwidth.gbPerSecond,
    read_bandwidth_bytes: readBandwidth.bytes,
    decode_weight_bandwidth_gbs: decodeBandwidth,
    decode_bandwidth_fraction: decodeBandwidth / readBandwidth.gbPerSecond,
    prefill_speedup_per_token: firstDecodeMs / (prefillMs / request.promptTokens),
    profile,
  };
}

declare global {
  interface Window {
    runBench(request: BenchRequest): Promise<BenchOutcome>;
  }
}

window.runBench = (request) => run(request).catch((error: Error) => ({ error: error.message }));
