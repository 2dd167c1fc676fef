// npm run bench [-- --model 124M|355M|774M|1.5B] [--backend webgpu|cpu] [--dtype f32|f16|int8|q4]
//                 [--threads N] [--decode-tokens N] [--busy N] [--json]
// Times the app's own engine in headless Chromium on a GPT-2 of the real shape with seeded random
// weights (made on first use and kept in .cache/bench/), on WebGPU (the default) or the CPU
// backend, and prints a table, or with --json one line of JSON. What is timed: loading the model
// saved in the browser's storage up to the first token, and again (on the CPU with int8 or q4
// weights, from the layout the first load saved); processing a 128-token prompt; decoding at
// contexts 128, 512 and the last positions of the model's context (1016 for 1024 and 8 tokens);
// the read bandwidth of what does the work (WebGPU: a reduction over a large GPU buffer; CPU: the
// WASM SIMD read loop over a large buffer, with the decode's threads), and from those the fraction
// of it that decoding achieves on the weights (on WebGPU from decode steps timed one by one between
// reads, on a copy of the model the page loads); each kernel on its own (on the CPU, the linear
// layers of a decode step). Set CHROMIUM_GPU=vulkan to use a real GPU (see scripts/chromium.ts).
// --busy N runs N processes that only spin beside the browser while it benches: a machine busy
// with something else, as a user's often is, made the same way each time.
// On failure it prints "error: <what is wrong>".
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchOutcome, BenchRequest, BenchResult } from '../src/headless/bench-page.ts';
import type { KernelTiming } from '../src/headless/kernel-profile.ts';
import { MODEL_URL_PREFIX, openHeadlessSession } from './headless-session.ts';
import { MODEL_SHAPES, ensureRandomModel } from './make-random-model.ts';

const PROMPT_TOKENS = 128;
/** Where decoding is timed: the prompt's length, and further into the context (the end of it is added). */
const DECODE_CONTEXTS = [128, 512];
const BENCH_PAGE = { path: 'bench.html', ready: 'runBench' };

const progress = (message: string) => process.stderr.write(`${message}\n`);

/** `count` Node processes that spin until killed. */
function busyProcesses(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

/** "quartiles a–b, range c–d" of a few values. */
function quartiles(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.round(q * (sorted.length - 1))].toFixed(2);
  return `quartiles ${at(0.25)}–${at(0.75)}, range ${at(0)}–${at(1)}`;
}

