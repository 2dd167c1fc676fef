// Compiles GPT-2's WGSL kernels for one model shape, matrix dtype and device. Sizes are WGSL
// override constants, so each pipeline is specialised to its shape; the per-pass row count and
// position come from a small uniform (`Step`) so bind groups can be made once and reused for
// every token. Kernels that read weight matrices are written once against `MatrixWord` and its
// helpers, and the f32 or packed-f16 definition of those (matrix-*.wgsl) is added to their source:
// for f16 matrices on a device with shader-f16, one that multiplies in f16 (matrix-f16-arithmetic).
// Where one design cannot suit both, a kernel comes in a variant for GPUs and one for software
// adapters, which run invocations as the SIMD lanes of a CPU (see KernelTuning).
import matrixF32Source from './kernels/matrix-f32.wgsl?raw';
import matrixF16Source from './kernels/matrix-f16.wgsl?raw';
import matrixF16ArithmeticSource from './kernels/matrix-f16-arithmetic.wgsl?raw';
import embeddingSource from './kernels/embedding.wgsl?raw';
import layerNormSource from './kernels/layernorm.wgsl?raw';
import layerNormSubgroupsSource from './kernels/layernorm-subgroups.wgsl?raw';
import linearCommonSource from './kernels/linear-common.wgsl?raw';
import linearTiledSource from './kernels/linear-tiled.wgsl?raw';
import linearTiledRegistersSource from './kernels/linear-tiled-registers.wgsl?raw';
import linearMatvecSource from './kernels/linear-matvec.wgsl?raw';
import linearMatvecSubgroupsSource from './kernels/linear-matvec-subgroups.wgsl?raw';
import linearMatvecInputSource from './kernels/linear-matvec-input.wgsl?raw';
import linearMatvecInputBroadcastSource from './kernels/linear-matvec-input-broadcast.wgsl?raw';
import kvCacheWriteSource from './kernels/kv-cache-write.wgsl?raw';
import attentionScoresSource from './kernels/attention-scores.wgsl?raw';
import attentionOutputSource from './kernels/attention-output.wgsl?raw';
import argmaxSource from './kernels/argmax.wgsl?raw';
import topTokensSource from './kernels/top-tokens.wgsl?raw';
import readBandwidthSource from './kernels/read-bandwidth.wgsl?raw';
import type { Gpt2Config } from '../model/config.ts';
import type { MatrixDtype } from '../model/weight-layout.ts';
import { TOP_TOKENS, type TopTokens } from '../model/gpt2-model.ts';

/** Byte size of the `Step` uniform every kernel reads: rows, pos0 (u32 each), padded to 16. */
export const STEP_UNIFORM_SIZE = 16;

const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/** Which kernel variants suit a device. */
export interface KernelTuning {
  /** The device has subgroup operations (the 'subgroups' feature was granted). */
  subgroups: boolean;
  /** The smallest subgroup the device may use (adapter info; 4 on SwiftShader, 32 on NVIDIA). */
  subgroupMinSize: number;
  /**
   * A software adapter (SwiftShader): invocations run as the SIMD lanes of CPU threads, a barrier
   * switches between all of a workgroup's invocations, and workgroup memory is ordinary memory.
   * Kernels for it avoid barriers and workgroup memory and give each invocation more work.
   */
  softwareAdapter: boolean;
  /** The device has the 'shader-f16' feature: products with f16 matrices are taken in f16. */
  shaderF16: boolean;
}

/** What the device says about itself; tests pass their own tuning to try every variant. */
export function deviceTuning(device: GPUDevice): KernelTuning {
  // Browsers that predate these fields: assume a GPU, with GPU-sized subgroups (correct anywhere).
  const info = device.adapterInfo as Partial<GPUAdapterInfo> | undefined;
  return {
    subgroups: device.features.has('subgroups'),
    subgroupMinSize: info?.subgroupMinSize ?? 32,
    softwareAdapter: info?.isFallbackAdapter ?? false,
    shaderF16: device.features.has('shader-f16'),
  };
}

/** Spreads `count` workgroups over x and y; kernels rebuild the flat index as x + y * groups.x. */
export function workgroupGrid(count: number): [number, number] {
  const x = Math.min(count, MAX_WORKGROUPS_PER_DIMENSION);
  return [x, Math.ceil(count / x)];
}

