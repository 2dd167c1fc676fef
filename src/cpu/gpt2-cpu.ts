// GPT-2's forward pass on the CPU (WASM SIMD kernels, assembly/cpu/) with a KV cache.
//
// The same model as src/gpu/gpt2-gpu.ts: one call runs T new tokens at positions [pos0, pos0 + T),
// appending their keys and values to the cache. Activations (sized for a whole context) and the
// cache are laid out once, after the weights, in the model's WASM memory. Linear layers and
// attention split their rows / heads across kernel threads when there are any.
import type { Gpt2Config } from '../model/config.ts';
import {
  TOP_TOKENS, checkedGreedySteps, checkedTokenIds, greedyStepByStep, kvCacheBytes,
  type ForwardOutput, type Gpt2Model, type InspectOptions, type InspectedPass, type KvCacheInfo, type TopTokens,
} from '../model/gpt2-model.ts';
import { WeightKind } from '../model/weight-layout.ts';
import { WEIGHT_FORMAT_CODES, type CpuKernels } from './cpu-kernels.ts';
import type { CpuMemory } from './cpu-memory.ts';
import type { CpuWeights, CpuWeightsDtype, WeightPlacement } from './cpu-weights.ts';
import type { Epilogue, KernelSplitter, SplitKernel } from './kernel-split.ts';

/**
 * What the KV cache holds for weights of each format: bf16 (assembly/cpu/attention.ts) beside
 * int8 and q4 weights it halves what attention reads at each step and the cache's memory (GPT-2
 * 1.5B at a full context: 315 MB instead of 629) for an error far below the weights' own rounding;
 * f32 and f16 weights are chosen for exactness, and keep an f32 cache.
 */
const KV_CACHE_DTYPE: Record<CpuWeightsDtype, KvCacheInfo['dtype']> = { f32: 'f32', f16: 'f32', int8: 'bf16', q4: 'bf16' };

/** The kernels that write and read a cache of each element type. */
const KV_CACHE_KERNELS = {
  f32: { write: 'writeKvCache', attention: 'attention' },
  bf16: { write: 'writeKvCacheBf16', attention: 'attentionBf16' },
} as const satisfies Record<KvCacheInfo['dtype'], { write: keyof CpuKernels; attention: SplitKernel }>;

/** Rows of the final LayerNorm + LM head computed at once when every position's argmax or log-probability is wanted. */
const HEAD_ROWS = 16;

/** Resolves after the event loop has run once: a message-channel hop, which (unlike setTimeout) is not clamped to 4 ms. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** Why the CPU kernels cannot run this shape, or null. */
export function unsupportedCpuShapeReason(config: Gpt2Config): string | null {
  // int8 rows are read 16 elements at a time, attention heads too; every GPT-2 size has n_embd a
  // multiple of 64 and heads of 64. (q4's groups of 32 columns are checked as its weights are laid out.)
  if (config.nEmbd % 16 !== 0) return `n_embd is ${config.nEmbd}; the CPU kernels need a multiple of 16`;
  const headSize = config.nEmbd / config.nHead;
  if (headSize % 16 !== 0) return `the head size is ${headSize}; the CPU kernels need a multiple of 16`;
  return null;
}

interface Layer {
  attnNormWeight: number;
  attnNormBias: number;
  qkvWeight: WeightPlacement;
  qkvBias: number;
  attnProjWeight: WeightPlacement;
  attnProjBias: number;
  mlpNormWeight: number;
  mlpNormBias: number;
  mlpUpWeight: WeightPlacement;
  mlpUpBias: number;
  mlpDownWeight: WeightPlacement;
  mlpDownBias: number;
  kCache: number; // (nHead, nCtx, headSize): head-major, f32 or bf16 (assembly/cpu/attention.ts)
  vCache: number; // (nHead, nCtx, headSize)
}

export class Gpt2Cpu implements Gpt2Model {
  private readonly k: CpuKernels;
  // Activations, sized for a whole context in one pass (byte addresses in the model's memory).
  private readonly tokenIds: number; // (nCtx) i32
  private readonly residual: number; // (nCtx, C) the residual stream x
  private readonly normed: number; // (nCtx, C) LayerNorm output
  private readonly qkv: number; // (nCtx, 3C)
  private readonly headScores: number; // (nHead, nCtx) attention scratch
  private readonly attended: number; // (nCtx, C) attention output, before c_proj
  private readonly projected: number; // (nCtx, C) c_proj output, before the residual add
  private readonly mlpHidden: number; // (nCtx, 4C) after c_fc and GELU
  private readonly linearInput: number; // (nCtx, 4C) a linear layer's input in its kernel's form (f16: split, int8 and q4: quantized)
  private readonly linearInputScales: number; // (nCtx) int8 and q4: the input rows' scales
  private readonly headNormed: number; // (HEAD_ROWS, C)
  private readonly logits: number; // (HEAD_ROWS, vocab)
  private readonly noBias: number; // (vocab) zeros: the LM head has no bias
  private readonly topIds: number; // (TOP_TOKENS) u32: one row's most likely tokens
  private readonly topLogprobs: number; // (TOP_TOKENS) their log-probabilities
  private readonly layers: Layer[];
  readonly kvCache: KvCacheInfo;

