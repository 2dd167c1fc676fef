// GPT-2's forward pass on WebGPU with a KV cache.
//
// One call runs T new tokens at positions [pos0, pos0 + T): prompt processing passes the whole
// prompt (T > 1, tiled matmuls), decoding passes one token (T = 1, matrix-vector kernels). Keys and
// values of every layer are appended to the cache, so a decode step costs one token's work.
// All buffers and bind groups are made once, in the constructor; a pass is one command submission.
// Greedy decoding keeps each step's argmax on the GPU as the next step's input, so the next step
// is queued before this one's token is read back: the GPU does not sit idle while the CPU reads it.
// The head reduces its logits on the GPU too, to the argmax or to a summary of the distribution
// (top-tokens.wgsl), so the full logits come back only when asked for.
import type { Gpt2Config } from '../model/config.ts';
import {
  checkedGreedySteps, checkedTokenIds, kvCacheBytes,
  type ForwardOutput, type Gpt2Model, type InspectOptions, type InspectedPass, type KvCacheInfo, type TopTokens,
} from '../model/gpt2-model.ts';
import { WeightKind } from '../model/weight-layout.ts';
import {
  Gpt2Kernels, STEP_UNIFORM_SIZE, TOP_TOKENS_BYTES, attentionScoresLength, deviceTuning, topTokensAt, type KernelTuning, type MatrixArithmetic,
} from './kernels.ts';
import type { GpuWeights } from './gpu-weights.ts';

/** Rows of the final LayerNorm + LM head computed per dispatch when every position's logits are
 *  wanted; bounds the logits buffer to HEAD_ROWS × vocab. */
const HEAD_ROWS = 16;

interface LayerBindGroups {
  attnNorm: GPUBindGroup;
  qkv: GPUBindGroup;
  kvCacheWrite: GPUBindGroup;
  attentionScores: GPUBindGroup;
  attentionOutput: GPUBindGroup;
  attnProj: GPUBindGroup;
  mlpNorm: GPUBindGroup;
  mlpUp: GPUBindGroup;
  mlpDown: GPUBindGroup;
}

interface HeadBindGroups {
  finalNorm: GPUBindGroup;
  lmHead: GPUBindGroup;
  argmax: GPUBindGroup;
  topTokens: GPUBindGroup;
}

/** What the head reduces each row's logits to: the argmax token (u32), or the top tokens with
 *  their log-probabilities (TOP_TOKENS_BYTES, ids first). Either begins with the argmax. */
type HeadSummary = 'argmax' | 'top-tokens';

export class Gpt2Gpu implements Gpt2Model {
  private readonly kernels: Gpt2Kernels;
  private readonly buffers: GPUBuffer[] = [];
  // Uniforms: this pass's rows and position; and the head's fixed row counts (1, or HEAD_ROWS).
  private readonly step: GPUBuffer;
  // Activations, sized for a whole context in one pass.
  private readonly tokens: GPUBuffer; // (nCtx) u32
  private readonly residual: GPUBuffer; // (nCtx, C) the residual stream x
  private readonly normed: GPUBuffer; // (nCtx, C) LayerNorm output
  private readonly qkv: GPUBuffer; // (nCtx, 3C)
  private readonly attentionScores: GPUBuffer; // (nCtx, nHead, nCtx)
  private readonly attended: GPUBuffer; // (nCtx, C) attention output, before c_proj
  private readonly mlpHidden: GPUBuffer; // (nCtx, 4C) after c_fc and GELU
  private readonly headInput: GPUBuffer; // (HEAD_ROWS, C) rows of x copied out for the head
  private readonly logits: GPUBuffer; // (HEAD_ROWS, vocab)
  private readonly argmax: GPUBuffer; // (HEAD_ROWS) u32
  private readonly targets: GPUBuffer; // (HEAD_ROWS) u32 each head row's next token, to score
  private readonly summaries: GPUBuffer; // (HEAD_ROWS, TOP_TOKENS_BYTES) top ids, then their log-probabilities
  private readonly targetLogprobs: GPUBuffer; // (HEAD_ROWS) f32 log p(target) per head row
  private readonly logitsReadback: GPUBuffer; // (vocab) f32
  private readonly argmaxReadback: GPUBuffer; // (nCtx) u32
  private readonly tokenLogprobsReadback: GPUBuffer; // (nCtx) f32
  private readonly summaryReadbacks: GPUBuffer[]; // 2 × (TOP_TOKENS_BYTES): a step's token or summary; greedy steps take turns
  private readonly layers: LayerBindGroups[];
  private readonly embedding: GPUBindGroup;
  private readonly headForOneRow: HeadBindGroups;
  private readonly headForManyRows: HeadBindGroups;