type Constants = Record<string, number>;

const matrixSource: Record<MatrixDtype, string> = { f32: matrixF32Source, f16: matrixF16Source };

/** What the matrix products of `matrixDtype` matrices multiply in on a device (sums are f32); for a
 *  whole model, what its MLP multiplies in (Gpt2Kernels). */
export type MatrixArithmetic = 'f32' | 'f16';
export const matrixArithmetic = (matrixDtype: MatrixDtype, tuning: KernelTuning): MatrixArithmetic =>
  matrixDtype === 'f16' && tuning.shaderF16 ? 'f16' : 'f32';

/** The matrix helpers for kernels that multiply by a matrix (see the file comment). */
const multiplyingMatrixSource = (matrixDtype: MatrixDtype, tuning: KernelTuning) =>
  matrixArithmetic(matrixDtype, tuning) === 'f16' ? matrixF16ArithmeticSource : matrixSource[matrixDtype];

/** WGSL sources joined into one module, with their directives (enable, requires, diagnostic)
 *  moved to the top, where WGSL wants them before any declaration. */
export function wgslModule(...sources: string[]): string {
  const directive = /^(?:enable|requires|diagnostic)\b[^;]*;[ \t]*$/gm;
  const directives = new Set(sources.flatMap((source) => source.match(directive) ?? []));
  return [...directives, ...sources.map((source) => source.replace(directive, ''))].join('\n');
}

function pipelineDescriptor(device: GPUDevice, label: string, code: string, constants: Constants,
  layout: GPUPipelineLayout | 'auto' = 'auto', entryPoint = 'main'): GPUComputePipelineDescriptor {
  const module = device.createShaderModule({ label, code });
  return { label, layout, compute: { module, entryPoint, constants } };
}

function computePipeline(device: GPUDevice, label: string, code: string, constants: Constants,
  layout: GPUPipelineLayout | 'auto' = 'auto', entryPoint = 'main'): GPUComputePipeline {
  return device.createComputePipeline(pipelineDescriptor(device, label, code, constants, layout, entryPoint));
}

/** Workgroups (x, y) a kernel needs for a pass over `rows` rows (tokens) from position `pos0`. */
type Grid = (rows: number, pos0: number) => [number, number];

/** A pipeline for passes of at least `fromRows` rows, and the workgroups it needs for one. */
interface KernelVariant {
  pipeline: GPUComputePipeline;
  grid: Grid;
  fromRows: number;
}

/**
 * A kernel whose bindings are buffers in binding order, and which knows its own dispatch size:
 * one pipeline, or variants by the rows of a pass (one query at a time for decoding, blocks of
 * queries for prompts) that share one bind group layout, so that one bind group serves them all.
 */
export class Kernel {
  /** `variants` by fromRows, ascending, the first from 1; a pass over R rows runs the last with fromRows <= R. */
  constructor(private readonly variants: KernelVariant[],
    private readonly layout: GPUBindGroupLayout = variants[0].pipeline.getBindGroupLayout(0)) {}