  constructor(
    private readonly cpu: CpuMemory,
    readonly config: Gpt2Config,
    private readonly weights: CpuWeights,
    private readonly splitter: KernelSplitter,
  ) {
    const { nCtx, nEmbd: C, nHead, vocabSize, nLayer } = config;
    this.k = cpu.kernels;
    const floats = (label: string, count: number) => cpu.allocate(count * 4, `the ${label}`);
    this.tokenIds = floats('token ids', nCtx);
    this.residual = floats('residual stream', nCtx * C);
    this.normed = floats('LayerNorm output', nCtx * C);
    this.qkv = floats('queries, keys and values', nCtx * 3 * C);
    this.headScores = floats('attention scores', nHead * nCtx);
    this.attended = floats('attention output', nCtx * C);
    this.projected = floats('projection output', nCtx * C);
    this.mlpHidden = floats('MLP activations', nCtx * 4 * C);
    this.linearInput = floats('linear layer input', nCtx * 4 * C);
    this.linearInputScales = floats('linear layer input scales', nCtx);
    this.headNormed = floats('LM head input', HEAD_ROWS * C);
    this.logits = floats('logits', HEAD_ROWS * vocabSize);
    this.noBias = floats('LM head bias', vocabSize);
    this.cpu.bytes(this.noBias, vocabSize * 4).fill(0);
    this.topIds = floats('top token ids', TOP_TOKENS);
    this.topLogprobs = floats('top token log-probabilities', TOP_TOKENS);
    const cacheDtype = KV_CACHE_DTYPE[weights.dtype];
    const bytesPerValue = cacheDtype === 'bf16' ? 2 : 4;
    this.kvCache = { dtype: cacheDtype, bytes: kvCacheBytes(config, bytesPerValue) };
    const cacheBytes = nCtx * C * bytesPerValue; // one layer's keys, or its values
    const w = (kind: WeightKind, layer: number) => weights.get(kind, layer);
    const v = (kind: WeightKind, layer: number) => weights.get(kind, layer).address;
    this.layers = Array.from({ length: nLayer }, (_, layer) => ({
      attnNormWeight: v(WeightKind.attnNormWeight, layer),
      attnNormBias: v(WeightKind.attnNormBias, layer),
      qkvWeight: w(WeightKind.qkvWeight, layer),
      qkvBias: v(WeightKind.qkvBias, layer),
      attnProjWeight: w(WeightKind.attnProjWeight, layer),
      attnProjBias: v(WeightKind.attnProjBias, layer),
      mlpNormWeight: v(WeightKind.mlpNormWeight, layer),
      mlpNormBias: v(WeightKind.mlpNormBias, layer),
      mlpUpWeight: w(WeightKind.mlpUpWeight, layer),
      mlpUpBias: v(WeightKind.mlpUpBias, layer),
      mlpDownWeight: w(WeightKind.mlpDownWeight, layer),
      mlpDownBias: v(WeightKind.mlpDownBias, layer),
      kCache: cpu.allocate(cacheBytes, `the layer ${layer} key cache`),
      vCache: cpu.allocate(cacheBytes, `the layer ${layer} value cache`),
    }));
  }

  async forward(tokens: ArrayLike<number>, pos0: number, output: 'last-logits'): Promise<Float32Array>;
  async forward(tokens: ArrayLike<number>, pos0: number, output: 'last-argmax' | 'all-argmax'): Promise<Uint32Array>;
  async forward(tokens: ArrayLike<number>, pos0: number, output: ForwardOutput): Promise<Float32Array | Uint32Array>;
  async forward(tokens: ArrayLike<number>, pos0: number, output: ForwardOutput): Promise<Float32Array | Uint32Array> {
    const T = (await this.pass(tokens, pos0)).length;
    if (output === 'all-argmax') {
      const argmax = new Uint32Array(T);
      this.headOnEveryRow(T, (row, position) => {
        argmax[position] = this.argmaxOfRow(row);
      });
      return argmax;
    }
    this.head(T - 1, 1);
    if (output === 'last-argmax') return Uint32Array.of(this.argmaxOfRow(0));
    return this.cpu.floats(this.logits, this.config.vocabSize).slice();
  }

