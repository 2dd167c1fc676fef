// The page behind `npm run bench`: saves a model in the app's storage, then loads it in the
// engine worker on the backend asked for and times loading, prompt processing and decoding
// through the engine's own API. Around those timings it measures the read bandwidth of what does
// the work: on WebGPU the adapter's, on a device of its own, where it then times decode steps of
// the same model between reads of the bandwidth (interleaved-decode.ts) and profiles each kernel;
// on the CPU the WASM SIMD read loop's with as many threads as the engine uses (and it times a
// decode step's linear layers alone).
// Results are plain JSON so they cross Playwright's page boundary.
import { availableKernelThreads } from '../cpu/web-kernel-thread.ts';
import { findCpuLayout, SAVED_LAYOUT_DTYPES } from '../storage/cpu-layout-store.ts';
import { ModelStore } from '../storage/model-store.ts';
import { createGpuContext } from '../gpu/device.ts';
import type { Gpt2Config } from '../model/config.ts';
import type { Backend, GenerationResult, GenerationSettings, MatrixArithmetic, ModelInfo, WeightsDtype } from '../worker/engine-api.ts';
import { startEngine, type EngineClient } from '../worker/engine-client.ts';
import { profileCpuLinearKernels } from './cpu-kernel-profile.ts';
import { measureCpuReadBandwidth, type CpuReadBandwidth } from './cpu-read-bandwidth.ts';
import { profileKernels, type KernelTiming } from './kernel-profile.ts';
import type { ReadLayout } from '../gpu/kernels.ts';
import { measureInterleavedDecode, type InterleavedDecode } from './interleaved-decode.ts';
import { median, pairedRatios, type PairedRun } from './paired-runs.ts';
import { measureReadBandwidth, ReadBandwidthProbe, type ReadBandwidth } from './read-bandwidth.ts';

export interface BenchRequest {
  modelName: string;
  configUrl: string;
  weightsUrl: string;
  backend: Backend;
  /** Left out, the engine chooses, as it does in the app. */
  weightsDtype?: WeightsDtype;
  /** CPU: use at most this many threads (left out, as many as the page allows). */
  threads?: number;
  promptTokens: number;
  decodeContexts: number[];
  /** Tokens decoded after each prompt. */
  decodeTokens: number;
}

export interface BenchResult {
  model: string;
  config: Gpt2Config;
  backend: Backend;
  adapter: string;
  /** Threads computing: the CPU backend's kernel threads, 1 on WebGPU. */
  threads: number;
  /** Whether the page could share memory between threads (COOP + COEP): without it the CPU backend has one. */
  cross_origin_isolated: boolean;
  weights_dtype: WeightsDtype;
  /** What the matrix products multiply in (f16 needs shader-f16 and f16 matrices). */
  matrix_arithmetic: MatrixArithmetic;
  weight_bytes: number;
  /** What the KV cache stores keys and values as, and its bytes for a full context. */
  kv_cache_dtype: 'f32' | 'bf16';
  kv_cache_bytes: number;
  /** Every weight but the unused rows of wpe: what one decode step reads. */
  decode_weight_bytes_per_token: number;
  /** From asking the engine to load the saved model to having the first token of a reply. */
  load_ms: number;
  /** The same, loading it a second time: on the CPU with int8 or q4 weights, from the layout the first load saved. */
  load_cached_ms: number;
  /** Whether that second load read the saved CPU layout. */
  load_cached_from_saved_layout: boolean;
  /** The contexts decoding was timed at (decode_ms_per_token_ctx<N>). */
  decode_contexts: number[];
  prefill_tokens: number;
  prefill_ms: number;
  prefill_tokens_per_s: number;
  /** decode_ms_per_token_ctx<N> for every context asked for. */
  [decodeAtContext: `decode_ms_per_token_ctx${number}`]: number;
  /** Decode at the first context with the look-inside summary on (the top tokens and their
   *  log-probabilities computed per step on the device and read back), the median run as above. */
  decode_ms_per_token_inspect: number;
  /** How much slower decode is with the summary on: the median over the runs of each run's
   *  decode time with it ÷ without it, at the first context, − 1. */
  inspect_decode_overhead: number;
  /** WebGPU: the adapter's; CPU: with as many threads as the decode used. */
  read_bandwidth_gbs: number;
  /** CPU: one thread reading alone. */
  read_bandwidth_single_thread_gbs?: number;
  /** WebGPU: the order the reduction read in and the workgroups it used, of those tried the fastest. */
  read_bandwidth_layout?: ReadLayout;
  read_bandwidth_workgroups?: number;
  read_bandwidth_bytes: number;
  /** Decode weight bytes per token ÷ decode time at the first context. */
  decode_weight_bandwidth_gbs: number;
  /** WebGPU: the median over decode steps timed one by one at the first context, each held against
   *  the reads timed just before and after it (interleaved-decode.ts); CPU: as
   *  decode_bandwidth_fraction_engine_runs. */
  decode_bandwidth_fraction: number;
  /** The median over the engine's runs of each run's decode weight bandwidth ÷ the read bandwidth measured right after it. */
  decode_bandwidth_fraction_engine_runs: number;
  /** WebGPU: the steps and reads behind decode_bandwidth_fraction. */
  interleaved?: { context: number; step_ms: number[]; read_gbs: number[]; fractions: number[] };
  /** The median over the runs of each run's decode time per token ÷ its prompt time per token. */
  prefill_speedup_per_token: number;
  /** Each run of the engine, with the read bandwidth measured right after each of its decodes. */
  runs: BenchRun[];
  /** WebGPU: every kernel; CPU: a decode step's linear layers. */
  profile: KernelTiming[];
}