  bind(device: GPUDevice, buffers: GPUBuffer[]): GPUBindGroup {
    return device.createBindGroup({
      layout: this.layout,
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup, rows: number, pos0 = 0): void {
    const variant = this.variants.findLast((candidate) => candidate.fromRows <= rows)!;
    pass.setPipeline(variant.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(...variant.grid(rows, pos0));
  }
}

export const Epilogue = { none: 0, gelu: 1, residualAdd: 2 } as const;
export type Epilogue = (typeof Epilogue)[keyof typeof Epilogue];

export interface LinearShape {
  inFeatures: number; // K
  outFeatures: number; // N
  epilogue: Epilogue;
  hasBias: boolean;
}

/** Outputs each thread of linear-matvec.wgsl computes. */
const MATVEC_OUTPUTS_PER_THREAD = 8;

/** The fewest subgroups a 64-invocation workgroup holds: kernels that hand each subgroup a block
 *  of work (a row, 4 outputs) give a workgroup this many blocks, which its subgroups take in turn. */
const subgroupsPerWorkgroup = (tuning: KernelTuning) => Math.max(1, 64 / tuning.subgroupMinSize);

/**
 * y = x·Wᵀ + b with a fused epilogue: matrix-vector products for a few rows (decoding), a tiled
 * matrix multiply for many (prompt processing), each in the variant that suits the device. Both
 * share one bind group layout, so one bind group serves prompt processing and decoding.
 */
export class LinearKernel {
  private readonly layout: GPUBindGroupLayout;
  /** By `fromRows`, ascending: a pass over R rows runs the last one with fromRows <= R. */
  private readonly variants: KernelVariant[];
  /** A variant compiled only once a pass wants it (see below), then added to `variants`. */
  private readonly deferred?: { fromRows: number; compile: () => Promise<void>; compiled?: Promise<void> };

  constructor(device: GPUDevice, label: string, readonly shape: LinearShape, matrixDtype: MatrixDtype,
    tuning: KernelTuning = deviceTuning(device)) {
    const { inFeatures: K, outFeatures: N } = shape;
    if (K % 8 !== 0) throw new RangeError(`${label}: in features (${K}) must be a multiple of 8`);
    const storage = (type: GPUBufferBindingType) => ({ visibility: GPUShaderStage.COMPUTE, buffer: { type } });
    this.layout = device.createBindGroupLayout({
      label,
      entries: [
        { binding: 0, ...storage('uniform') },
        { binding: 1, ...storage('read-only-storage') },
        { binding: 2, ...storage('read-only-storage') },
        { binding: 3, ...storage('read-only-storage') },
        { binding: 4, ...storage('storage') },
      ],
    });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.layout] });
    const constants = { K, N, EPILOGUE: shape.epilogue, HAS_BIAS: shape.hasBias ? 1 : 0 };
    // The weight array's length, as a const: see linear-common.wgsl.
    const weightLength = `const WEIGHT_ELEMENTS = ${N * K}u;`;
    const descriptor = (name: string, source: string, extra: Constants = {}) => pipelineDescriptor(device,
      `${label} (${name}, ${matrixDtype})`,
      wgslModule(source, linearCommonSource, weightLength, multiplyingMatrixSource(matrixDtype, tuning)),
      { ...constants, ...extra }, pipelineLayout);
    const pipeline = (name: string, source: string, extra: Constants = {}) => device.createComputePipeline(descriptor(name, source, extra));

    let matvec: Omit<KernelVariant, 'fromRows'>;
    if (tuning.subgroups && !tuning.softwareAdapter) {
      const blocks = subgroupsPerWorkgroup(tuning);
      matvec = { pipeline: pipeline('matvec, subgroups', linearMatvecSubgroupsSource, { BLOCKS_PER_WORKGROUP: blocks }),
        grid: () => workgroupGrid(Math.ceil(N / 4 / blocks)) };
    } else {
      const workgroupSize = tuning.softwareAdapter ? 16 : 64;
      // With subgroups (here, a software adapter's), a quad of threads shares the input's loads.
      const [name, inputSource] = tuning.subgroups ? ['matvec, input by quad broadcast', linearMatvecInputBroadcastSource]
        : ['matvec', linearMatvecInputSource];
      matvec = { pipeline: pipeline(name, `${linearMatvecSource}\n${inputSource}`, { WORKGROUP_SIZE: workgroupSize }),
        grid: () => workgroupGrid(Math.ceil(N / MATVEC_OUTPUTS_PER_THREAD / workgroupSize)) };
    }
    if (tuning.softwareAdapter && tuning.subgroups) {
      // The register-tiled kernel reads each weight once per band of rows, and wins from 2 rows on.
      // 8 bands of 4 rows read the weights a quarter as often as 2 bands; below 32 rows they would
      // compute rows past the end, costing at least as much as more blocks of 8. The 8-band
      // pipeline takes seconds per shape to compile on SwiftShader (1 s at 8 outputs per thread,
      // which compiled at load, even in the background, added 3-4 s to loading; 5 s at 16, on a
      // VM where 8 took 1.6-1.9 s), so it is compiled when the first long prompt asks for it, in
      // the background: until it is ready, long prompts use the 2-band one (8 outputs, 0.3-0.9 s).
      const tiled = (bands: number) => descriptor(`tiled in registers, ${4 * bands} rows`, linearTiledRegistersSource,
        { ROW_BANDS: bands, OUTPUTS: bands === 8 ? 16 : 8 });
      const grid = (bands: number) => (rows: number): [number, number] => [Math.ceil(N / 256), Math.ceil(rows / (4 * bands))];
      this.variants = [{ ...matvec, fromRows: 1 }, { pipeline: device.createComputePipeline(tiled(2)), grid: grid(2), fromRows: 2 }];
      this.deferred = {
        fromRows: 32,
        compile: async () => {
          this.variants.push({ pipeline: await device.createComputePipelineAsync(tiled(8)), grid: grid(8), fromRows: 32 });
        },
      };
    } else { // GPUs, and (slowly) a software adapter without subgroups
      // The workgroup-memory kernel wastes most of a 64-row tile on few rows.
      this.variants = [{ ...matvec, fromRows: 1 },
        { pipeline: pipeline('tiled', linearTiledSource), grid: (rows) => [Math.ceil(N / 64), Math.ceil(rows / 64)], fromRows: 17 }];
    }
  }