  /** Every position's next-token logits, (T, vocab), for `tokens` from position 0: scoring a whole text. */
  async allLogits(tokens: ArrayLike<number>): Promise<Float32Array> {
    const T = (await this.pass(tokens, 0)).length;
    const { vocabSize } = this.config;
    const logits = new Float32Array(T * vocabSize);
    this.headOnEveryRow(T, (row, position) => logits.set(this.cpu.floats(this.logits + row * vocabSize * 4, vocabSize), position * vocabSize));
    return logits;
  }

  async inspect(tokens: ArrayLike<number>, pos0: number, options: InspectOptions = {}): Promise<InspectedPass> {
    const tokenIds = await this.pass(tokens, pos0);
    const T = tokenIds.length;
    let tokenLogprobs: Float32Array | null = null;
    let lastRow = 0; // where the last position's logits are once the head has run
    if (options.scoreTokens) {
      // Position p's distribution scores the token after it; the last one's scores nothing yet.
      const scores = new Float32Array(T - 1);
      this.headOnEveryRow(T, (row, position) => {
        if (position < T - 1) scores[position] = this.logprobOf(row, tokenIds[position + 1]);
        else lastRow = row;
      });
      tokenLogprobs = scores;
    } else {
      this.head(T - 1, 1);
    }
    const { vocabSize } = this.config;
    return {
      top: this.topTokensOfRow(lastRow),
      tokenLogprobs,
      logits: options.logits ? this.cpu.floats(this.logits + lastRow * vocabSize * 4, vocabSize).slice() : null,
    };
  }

  /** The CPU has nothing to overlap: each step runs when the last one is done. */
  decodeGreedy(token: number, pos0: number, steps: number): AsyncGenerator<number, void, undefined> {
    return greedyStepByStep(this, token, pos0, steps);
  }

  /** decodeGreedy step by step, as decodeGreedy: each step's token is the last step's most likely one. */
  async *decodeGreedyTop(token: number, pos0: number, steps: number): AsyncGenerator<TopTokens, void, undefined> {
    checkedGreedySteps(this.config, token, pos0, steps);
    let next = token;
    for (let i = 0; i < steps; i++) {
      const { top } = await this.inspect([next], pos0 + i);
      if (top.ids.length === 0) {
        throw new Error(`every logit after position ${pos0 + i} is NaN, so there is no next token: the weights or the computation are broken`);
      }
      next = top.ids[0];
      yield top;
    }
  }

  /** Checks the tokens, lets the worker read its messages, and runs the blocks over them; returns the token ids. */
  private async pass(tokens: ArrayLike<number>, pos0: number): Promise<Uint32Array> {
    const tokenIds = checkedTokenIds(this.config, tokens, pos0);
    // The pass itself never waits, so without this a whole reply would run without the worker
    // reading its messages, and Stop would arrive after the last token.
    await yieldToEventLoop();
    new Uint32Array(this.cpu.memory.buffer, this.tokenIds, tokenIds.length).set(tokenIds);
    this.blocks(tokenIds.length, pos0);
    return tokenIds;
  }

  /** Embeddings and every transformer block: leaves the residual stream of all T rows in `residual`. */
  private blocks(T: number, pos0: number): void {
    const { nEmbd: C, nHead, nCtx } = this.config;
    const k = this.k;
    const cache = KV_CACHE_KERNELS[this.kvCache.dtype];
    const wte = this.weights.get(WeightKind.tokenEmbedding);
    k.embed(this.residual, this.tokenIds, T, pos0,
      wte.address, wte.scales, this.formatCode(WeightKind.tokenEmbedding),
      this.weights.get(WeightKind.positionEmbedding).address, this.formatCode(WeightKind.positionEmbedding), C);
    // The residual adds and GELU run in the linear layers' epilogue: each thread on its own outputs.
    const addToResidual: Epilogue = { kind: 'add-into', residual: this.residual, out: this.projected, tokens: T, width: C };
    const gelu: Epilogue = { kind: 'gelu', out: this.mlpHidden, tokens: T, width: 4 * C };
    for (const layer of this.layers) {
      // x = x + attn(ln_1(x))
      k.layerNorm(this.normed, this.residual, layer.attnNormWeight, layer.attnNormBias, T, C);
      this.linear(this.qkv, this.normed, layer.qkvWeight, layer.qkvBias, T, 3 * C, C);
      k[cache.write](layer.kCache, layer.vCache, this.qkv, T, pos0, C, nHead, nCtx);
      this.splitter.run(cache.attention, [this.attended, this.qkv, layer.kCache, layer.vCache, this.headScores, T, pos0, C, nHead, nCtx], nHead, 1);
      this.linear(this.projected, this.attended, layer.attnProjWeight, layer.attnProjBias, T, C, C, addToResidual);
      // x = x + mlp(ln_2(x))
      k.layerNorm(this.normed, this.residual, layer.mlpNormWeight, layer.mlpNormBias, T, C);
      this.linear(this.mlpHidden, this.normed, layer.mlpUpWeight, layer.mlpUpBias, T, 4 * C, C, gelu);
      this.linear(this.projected, this.mlpHidden, layer.mlpDownWeight, layer.mlpDownBias, T, C, 4 * C, addToResidual);
    }
  }