export interface BenchRun {
  prefill_ms: number;
  decode_ms_per_token_inspect: number;
  /** decode_ms_per_token_ctx<N> (the median step), read_bandwidth_gbs_ctx<N> (measured right after
   *  those steps, the median of its runs) for every context asked for. */
  [atContext: `decode_ms_per_token_ctx${number}` | `read_bandwidth_gbs_ctx${number}`]: number;
  /** decode_step_ms_ctx<N>: every decode step's time. */
  [stepsAtContext: `decode_step_ms_ctx${number}`]: number[];
}

export type BenchOutcome = BenchResult | { error: string };

const log = (message: string) => console.log(`bench: ${message}`);

const RUNS = 5;
/** Decode steps timed between reads of the bandwidth, for the fraction (WebGPU). */
const INTERLEAVED_STEPS = 24;

const greedy = (maxNewTokens: number, inspect = false): GenerationSettings => ({
  maxNewTokens, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, stopStrings: [], inspect,
});

/** A generation, with the gaps between the arrivals of its tokens: its decode steps (the first token comes from the prompt). */
async function decodeSteps(engine: EngineClient, prompt: string, settings: GenerationSettings): Promise<{ result: GenerationResult; stepMs: number[] }> {
  const arrivals: number[] = [];
  const result = await engine.generate(prompt, settings, (event) => {
    if (event.type === 'token') arrivals.push(performance.now());
  });
  if (result.tokens.length < 2) throw new Error('the model ended its reply before a token was decoded');
  return { result, stepMs: arrivals.slice(1).map((arrived, i) => arrived - arrivals[i]) };
}

/** A prompt of exactly `length` tokens: " the" is one token, however often it is repeated. */
async function promptOf(engine: EngineClient, length: number): Promise<string> {
  const text = 'the' + ' the'.repeat(length - 1);
  const tokens = await engine.api.tokenize(text);
  if (tokens.length !== length) throw new Error(`the benchmark prompt came to ${tokens.length} tokens, not ${length}`);
  return text;
}

interface EngineRun extends PairedRun {
  /** By context: every decode step's time. */
  decodeStepMs: Record<number, number[]>;
  /** The median decode step at the first context with the look-inside summary on. */
  inspectDecodeMs: number;
}

interface EngineTimings {
  info: ModelInfo;
  loadMs: number;
  /** The saved model loaded a second time. */
  reload: { ms: number; fromSavedLayout: boolean };
  prefillMs: number;
  decodeMsPerToken: Record<number, number>;
  inspectDecodeMs: number;
  runs: EngineRun[];
}