  /** Compiles any variant kept for later now; resolves once every variant is ready. */
  ready(): Promise<void> {
    if (!this.deferred) return Promise.resolve();
    this.deferred.compiled ??= this.deferred.compile();
    return this.deferred.compiled;
  }

  /** `bias` is bound but unread when the shape has no bias (the tied LM head). */
  bind(device: GPUDevice, step: GPUBuffer, input: GPUBuffer, weight: GPUBuffer, bias: GPUBuffer, out: GPUBuffer): GPUBindGroup {
    return device.createBindGroup({
      layout: this.layout,
      entries: [step, input, weight, bias, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup, rows: number): void {
    // If it cannot be compiled, such passes keep the variants there are.
    if (this.deferred && rows >= this.deferred.fromRows) this.ready().catch(() => {});
    const variant = this.variants.findLast((candidate) => candidate.fromRows <= rows)!;
    pass.setBindGroup(0, bindGroup);
    pass.setPipeline(variant.pipeline);
    pass.dispatchWorkgroups(...variant.grid(rows, 0));
  }
}

/** Why the kernels cannot run a model of this shape, or null if they can. */
export function unsupportedShapeReason(config: Gpt2Config): string | null {
  // Matrix rows are read 8 elements at a time (4 by the matrix-vector kernel for software
  // adapters), attention heads 16; every GPT-2 size has n_embd a multiple of 64 and heads of 64.
  if (config.nEmbd % 8 !== 0) return `n_embd is ${config.nEmbd}; the WebGPU kernels need a multiple of 8`;
  const headSize = config.nEmbd / config.nHead;
  if (headSize % 16 !== 0) return `the head size is ${headSize}; the WebGPU kernels need a multiple of 16`;
  return null;
}

function kernel(device: GPUDevice, label: string, code: string, constants: Constants, grid: Grid): Kernel {
  return new Kernel([{ pipeline: computePipeline(device, label, code, constants), grid, fromRows: 1 }]);
}

/** A kernel in variants by rows (see Kernel): entry points of one source, over bindings of these
 *  types in binding order. */
function kernelByRows(device: GPUDevice, label: string, code: string, bindings: GPUBufferBindingType[],
  variants: { entryPoint: string; constants: Constants; grid: Grid; fromRows: number }[]): Kernel {
  const layout = device.createBindGroupLayout({
    label,
    entries: bindings.map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } })),
  });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  return new Kernel(variants.map(({ entryPoint, constants, grid, fromRows }) => ({
    pipeline: computePipeline(device, `${label} (${entryPoint})`, code, constants, pipelineLayout, entryPoint), grid, fromRows,
  })), layout);
}

/** 64-thread workgroups, one thread per `perThread` of the rows × `width` outputs. */
const elementGrid = (width: number, perThread = 1): Grid => (rows) => workgroupGrid(Math.ceil((rows * width) / perThread / 64));
const workgroupPerRow: Grid = (rows) => [rows, 1];

// One factory per kernel, so a test compiles only the pipeline it checks.
export const embeddingKernel = (device: GPUDevice, C: number, matrixDtype: MatrixDtype) =>
  kernel(device, `embedding (${matrixDtype})`, matrixSource[matrixDtype] + embeddingSource, { C }, elementGrid(C, 8));