  readonly kvCache: KvCacheInfo;

  /** `tuning` left out, the kernels suit the device (tests choose variants). */
  constructor(private readonly device: GPUDevice, readonly config: Gpt2Config, weights: GpuWeights,
    tuning: KernelTuning = deviceTuning(device)) {
    const { nCtx, nEmbd: C, vocabSize, nLayer } = config;
    this.kvCache = { dtype: 'f32', bytes: kvCacheBytes(config, 4) };
    this.kernels = new Gpt2Kernels(device, config, weights.matrixDtype, tuning);

    const uniform = (label: string, rows: number) => {
      const buffer = this.createBuffer(label, STEP_UNIFORM_SIZE, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      device.queue.writeBuffer(buffer, 0, new Uint32Array([rows, 0, 0, 0]));
      return buffer;
    };
    const storage = (label: string, floats: number) =>
      this.createBuffer(label, floats * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    const readback = (label: string, bytes: number) =>
      this.createBuffer(label, bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);

    this.step = uniform('step', 0);
    const oneRow = uniform('head rows: 1', 1);
    const manyRows = uniform(`head rows: ${HEAD_ROWS}`, HEAD_ROWS);
    this.tokens = storage('tokens', nCtx);
    this.residual = storage('residual', nCtx * C);
    this.normed = storage('normed', nCtx * C);
    this.qkv = storage('qkv', nCtx * 3 * C);
    this.attentionScores = storage('attention scores', attentionScoresLength(config));
    this.attended = storage('attended', nCtx * C);
    this.mlpHidden = storage('mlp hidden', nCtx * 4 * C);
    this.headInput = storage('head input', HEAD_ROWS * C);
    const headNormed = storage('head normed', HEAD_ROWS * C);
    this.logits = storage('logits', HEAD_ROWS * vocabSize);
    this.argmax = storage('argmax', HEAD_ROWS);
    this.targets = storage('targets', HEAD_ROWS);
    this.summaries = storage('top tokens', HEAD_ROWS * TOP_TOKENS_BYTES / 4);
    this.targetLogprobs = storage('target log-probabilities', HEAD_ROWS);
    this.logitsReadback = readback('logits readback', vocabSize * 4);
    this.argmaxReadback = readback('argmax readback', nCtx * 4);
    this.tokenLogprobsReadback = readback('token log-probabilities readback', nCtx * 4);
    this.summaryReadbacks = [readback('summary readback 0', TOP_TOKENS_BYTES), readback('summary readback 1', TOP_TOKENS_BYTES)];

    const k = this.kernels;
    const w = (kind: WeightKind, layer = -1) => weights.get(kind, layer);
    this.embedding = k.embedding.bind(device, [this.step, this.tokens, w(WeightKind.tokenEmbedding), w(WeightKind.positionEmbedding), this.residual]);
    this.layers = Array.from({ length: nLayer }, (_, layer) => {
      const kCache = storage(`layer ${layer} key cache`, nCtx * C);
      const vCache = storage(`layer ${layer} value cache`, nCtx * C);
      const lw = (kind: WeightKind) => w(kind, layer);
      return {
        attnNorm: k.layerNorm.bind(device, [this.step, this.residual, lw(WeightKind.attnNormWeight), lw(WeightKind.attnNormBias), this.normed]),
        qkv: k.qkv.bind(device, this.step, this.normed, lw(WeightKind.qkvWeight), lw(WeightKind.qkvBias), this.qkv),
        kvCacheWrite: k.kvCacheWrite.bind(device, [this.step, this.qkv, kCache, vCache]),
        attentionScores: k.attention.scores.bind(device, [this.step, this.qkv, kCache, this.attentionScores]),
        attentionOutput: k.attention.output.bind(device, [this.step, this.attentionScores, vCache, this.attended]),
        attnProj: k.attnProj.bind(device, this.step, this.attended, lw(WeightKind.attnProjWeight), lw(WeightKind.attnProjBias), this.residual),
        mlpNorm: k.layerNorm.bind(device, [this.step, this.residual, lw(WeightKind.mlpNormWeight), lw(WeightKind.mlpNormBias), this.normed]),
        mlpUp: k.mlpUp.bind(device, this.step, this.normed, lw(WeightKind.mlpUpWeight), lw(WeightKind.mlpUpBias), this.mlpHidden),
        mlpDown: k.mlpDown.bind(device, this.step, this.mlpHidden, lw(WeightKind.mlpDownWeight), lw(WeightKind.mlpDownBias), this.residual),
      };
    });
    const head = (rows: GPUBuffer): HeadBindGroups => ({
      finalNorm: k.layerNorm.bind(device, [rows, this.headInput, w(WeightKind.finalNormWeight), w(WeightKind.finalNormBias), headNormed]),
      // The LM head is tied to wte: logits = h · wteᵀ, no bias (wte is bound again as a stand-in).
      lmHead: k.lmHead.bind(device, rows, headNormed, w(WeightKind.tokenEmbedding), w(WeightKind.tokenEmbedding), this.logits),
      argmax: k.argmax.bind(device, [rows, this.logits, this.argmax]),
      topTokens: k.topTokens.bind(device, [rows, this.logits, this.targets, this.summaries, this.targetLogprobs]),
    });
    this.headForOneRow = head(oneRow);
    this.headForManyRows = head(manyRows);
  }

  async forward(tokens: ArrayLike<number>, pos0: number, output: 'last-logits'): Promise<Float32Array>;
  async forward(tokens: ArrayLike<number>, pos0: number, output: 'last-argmax' | 'all-argmax'): Promise<Uint32Array>;
  async forward(tokens: ArrayLike<number>, pos0: number, output: ForwardOutput): Promise<Float32Array | Uint32Array>;
  async forward(tokens: ArrayLike<number>, pos0: number, output: ForwardOutput): Promise<Float32Array | Uint32Array> {
    const { rows, encoder } = this.encodeTokens(tokens, pos0);
    const { vocabSize } = this.config;
    const queue = this.device.queue;

    if (output === 'all-argmax') {
      for (let first = 0; first < rows; first += HEAD_ROWS) {
        const count = Math.min(HEAD_ROWS, rows - first);
        this.encodeHead(encoder, first, count, this.headForManyRows, HEAD_ROWS, 'argmax');
        encoder.copyBufferToBuffer(this.argmax, 0, this.argmaxReadback, first * 4, count * 4);
      }
      queue.submit([encoder.finish()]);
      return new Uint32Array(await this.read(this.argmaxReadback, rows * 4));
    }
    this.encodeHead(encoder, rows - 1, 1, this.headForOneRow, 1, 'argmax');
    if (output === 'last-logits') {
      encoder.copyBufferToBuffer(this.logits, 0, this.logitsReadback, 0, vocabSize * 4);
      queue.submit([encoder.finish()]);
      return new Float32Array(await this.read(this.logitsReadback, vocabSize * 4));
    }
    encoder.copyBufferToBuffer(this.argmax, 0, this.argmaxReadback, 0, 4);
    queue.submit([encoder.finish()]);
    return new Uint32Array(await this.read(this.argmaxReadback, 4));
  }

  async inspect(tokens: ArrayLike<number>, pos0: number, options: InspectOptions = {}): Promise<InspectedPass> {
    const { rows, encoder } = this.encodeTokens(tokens, pos0);
    const { vocabSize } = this.config;
    const queue = this.device.queue;

    // With scoreTokens every row runs through the head, HEAD_ROWS at a time; otherwise the last alone.
    const scored = options.scoreTokens ? rows - 1 : 0;
    const lastHeadRow = options.scoreTokens ? (rows - 1) % HEAD_ROWS : 0;
    if (options.scoreTokens) {
      for (let first = 0; first < rows; first += HEAD_ROWS) {
        const count = Math.min(HEAD_ROWS, rows - first);
        // Row r is scored on the pass's next token, r + 1; the last row has none.
        const targetCount = Math.min(count, scored - first);
        if (targetCount > 0) encoder.copyBufferToBuffer(this.tokens, (first + 1) * 4, this.targets, 0, targetCount * 4);
        this.encodeHead(encoder, first, count, this.headForManyRows, HEAD_ROWS, 'top-tokens');
        if (targetCount > 0) encoder.copyBufferToBuffer(this.targetLogprobs, 0, this.tokenLogprobsReadback, first * 4, targetCount * 4);
      }
    } else {
      this.encodeHead(encoder, rows - 1, 1, this.headForOneRow, 1, 'top-tokens');
    }
    encoder.copyBufferToBuffer(this.summaries, lastHeadRow * TOP_TOKENS_BYTES, this.summaryReadbacks[0], 0, TOP_TOKENS_BYTES);
    if (options.logits) encoder.copyBufferToBuffer(this.logits, lastHeadRow * vocabSize * 4, this.logitsReadback, 0, vocabSize * 4);
    queue.submit([encoder.finish()]);

    const [summary, tokenLogprobs, logits] = await Promise.all([
      this.read(this.summaryReadbacks[0], TOP_TOKENS_BYTES),
      scored > 0 ? this.read(this.tokenLogprobsReadback, scored * 4) : new ArrayBuffer(0),
      options.logits ? this.read(this.logitsReadback, vocabSize * 4) : null,
    ]);
    return {
      top: topTokensAt(summary),
      tokenLogprobs: options.scoreTokens ? new Float32Array(tokenLogprobs) : null,
      logits: logits && new Float32Array(logits),
    };
  }

  async *decodeGreedy(token: number, pos0: number, steps: number): AsyncGenerator<number, void, undefined> {
    for await (const step of this.decodeAhead(token, pos0, steps, 'argmax')) yield new Uint32Array(step)[0];
  }

  async *decodeGreedyTop(token: number, pos0: number, steps: number): AsyncGenerator<TopTokens, void, undefined> {
    for await (const step of this.decodeAhead(token, pos0, steps, 'top-tokens')) yield topTokensAt(step);
  }

  /** Greedy decoding that yields each step's head output, as `summary` has it, as bytes. */
  private async *decodeAhead(token: number, pos0: number, steps: number, summary: HeadSummary): AsyncGenerator<ArrayBuffer, void, undefined> {
    checkedGreedySteps(this.config, token, pos0, steps);
    const [output, bytes] = summary === 'argmax' ? [this.argmax, 4] : [this.summaries, TOP_TOKENS_BYTES];
    const queue = this.device.queue;
    queue.writeBuffer(this.tokens, 0, Uint32Array.of(token));
    const submitStep = (i: number) => {
      // Queued after the previous step's commands, so each step reads its own position.
      queue.writeBuffer(this.step, 0, new Uint32Array([1, pos0 + i]));
      const encoder = this.device.createCommandEncoder();
      this.encodeBlocks(encoder, 1, pos0 + i);
      this.encodeHead(encoder, 0, 1, this.headForOneRow, 1, summary);
      // The argmax, the output's first u32, is the next step's token; the output goes to the CPU
      // through this step's readback.
      encoder.copyBufferToBuffer(output, 0, this.tokens, 0, 4);
      encoder.copyBufferToBuffer(output, 0, this.summaryReadbacks[i % 2], 0, bytes);
      queue.submit([encoder.finish()]);
    };
    submitStep(0);
    for (let i = 0; i < steps; i++) {
      // read() asks for the map at once, before the next step is queued: a map waits for the work
      // queued before it, and asked for after, it would wait for that step too.
      const reading = this.read(this.summaryReadbacks[i % 2], bytes);
      if (i + 1 < steps) submitStep(i + 1);
      yield await reading;
    }
  }

  /** Writes the pass's tokens and position, and encodes the blocks over them. */
  private encodeTokens(tokens: ArrayLike<number>, pos0: number): { rows: number; encoder: GPUCommandEncoder } {
    const tokenIds = checkedTokenIds(this.config, tokens, pos0);
    const rows = tokenIds.length;
    this.device.queue.writeBuffer(this.tokens, 0, tokenIds);
    this.device.queue.writeBuffer(this.step, 0, new Uint32Array([rows, pos0]));
    const encoder = this.device.createCommandEncoder();
    this.encodeBlocks(encoder, rows, pos0);
    return { rows, encoder };
  }

  /** Embeddings and every transformer block: leaves the residual stream of all rows in `residual`. */
  private encodeBlocks(encoder: GPUCommandEncoder, rows: number, pos0: number): void {
    const k = this.kernels;
    const pass = encoder.beginComputePass({ label: 'blocks' });
    k.embedding.dispatch(pass, this.embedding, rows);
    for (const layer of this.layers) {
      // x = x + attn(ln_1(x))
      k.layerNorm.dispatch(pass, layer.attnNorm, rows);
      k.qkv.dispatch(pass, layer.qkv, rows);
      k.kvCacheWrite.dispatch(pass, layer.kvCacheWrite, rows);
      k.attention.scores.dispatch(pass, layer.attentionScores, rows, pos0);
      k.attention.output.dispatch(pass, layer.attentionOutput, rows);
      k.attnProj.dispatch(pass, layer.attnProj, rows);
      // x = x + mlp(ln_2(x))
      k.layerNorm.dispatch(pass, layer.mlpNorm, rows);
      k.mlpUp.dispatch(pass, layer.mlpUp, rows);
      k.mlpDown.dispatch(pass, layer.mlpDown, rows);
    }
    pass.end();
  }

  /** logits = ln_f(x[first .. first+count]) · wteᵀ, and their argmax or their summary (scoring each
   *  row's token in `targets`), computed for `headRows` rows. */
  private encodeHead(encoder: GPUCommandEncoder, first: number, count: number, head: HeadBindGroups, headRows: number,
    summary: HeadSummary): void {
    const rowBytes = this.config.nEmbd * 4;
    encoder.copyBufferToBuffer(this.residual, first * rowBytes, this.headInput, 0, count * rowBytes);
    const pass = encoder.beginComputePass({ label: 'head' });
    this.kernels.layerNorm.dispatch(pass, head.finalNorm, headRows);
    this.kernels.lmHead.dispatch(pass, head.lmHead, headRows);
    if (summary === 'argmax') this.kernels.argmax.dispatch(pass, head.argmax, headRows);
    else this.kernels.topTokens.dispatch(pass, head.topTokens, headRows);
    pass.end();
  }

  private async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    await buffer.mapAsync(GPUMapMode.READ, 0, bytes);
    const copy = buffer.getMappedRange(0, bytes).slice(0);
    buffer.unmap();
    return copy;
  }

  private createBuffer(label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    const buffer = this.device.createBuffer({ label, size, usage });
    this.buffers.push(buffer);
    return buffer;
  }

  /** What the MLP's products multiply in on this device (f16 needs shader-f16 and f16 matrices). */
  get matrixArithmetic(): MatrixArithmetic {
    return this.kernels.matrixArithmetic;
  }

  /** Frees activations and caches (the weights belong to the caller). */
  destroy(): void {
    for (const buffer of this.buffers) buffer.destroy();
  }
}