/** `measureBandwidth` measures the read bandwidth and returns it, in GB/s. */
async function timeEngine(engine: EngineClient, request: BenchRequest, measureBandwidth: () => Promise<number>): Promise<EngineTimings> {
  const id = `bench:${request.modelName}`;
  log('saving the model in the browser\'s storage (not timed)');
  await engine.download({ id, label: `benchmark ${request.modelName}`, configUrl: request.configUrl, weightsUrl: request.weightsUrl });

  log(`loading the saved model on ${request.backend === 'cpu' ? 'the CPU' : 'WebGPU'}`);
  const loadStarted = performance.now();
  const info = await engine.load({ kind: 'cached', id },
    { backend: request.backend, weightsDtype: request.weightsDtype, cpuThreads: request.threads });
  await engine.generate('the', greedy(1), () => {});
  const loadMs = performance.now() - loadStarted;

  // The same saved model loaded again, once the first load has saved its CPU layout (int8, q4):
  // what every load after the first costs.
  if (info.backend === 'cpu' && SAVED_LAYOUT_DTYPES.includes(info.weightsDtype)) {
    log('waiting for the CPU-ready layout to be saved (not timed)');
    await layoutSaved(id, info.weightsDtype);
  }
  log('loading the saved model again');
  const reloadStarted = performance.now();
  const reloaded = await engine.load({ kind: 'cached', id },
    { backend: request.backend, weightsDtype: request.weightsDtype, cpuThreads: request.threads });
  await engine.generate('the', greedy(1), () => {});
  const reload = { ms: performance.now() - reloadStarted, fromSavedLayout: reloaded.fromSavedLayout };

  // The engine's own generation, as the app runs it: it times the prompt, one pass; the decode
  // steps are timed here, as the gaps between the tokens' arrivals (the first token comes from
  // the prompt), and a run's figure is the median step. The median of RUNS runs counts; the runs of
  // the different contexts take turns, and the read bandwidth is measured right after each
  // generation, next to its decode steps, so that a stretch of load on a shared machine neither
  // spoils all of one nor favours either side.
  const contexts = [...new Set([request.promptTokens, ...request.decodeContexts])];
  const prompts = new Map<number, string>();
  for (const context of contexts) prompts.set(context, await promptOf(engine, context));
  // Untimed: the first long prompt is what makes the engine compile its kernels for long prompts
  // (in the background, using the short-prompt ones meanwhile), which a timed run should not see.
  log('a warm-up run (not timed)');
  await engine.generate(prompts.get(request.promptTokens)!, greedy(2), () => {});
  const runs: EngineRun[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const thisRun: EngineRun = { readGbPerSecond: {}, prefillMs: 0, decodeMsPerToken: {}, decodeStepMs: {}, inspectDecodeMs: 0 };
    for (const context of contexts) {
      log(`run ${run} of ${RUNS}: a ${context}-token prompt, then ${request.decodeTokens} tokens decoded`);
      const { result, stepMs } = await decodeSteps(engine, prompts.get(context)!, greedy(request.decodeTokens + 1));
      thisRun.readGbPerSecond[context] = await measureBandwidth();
      if (context === request.promptTokens) thisRun.prefillMs = (1000 * context) / result.promptTokensPerSecond;
      thisRun.decodeStepMs[context] = stepMs;
      thisRun.decodeMsPerToken[context] = median(stepMs);
    }
    const first = request.decodeContexts[0];
    log(`run ${run} of ${RUNS}: context ${first} again, with the look-inside summary on`);
    thisRun.inspectDecodeMs = median((await decodeSteps(engine, prompts.get(first)!, greedy(request.decodeTokens + 1, true))).stepMs);
    runs.push(thisRun);
  }
  // The median run: load on a shared machine comes and goes, and the median is what a user meets.
  const typical = (ms: (run: PairedRun) => number) => median(runs.map(ms));
  const decodeMsPerToken = Object.fromEntries(contexts.map((context) => [context, typical((run) => run.decodeMsPerToken[context])]));
  return { info, loadMs, reload, prefillMs: typical((run) => run.prefillMs), decodeMsPerToken, inspectDecodeMs: median(runs.map((run) => run.inspectDecodeMs)), runs };
}