export function layerNormKernel(device: GPUDevice, C: number, tuning = deviceTuning(device)): Kernel {
  if (!tuning.subgroups) return kernel(device, 'layernorm', layerNormSource, { C }, workgroupPerRow);
  const rows = subgroupsPerWorkgroup(tuning);
  return kernel(device, 'layernorm (subgroups)', layerNormSubgroupsSource, { C, ROWS_PER_WORKGROUP: rows },
    (count) => workgroupGrid(Math.ceil(count / rows)));
}
export const kvCacheWriteKernel = (device: GPUDevice, C: number) => kernel(device, 'kv-cache-write', kvCacheWriteSource, { C }, elementGrid(C));

type AttentionShape = Pick<Gpt2Config, 'nEmbd' | 'nHead' | 'nCtx'>;
/** Causal attention over the KV cache in two steps, through a (rows, heads, nCtx) scores buffer:
 *  the scores, then their softmax and the weighted sum of the values. */
export interface AttentionKernels {
  scores: Kernel;
  output: Kernel;
}
/** Prompts of this many rows or more are run 4 queries per thread (the kernels' mainFourQueries). */
const ATTENTION_BLOCK_ROWS = 4;
export function attentionKernels(device: GPUDevice, { nEmbd: C, nHead: H, nCtx }: AttentionShape,
  tuning = deviceTuning(device)): AttentionKernels {
  const constants = { C, H, N_CTX: nCtx };
  const outputWorkgroupSize = tuning.softwareAdapter ? 8 : 64;
  const bindings: GPUBufferBindingType[] = ['uniform', 'read-only-storage', 'read-only-storage', 'storage'];
  const queryBlocks = (rows: number) => Math.ceil(rows / ATTENTION_BLOCK_ROWS);
  return {
    scores: kernelByRows(device, 'attention scores', attentionScoresSource, bindings, [
      { entryPoint: 'main', constants, fromRows: 1,
        grid: (rows, pos0) => [Math.ceil((pos0 + rows) / 4 / 64), rows * H] },
      { entryPoint: 'mainFourQueries', constants, fromRows: ATTENTION_BLOCK_ROWS,
        grid: (rows, pos0) => [Math.ceil((pos0 + rows) / 4 / 64), queryBlocks(rows) * H] },
    ]),
    output: kernelByRows(device, 'attention output', attentionOutputSource, bindings, [
      { entryPoint: 'main', constants: { ...constants, WORKGROUP_SIZE: outputWorkgroupSize }, fromRows: 1,
        grid: (rows) => workgroupGrid(Math.ceil((rows * C) / 16 / outputWorkgroupSize)) },
      { entryPoint: 'mainFourQueries', constants: { ...constants, WORKGROUP_SIZE: 64 }, fromRows: ATTENTION_BLOCK_ROWS,
        grid: (rows) => workgroupGrid(Math.ceil((queryBlocks(rows) * C) / 16 / 64)) },
    ]),
  };
}
/** Floats of the scores buffer the attention kernels need. */
export const attentionScoresLength = ({ nHead, nCtx }: AttentionShape) => nCtx * nHead * nCtx;

export const argmaxKernel = (device: GPUDevice, vocabSize: number) =>
  kernel(device, 'argmax', argmaxSource, { VOCAB: vocabSize }, workgroupPerRow);
/** top-tokens.wgsl: per row, the TOP_TOKENS best ids and their log-probabilities, and a target's
 *  log-probability. Bindings: step, logits, targets, summaries (TOP_TOKENS_BYTES per row), target
 *  log-probabilities. */
export function topTokensKernel(device: GPUDevice, vocabSize: number): Kernel {
  if (vocabSize < TOP_TOKENS) throw new RangeError(`the vocabulary (${vocabSize}) is smaller than the ${TOP_TOKENS} top tokens a pass summarises`);
  // A const, not an override: it sizes arrays in private memory.
  const code = wgslModule(`const TOP_TOKENS = ${TOP_TOKENS}u;`, topTokensSource);
  return kernel(device, 'top-tokens', code, { VOCAB: vocabSize }, workgroupPerRow);
}
/** Bytes of one row's summary in top-tokens.wgsl's output: TOP_TOKENS u32 ids, then as many f32s. */
export const TOP_TOKENS_BYTES = TOP_TOKENS * 2 * 4;
/** The summary at `byteOffset` of what top-tokens.wgsl wrote. */
export function topTokensAt(bytes: ArrayBuffer, byteOffset = 0): TopTokens {
  return {
    ids: new Uint32Array(bytes, byteOffset, TOP_TOKENS),
    logprobs: new Float32Array(bytes, byteOffset + TOP_TOKENS * 4, TOP_TOKENS),
  };
}
/** The orders read-bandwidth.wgsl can read its buffer in: a grid stride (GPUs), or a contiguous
 *  block per thread (CPUs, under a software adapter). */