function formatTable(result: BenchResult & { busy_processes: number }): string {
  const contexts = result.decode_contexts;
  const decodeMs = result[`decode_ms_per_token_ctx${contexts[0]}`];
  const cpu = result.backend === 'cpu';
  const threads = `${result.threads} thread${result.threads === 1 ? '' : 's'}`;
  const engineRunsFraction = `${result.decode_bandwidth_fraction_engine_runs.toFixed(2)} ` +
    '(the median of the runs, each against the read bandwidth measured right after its decode)';
  const rows: [string, string][] = [
    ['model', `GPT-2 ${result.model} shape, random weights, ${result.weights_dtype} matrices (${(result.weight_bytes / 2 ** 20).toFixed(0)} MiB), ${result.matrix_arithmetic} arithmetic, ` +
      `a ${result.kv_cache_dtype} KV cache (${(result.kv_cache_bytes / 2 ** 20).toFixed(0)} MiB at a full context)`],
    ['backend', cpu ? `CPU (${result.adapter}; cross-origin isolated: ${result.cross_origin_isolated ? 'yes' : 'no'})` : `WebGPU (${result.adapter})`],
    ['beside the browser', result.busy_processes === 0 ? 'nothing of the bench\'s' : `${result.busy_processes} spinning process(es) (--busy)`],
    ['load: saved model → first token', `${result.load_ms.toFixed(0)} ms`],
    ['  loaded again', `${result.load_cached_ms.toFixed(0)} ms` + (result.load_cached_from_saved_layout ? ' (from the CPU layout the first load saved)' : '')],
    [`prompt processing, ${result.prefill_tokens} tokens`,
      `${result.prefill_tokens_per_s.toFixed(1)} tokens/s (${(result.prefill_ms / result.prefill_tokens).toFixed(1)} ms/token)`],
    ...contexts.map((context): [string, string] =>
      [`decode at context ${context}`, `${result[`decode_ms_per_token_ctx${context}`].toFixed(1)} ms/token`]),
    [`decode at context ${contexts[0]}, looking inside`, `${result.decode_ms_per_token_inspect.toFixed(1)} ms/token ` +
      `(${(100 * result.inspect_decode_overhead).toFixed(1)}% slower: the median of the runs, each against its own decode without)`],
    cpu
      ? ['CPU read bandwidth (WASM SIMD sum)', `${result.read_bandwidth_gbs.toFixed(2)} GB/s with ${threads}` +
        (result.threads > 1 ? `, ${result.read_bandwidth_single_thread_gbs!.toFixed(2)} GB/s with one` : '')]
      : ['device read bandwidth (reduction)', `${result.read_bandwidth_gbs.toFixed(2)} GB/s ` +
        `(${result.read_bandwidth_layout} order, ${result.read_bandwidth_workgroups} workgroups: the fastest tried)`],
    ['decode weight bandwidth', `${result.decode_weight_bandwidth_gbs.toFixed(2)} GB/s ` +
      `(${(result.decode_weight_bytes_per_token / 2 ** 20).toFixed(0)} MiB / ${decodeMs.toFixed(1)} ms)`],
    ...(result.interleaved
      ? [['decode vs read bandwidth', `${result.decode_bandwidth_fraction.toFixed(2)} ` +
          `(the median of ${result.interleaved.fractions.length} decode steps at context ${result.interleaved.context}, ` +
          `each between two reads: ${quartiles(result.interleaved.fractions)})`],
        ['  in the engine\'s runs', engineRunsFraction]] satisfies [string, string][]
      : [['decode vs read bandwidth', engineRunsFraction]] satisfies [string, string][]),
    ['prompt processing vs decoding', `${result.prefill_speedup_per_token.toFixed(1)}× faster per token (the median of the runs)`],
    ...result.runs.map((run, i): [string, string] => [`run ${i + 1}`,
      `prompt ${(run.prefill_ms / result.prefill_tokens).toFixed(1)} ms/token, ` + contexts.map((context) =>
        `decode ${run[`decode_ms_per_token_ctx${context}`].toFixed(1)} ms/token at ${context} ` +
        `(then read ${run[`read_bandwidth_gbs_ctx${context}`].toFixed(2)} GB/s)`).join(', ')]),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
  lines.push('', formatProfile(result.profile));
  return lines.join('\n');
}

function formatProfile(profile: KernelTiming[]): string {
  const lines = [
    'Kernel profile: each kernel timed alone, repeated (for matrix kernels: GB/s of weights read, GFLOP/s)',
    ['pass'.padEnd(16), 'kernel'.padEnd(16), 'rows'.padStart(5), 'calls'.padStart(6), 'ms/call'.padStart(9),
      'ms/pass'.padStart(9), 'share'.padStart(6), 'GB/s'.padStart(7), 'GFLOP/s'.padStart(8)].join(' '),
  ];
  const passTotals = new Map<string, number>();
  for (const t of profile) passTotals.set(t.pass, (passTotals.get(t.pass) ?? 0) + t.msPerCall * t.calls);
  for (const t of profile) {
    const msPerPass = t.msPerCall * t.calls;
    lines.push([
      t.pass.padEnd(16), t.kernel.padEnd(16), String(t.rows).padStart(5), String(t.calls).padStart(6),
      t.msPerCall.toFixed(3).padStart(9), msPerPass.toFixed(1).padStart(9),
      `${((100 * msPerPass) / passTotals.get(t.pass)!).toFixed(0)}%`.padStart(6),
      (t.weightBytes ? (t.weightBytes / t.msPerCall / 1e6).toFixed(2) : '').padStart(7),
      (t.flops ? (t.flops / t.msPerCall / 1e6).toFixed(2) : '').padStart(8),
    ].join(' '));
  }
  for (const [pass, total] of passTotals) lines.push(`${pass}: kernels alone add up to ${total.toFixed(1)} ms`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: '124M' },
      backend: { type: 'string', default: 'webgpu' },
      dtype: { type: 'string' },
      threads: { type: 'string' },
      'decode-tokens': { type: 'string', default: '8' },
      busy: { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
    },
  });
  const shapes = Object.keys(MODEL_SHAPES).filter((name) => name !== 'tiny');
  const config = MODEL_SHAPES[values.model];
  if (!shapes.includes(values.model) || !config) throw new Error(`--model must be one of ${shapes.join(', ')}, got "${values.model}"`);
  const backend = values.backend;
  if (backend !== 'webgpu' && backend !== 'cpu') throw new Error(`--backend must be webgpu or cpu, got "${backend}"`);
  const dtypes = backend === 'cpu' ? ['f32', 'f16', 'int8', 'q4'] : ['f32', 'f16'];
  if (values.dtype !== undefined && !dtypes.includes(values.dtype)) {
    const hint = values.dtype === 'int8' || values.dtype === 'q4' ? `${values.dtype} is for --backend cpu` : 'leave it out to let the engine choose';
    throw new Error(`--dtype must be ${dtypes.join(', ').replace(/, (?=[^,]*$)/, ' or ')} on ${backend} (${hint}), got "${values.dtype}"`);
  }
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined) {
    if (backend !== 'cpu') throw new Error('--threads is for the CPU backend: add --backend cpu');
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a whole number of at least 1, got "${values.threads}"`);
  }
  const busy = Number(values.busy);
  if (!Number.isInteger(busy) || busy < 0) throw new Error(`--busy must be a whole number of processes (0 or more), got "${values.busy}"`);
  const decodeTokens = Number(values['decode-tokens']);
  if (!Number.isInteger(decodeTokens) || decodeTokens < 1) throw new Error(`--decode-tokens must be a whole number of at least 1, got "${values['decode-tokens']}"`);

  progress(`making (or reusing) a random GPT-2 ${values.model} in .cache/bench/`);
  const model = await ensureRandomModel({
    dir: join('.cache', 'bench', values.model),
    config,
    onProgress: (written, count) => process.stderr.write(`\rwrote ${written}/${count} tensors${written === count ? '\n' : ''}`),
  });

  const session = await openHeadlessSession(model.dir, { page: BENCH_PAGE });
  const spinners = busyProcesses(busy);
  let outcome: BenchOutcome;
  try {
    session.page.on('console', (message) => {
      if (message.text().startsWith('bench: ')) progress(message.text());
    });
    const modelUrl = (path: string) => new URL(MODEL_URL_PREFIX + encodeURIComponent(path.split('/').pop()!), session.baseUrl).href;
    const request: BenchRequest = {
      modelName: values.model,
      configUrl: modelUrl(model.files.config),
      weightsUrl: modelUrl(model.files.weights),
      backend,
      weightsDtype: values.dtype as BenchRequest['weightsDtype'],
      threads,
      promptTokens: PROMPT_TOKENS,
      // The last: decoded steps that end at the context's last position.
      decodeContexts: [...DECODE_CONTEXTS, config.nCtx - decodeTokens],
      decodeTokens,
    };
    outcome = await session.page.evaluate((r) => window.runBench(r), request);
  } finally {
    for (const spinner of spinners) spinner.kill();
    await session.close();
  }
  if ('error' in outcome) throw new Error(outcome.error);
  const result = { ...outcome, busy_processes: busy };
  process.stdout.write(values.json ? JSON.stringify(result) + '\n' : formatTable(result) + '\n');
}

main().catch((error: Error) => {
  process.stdout.write(`error: ${error.message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exitCode = 1;
});
