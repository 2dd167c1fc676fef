// Where a forward pass's time goes: each of the model's kernels timed on its own, at the model's
// real shape, with the dispatch sizes the forward pass uses, for a decode step (one row) and for
// prompt processing (many rows). Buffers hold zeros: no kernel's speed depends on the values.
import type { Gpt2Config } from '../model/config.ts';
import type { MatrixDtype } from '../model/weight-layout.ts';
import { Gpt2Kernels, STEP_UNIFORM_SIZE, attentionScoresLength, type Kernel, type LinearKernel } from '../gpu/kernels.ts';
import { msPerRepeat } from './gpu-timing.ts';

export interface KernelTiming {
  pass: string; // "decode at 128", "attention at 512" (a decode step's attention only), "prompt of 128"
  kernel: string;
  rows: number;
  /** Dispatches of this kernel in one forward pass. */
  calls: number;
  msPerCall: number;
  /** Weight bytes one call reads (matrix kernels), to compare with the read bandwidth. */
  weightBytes: number;
  /** Multiply-adds × 2 one call does (matrix kernels), to compare prompt processing with decoding. */
  flops: number;
}

export interface ProfileRequest {
  promptTokens: number;
  decodeContexts: number[];
}

export async function profileKernels(device: GPUDevice, config: Gpt2Config, matrixDtype: MatrixDtype,
  request: ProfileRequest): Promise<KernelTiming[]> {
  const { nCtx, nEmbd: C, nLayer: L, vocabSize } = config;
  const buffers: GPUBuffer[] = [];
  const storage = (bytes: number) => {
    const buffer = device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: GPUBufferUsage.STORAGE });
    buffers.push(buffer);
    return buffer;
  };
  const step = (rows: number, pos0: number) => {
    const buffer = device.createBuffer({ size: STEP_UNIFORM_SIZE, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buffer, 0, new Uint32Array([rows, pos0, 0, 0]));
    buffers.push(buffer);
    return buffer;
  };
  const matrixBytes = (rows: number, cols: number) => rows * cols * (matrixDtype === 'f16' ? 2 : 4);
  const floats = (count: number) => storage(count * 4);

  try {
    const kernels = new Gpt2Kernels(device, config, matrixDtype);
    await kernels.ready();
    const maxRows = request.promptTokens;
    const activations = {
      tokens: floats(maxRows),
      residual: floats(maxRows * C),
      normed: floats(maxRows * C),
      qkv: floats(maxRows * 3 * C),
      attended: floats(maxRows * C),
      hidden: floats(maxRows * 4 * C),
      kCache: floats(nCtx * C),
      vCache: floats(nCtx * C),
      scores: floats(attentionScoresLength(config)),
      logits: floats(vocabSize),
      argmax: floats(1),
    };
    const a = activations;
    const weights = {
      wte: storage(matrixBytes(vocabSize, C)),
      wpe: storage(matrixBytes(nCtx, C)),
      normWeight: floats(C),
      normBias: floats(C),
      qkv: storage(matrixBytes(3 * C, C)),
      qkvBias: floats(3 * C),
      proj: storage(matrixBytes(C, C)),
      projBias: floats(C),
      up: storage(matrixBytes(4 * C, C)),
      upBias: floats(4 * C),
      down: storage(matrixBytes(C, 4 * C)),
      downBias: floats(C),
    };
    const w = weights;

    type Entry = Omit<KernelTiming, 'pass' | 'msPerCall'> & { record: (pass: GPUComputePassEncoder) => void };
    const plain = (name: string, kernel: Kernel, calls: number, rows: number, stepBuffer: GPUBuffer, bindings: GPUBuffer[], pos0 = 0): Entry => {
      const bindGroup = kernel.bind(device, [stepBuffer, ...bindings]);
      return { kernel: name, calls, rows, weightBytes: 0, flops: 0, record: (pass) => kernel.dispatch(pass, bindGroup, rows, pos0) };
    };
    const linear = (name: string, kernel: LinearKernel, rows: number, stepBuffer: GPUBuffer, input: GPUBuffer,
      weight: GPUBuffer, bias: GPUBuffer, out: GPUBuffer, calls = L): Entry => {
      const bindGroup = kernel.bind(device, stepBuffer, input, weight, bias, out);
      const { inFeatures, outFeatures } = kernel.shape;
      return {
        kernel: name, calls, rows, weightBytes: matrixBytes(outFeatures, inFeatures), flops: 2 * rows * inFeatures * outFeatures,
        record: (pass) => kernel.dispatch(pass, bindGroup, rows),
      };
    };
    const k = kernels;
    /** Every kernel of a forward pass over `rows` rows from `pos0`, in the order the pass runs them. */
    const forwardPass = (rows: number, pos0: number): Entry[] => {
      const s = step(rows, pos0);
      const lastRow = step(1, pos0 + rows - 1);
      return [
        plain('embedding', k.embedding, 1, rows, s, [a.tokens, w.wte, w.wpe, a.residual]),
        plain('layernorm', k.layerNorm, 2 * L, rows, s, [a.residual, w.normWeight, w.normBias, a.normed]),
        linear('qkv', k.qkv, rows, s, a.normed, w.qkv, w.qkvBias, a.qkv),
        plain('kv-cache-write', k.kvCacheWrite, L, rows, s, [a.qkv, a.kCache, a.vCache]),
        plain('attn scores', k.attention.scores, L, rows, s, [a.qkv, a.kCache, a.scores], pos0),
        plain('attn output', k.attention.output, L, rows, s, [a.scores, a.vCache, a.attended]),
        linear('attn-proj', k.attnProj, rows, s, a.attended, w.proj, w.projBias, a.residual),
        linear('mlp-up', k.mlpUp, rows, s, a.normed, w.up, w.upBias, a.hidden),
        linear('mlp-down', k.mlpDown, rows, s, a.hidden, w.down, w.downBias, a.residual),
        plain('final layernorm', k.layerNorm, 1, 1, lastRow, [a.residual, w.normWeight, w.normBias, a.normed]),
        linear('lm-head', k.lmHead, 1, lastRow, a.normed, w.wte, w.wte, a.logits, 1),
        plain('argmax', k.argmax, 1, 1, lastRow, [a.logits, a.argmax]),
      ];
    };

    // Only attention depends on the context, so only its kernels are timed again at longer ones.
    const [firstContext, ...longerContexts] = request.decodeContexts;
    const passes: [string, Entry[]][] = [
      [`decode at ${firstContext}`, forwardPass(1, firstContext - 1)],
      ...longerContexts.map((context): [string, Entry[]] =>
        [`attention at ${context}`, forwardPass(1, context - 1).filter((entry) => entry.kernel.startsWith('attn '))]),
      [`prompt of ${request.promptTokens}`, forwardPass(request.promptTokens, 0)],
    ];
    const timings: KernelTiming[] = [];
    for (const [pass, entries] of passes) {
      for (const { record, ...entry } of entries) {
        timings.push({ pass, ...entry, msPerCall: await msPerRepeat(device, record, 200) });
      }
    }
    return timings;
  } finally {
    for (const buffer of buffers) buffer.destroy();
  }
}