export const READ_LAYOUTS = ['grid-stride', 'thread-blocks'] as const;
export type ReadLayout = (typeof READ_LAYOUTS)[number];
/** Not part of the model: the benchmark's measure of the device's read bandwidth. Its "rows" are
 *  the workgroups to spread the read over. */
export const readBandwidthKernel = (device: GPUDevice, layout: ReadLayout = 'grid-stride') =>
  kernel(device, `read-bandwidth (${layout})`, readBandwidthSource, { LAYOUT: READ_LAYOUTS.indexOf(layout) }, workgroupGrid);

/** Every pipeline one GPT-2 shape needs, for weight matrices stored as `matrixDtype`. */
export class Gpt2Kernels {
  readonly embedding: Kernel;
  readonly layerNorm: Kernel;
  readonly qkv: LinearKernel;
  readonly kvCacheWrite: Kernel;
  readonly attention: AttentionKernels;
  readonly attnProj: LinearKernel;
  readonly mlpUp: LinearKernel;
  readonly mlpDown: LinearKernel;
  readonly lmHead: LinearKernel;
  readonly argmax: Kernel;
  readonly topTokens: Kernel;
  /** What the MLP's products multiply in; the other matrices' always multiply in f32. */
  readonly matrixArithmetic: MatrixArithmetic;

  constructor(device: GPUDevice, config: Gpt2Config, readonly matrixDtype: MatrixDtype, tuning = deviceTuning(device)) {
    const C = config.nEmbd;
    this.matrixArithmetic = matrixArithmetic(matrixDtype, tuning);
    // With shader-f16 and f16 matrices, f16 arithmetic only where it is safe and pays: the MLP,
    // two thirds of a prompt's multiply-adds. Measured on the tiny test model against the float64
    // reference (logits |x| < 20; the engine's tolerance is 0.02), f16 products moved the logits by
    // up to 0.010 in the MLP, 0.015 with the attention projection too, 0.028 in the QKV projection
    // alone (the softmax amplifies errors in q and k), 0.035 in all four. The LM head (0.007) runs
    // on one row per pass, where reading its matrix is the cost. The others multiply in f32, from
    // the same f16 matrices: decoding reads as few bytes either way.
    const f32Arithmetic = { ...tuning, shaderF16: false };
    const linear = (label: string, shape: LinearShape, layerTuning = f32Arithmetic) =>
      new LinearKernel(device, label, shape, matrixDtype, layerTuning);
    this.embedding = embeddingKernel(device, C, matrixDtype);
    this.layerNorm = layerNormKernel(device, C, tuning);
    this.qkv = linear('qkv', { inFeatures: C, outFeatures: 3 * C, epilogue: Epilogue.none, hasBias: true });
    this.kvCacheWrite = kvCacheWriteKernel(device, C);
    this.attention = attentionKernels(device, config, tuning);
    this.attnProj = linear('attn-proj', { inFeatures: C, outFeatures: C, epilogue: Epilogue.residualAdd, hasBias: true });
    this.mlpUp = linear('mlp-up', { inFeatures: C, outFeatures: 4 * C, epilogue: Epilogue.gelu, hasBias: true }, tuning);
    this.mlpDown = linear('mlp-down', { inFeatures: 4 * C, outFeatures: C, epilogue: Epilogue.residualAdd, hasBias: true }, tuning);
    this.lmHead = linear('lm-head', { inFeatures: C, outFeatures: config.vocabSize, epilogue: Epilogue.none, hasBias: false });
    this.argmax = argmaxKernel(device, config.vocabSize);
    this.topTokens = topTokensKernel(device, config.vocabSize);
  }

  /** Compiles every pipeline kept for later now; resolves once all are ready. */
  async ready(): Promise<void> {
    await Promise.all([this.qkv, this.attnProj, this.mlpUp, this.mlpDown, this.lmHead].map((linear) => linear.ready()));
  }
}