  /** logits[0 .. rows) = ln_f(x[first .. first + rows)) · wteᵀ: the LM head is tied to wte, no bias. */
  private head(first: number, rows: number): void {
    const { nEmbd: C, vocabSize } = this.config;
    this.k.layerNorm(this.headNormed, this.residual + first * C * 4,
      this.weights.get(WeightKind.finalNormWeight).address, this.weights.get(WeightKind.finalNormBias).address, rows, C);
    this.linear(this.logits, this.headNormed, this.weights.get(WeightKind.tokenEmbedding), this.noBias, rows, vocabSize, C);
  }

  /** Runs the head on positions [0, T) in chunks of HEAD_ROWS, calling `visit` with each position's row in `logits`. */
  private headOnEveryRow(T: number, visit: (row: number, position: number) => void): void {
    for (let first = 0; first < T; first += HEAD_ROWS) {
      const rows = Math.min(HEAD_ROWS, T - first);
      this.head(first, rows);
      for (let row = 0; row < rows; row++) visit(row, first + row);
    }
  }

  /** log p(token) under row `row` of `logits`: one logit read out, the normaliser computed in WASM. */
  private logprobOf(row: number, token: number): number {
    const { vocabSize } = this.config;
    const logits = this.logits + row * vocabSize * 4;
    return this.cpu.floats(logits + token * 4, 1)[0] - this.k.logSumExp(logits, vocabSize);
  }

  /** The most likely TOP_TOKENS of row `row` of `logits` (fewer only if the row is mostly NaN). */
  private topTokensOfRow(row: number): TopTokens {
    const { vocabSize } = this.config;
    const listed = this.k.topTokens(this.logits + row * vocabSize * 4, vocabSize, TOP_TOKENS, this.topIds, this.topLogprobs);
    return {
      ids: new Uint32Array(this.cpu.memory.buffer, this.topIds, listed).slice(),
      logprobs: this.cpu.floats(this.topLogprobs, listed).slice(),
    };
  }

  private argmaxOfRow(row: number): number {
    const { vocabSize } = this.config;
    return this.k.argmax(this.logits + row * vocabSize * 4, vocabSize);
  }

  /** out[T, rows] = x[T, cols] · Wᵀ + b, in the weight's format, then `epilogue` on it. */
  private linear(out: number, x: number, weight: WeightPlacement, bias: number, T: number, rows: number, cols: number, epilogue?: Epilogue): void {
    const k = this.k;
    switch (weight.format) {
      case 'f32':
        this.splitter.run('linearF32', [out, x, weight.address, bias, T, rows, cols], rows, 4, epilogue);
        return;
      case 'f16':
        k.splitEvenOdd(this.linearInput, x, T * cols);
        this.splitter.run('linearF16', [out, this.linearInput, weight.address, bias, T, rows, cols], rows, 4, epilogue);
        return;
      case 'int8':
        k.quantizeInputI8(this.linearInput, this.linearInputScales, x, T, cols);
        this.splitter.run('linearI8',
          [out, this.linearInput, this.linearInputScales, weight.address, weight.scales, bias, T, rows, cols], rows, 4, epilogue);
        return;
      case 'q4':
        k.quantizeInputQ4(this.linearInput, this.linearInputScales, x, T, cols);
        this.splitter.run('linearQ4',
          [out, this.linearInput, this.linearInputScales, weight.address, weight.scales, bias, T, rows, cols], rows, 4, epilogue);
        return;
    }
  }

  private formatCode(kind: WeightKind): number {
    return WEIGHT_FORMAT_CODES[this.weights.formatOf(kind)];
  }

  /** The memory (weights included) goes when the last reference to it does; threads stop now. */
  destroy(): void {
    this.splitter.close();
  }
}