/** Waits until the engine has saved the CPU layout of model `id` (it does so after a load, in the background). */
async function layoutSaved(id: string, dtype: WeightsDtype): Promise<void> {
  const store = await ModelStore.open();
  for (const started = performance.now(); performance.now() - started < 120_000;) {
    const saved = await store.saved(id);
    if (saved && await findCpuLayout(saved.directory, saved.manifest, dtype)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the engine did not save the CPU layout within two minutes of loading the model');
}

/**
 * The engine's timings, with the read bandwidth measured before, between and after its runs, of
 * which the best counts (the limit the engine is held against): the machine may be shared, and
 * load that comes and goes should not favour either side. Each run also keeps the bandwidth
 * measured right after each of its decodes, for the ratios (paired-runs.ts). `measure` is given
 * the best so far when it may take a shortcut (on WebGPU: time only the read order and
 * workgroups that won, as the median of its runs, beside the median decode step).
 */
async function timeAmongBandwidths<B extends { gbPerSecond: number }>(request: BenchRequest, measure: (best?: B) => Promise<B>, better: (a: B, b: B) => B) {
  log('measuring the read bandwidth');
  let best: B = await measure();
  const engine = startEngine();
  let timings: EngineTimings;
  try {
    timings = await timeEngine(engine, request, async () => {
      const measured = await measure(best);
      best = better(best, measured);
      return measured.gbPerSecond;
    });
    await engine.api.deleteCachedModel(`bench:${request.modelName}`);
  } finally {
    engine.terminate();
  }
  log('measuring the read bandwidth again');
  return { timings, readBandwidth: better(best, await measure()) };
}

async function runOnGpu(request: BenchRequest): Promise<BenchResult> {
  // The page's own device, so that the engine's buffers and the bandwidth's never share one.
  const gpu = await createGpuContext();
  try {
    const { timings, readBandwidth } = await timeAmongBandwidths(request, (best?: ReadBandwidth) => measureReadBandwidth(gpu.device, best, best ? 'median' : 'best'),
      (a, b) => (a.gbPerSecond > b.gbPerSecond ? a : b));
    const { weightsDtype, config } = timings.info;
    if (weightsDtype === 'int8' || weightsDtype === 'q4') throw new Error(`${weightsDtype} weights are for the CPU backend only`);
    const context = request.decodeContexts[0];
    log(`loading the model on the page, for ${INTERLEAVED_STEPS} decode steps at context ${context} between reads of the bandwidth`);
    const probe = new ReadBandwidthProbe(gpu.device);
    let interleaved: InterleavedDecode;
    try {
      interleaved = await measureInterleavedDecode(gpu.device, probe, { configUrl: request.configUrl,
        weightsUrl: request.weightsUrl, weightsDtype, decodeWeightBytes: decodeWeightBytesOf(timings.info), context,
        steps: INTERLEAVED_STEPS, read: readBandwidth });
    } finally {
      probe.destroy();
    }
    log('profiling each kernel');
    const profile = await profileKernels(gpu.device, config, weightsDtype,
      { promptTokens: request.promptTokens, decodeContexts: request.decodeContexts });
    return {
      ...summarise(request, timings, readBandwidth),
      decode_bandwidth_fraction: interleaved.fraction,
      interleaved: { context, step_ms: interleaved.stepMs, read_gbs: interleaved.readGbPerSecond, fractions: interleaved.fractions },
      read_bandwidth_layout: readBandwidth.layout,
      read_bandwidth_workgroups: readBandwidth.workgroups,
      profile,
    };
  } finally {
    gpu.device.destroy();
  }
}

async function runOnCpu(request: BenchRequest): Promise<BenchResult> {
  // What the engine's worker will allow, since the bandwidth is measured before the model loads.
  const threads = Math.min(request.threads ?? Infinity, availableKernelThreads());
  log(`the CPU backend will use ${threads} thread${threads === 1 ? '' : 's'} ` +
    `(cross-origin isolated: ${globalThis.crossOriginIsolated}, ${navigator.hardwareConcurrency} cores)`);
  const { timings, readBandwidth } = await timeAmongBandwidths(request, () => measureCpuReadBandwidth(threads),
    (a: CpuReadBandwidth, b: CpuReadBandwidth) => ({
      ...a,
      gbPerSecond: Math.max(a.gbPerSecond, b.gbPerSecond),
      singleThreadGbPerSecond: Math.max(a.singleThreadGbPerSecond, b.singleThreadGbPerSecond),
    }));
  if (timings.info.threads !== readBandwidth.threads) {
    throw new Error(`the engine used ${timings.info.threads} threads but the read bandwidth was measured with ${readBandwidth.threads}`);
  }
  log('profiling the linear layers of a decode step');
  const { config, weightsDtype: dtype } = timings.info;
  const profile = await profileCpuLinearKernels({ config, dtype, threads });
  return { ...summarise(request, timings, readBandwidth), read_bandwidth_single_thread_gbs: readBandwidth.singleThreadGbPerSecond, profile };
}

/** What one decode step reads: every weight but the unused rows of wpe. */
function decodeWeightBytesOf({ config, weightBytes, weightsDtype }: ModelInfo): number {
  // wpe is stored as the matrices are, but stays f32 under int8 and q4 (a token reads one row of it).
  const wpeBytesPerElement = weightsDtype === 'f16' ? 2 : 4;
  return weightBytes - (config.nCtx - 1) * config.nEmbd * wpeBytesPerElement;
}

/** decode_ms_per_token_ctx<N> for every context asked for. */
function decodeFields(request: BenchRequest, msByContext: Record<number, number>): Record<`decode_ms_per_token_ctx${number}`, number> {
  return Object.fromEntries(request.decodeContexts.map((context) => [`decode_ms_per_token_ctx${context}`, msByContext[context]]));
}

function summarise(request: BenchRequest, timings: EngineTimings, readBandwidth: Pick<ReadBandwidth, 'bytes' | 'gbPerSecond'>): Omit<BenchResult, 'profile'> {
  const { info, loadMs, reload, prefillMs, decodeMsPerToken, inspectDecodeMs, runs } = timings;
  const { config } = info;
  const decodeWeightBytes = decodeWeightBytesOf(info);
  const firstDecodeMs = decodeMsPerToken[request.decodeContexts[0]];
  const decodeBandwidth = decodeWeightBytes / firstDecodeMs / 1e6;
  const ratios = pairedRatios(runs, decodeWeightBytes, request.promptTokens, request.decodeContexts[0]);
  return {
    model: request.modelName,
    config,
    backend: info.backend,
    adapter: info.adapter,
    threads: info.threads,
    cross_origin_isolated: globalThis.crossOriginIsolated,
    weights_dtype: info.weightsDtype,
    matrix_arithmetic: info.matrixArithmetic,
    weight_bytes: info.weightBytes,
    kv_cache_dtype: info.kvCache.dtype,
    kv_cache_bytes: info.kvCache.bytes,
    decode_weight_bytes_per_token: decodeWeightBytes,
    load_ms: loadMs,
    load_cached_ms: reload.ms,
    load_cached_from_saved_layout: reload.fromSavedLayout,
    decode_contexts: request.decodeContexts,
    prefill_tokens: request.promptTokens,
    prefill_ms: prefillMs,
    prefill_tokens_per_s: request.promptTokens / (prefillMs / 1000),
    ...decodeFields(request, decodeMsPerToken),
    decode_ms_per_token_inspect: inspectDecodeMs,
    inspect_decode_overhead: median(runs.map((run) => run.inspectDecodeMs / run.decodeMsPerToken[request.decodeContexts[0]])) - 1,
    read_bandwidth_gbs: readBandwidth.gbPerSecond,
    read_bandwidth_bytes: readBandwidth.bytes,
    decode_weight_bandwidth_gbs: decodeBandwidth,
    decode_bandwidth_fraction: ratios.decodeBandwidthFraction,
    decode_bandwidth_fraction_engine_runs: ratios.decodeBandwidthFraction,
    prefill_speedup_per_token: ratios.prefillSpeedupPerToken,
    runs: runs.map((run) => ({
      prefill_ms: run.prefillMs,
      ...decodeFields(request, run.decodeMsPerToken),
      decode_ms_per_token_inspect: run.inspectDecodeMs,
      ...Object.fromEntries(request.decodeContexts.flatMap((context) => [
        [`read_bandwidth_gbs_ctx${context}`, run.readGbPerSecond[context]],
        [`decode_step_ms_ctx${context}`, run.decodeStepMs[context]],
      ])),
    })),
  };
}

declare global {
  interface Window {
    runBench(request: BenchRequest): Promise<BenchOutcome>;
  }
}

window.runBench = (request) => (request.backend === 'cpu' ? runOnCpu(request) : runOnGpu(request))
  .catch((error: Error) => ({ error: error.message }));
