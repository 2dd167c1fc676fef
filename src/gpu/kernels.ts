// Compiles GPT-2's WGSL kernels for one model shape. Sizes are WGSL override constants, so each
// pipeline is specialised to its shape; the per-pass row count and position come from a small
// uniform (`Step`) so bind groups can be made once and reused for every token.
import embeddingSource from './kernels/embedding.wgsl?raw';
import layerNormSource from './kernels/layernorm.wgsl?raw';
import linearCommonSource from './kernels/linear-common.wgsl?raw';
import linearTiledSource from './kernels/linear-tiled.wgsl?raw';
import linearMatvecSource from './kernels/linear-matvec.wgsl?raw';
import kvCacheWriteSource from './kernels/kv-cache-write.wgsl?raw';
import attentionSource from './kernels/attention.wgsl?raw';
import argmaxSource from './kernels/argmax.wgsl?raw';
import type { Gpt2Config } from '../model/config.ts';

/** Byte size of the `Step` uniform every kernel reads: rows, pos0 (u32 each), padded to 16. */
export const STEP_UNIFORM_SIZE = 16;

const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/** Up to this many rows the matrix-vector kernel (one weight row per thread, re-read from cache
 *  for each input row) beats the tiled kernel, whose barriers cost a software adapter dearly:
 *  measured on SwiftShader, the 16-row LM head took ~1.8 s tiled. */
const MATVEC_MAX_ROWS = 16;

/** Spreads `count` workgroups over x and y; kernels rebuild the flat index as x + y * groups.x. */
export function workgroupGrid(count: number): [number, number] {
  const x = Math.min(count, MAX_WORKGROUPS_PER_DIMENSION);
  return [x, Math.ceil(count / x)];
}

type Constants = Record<string, number>;

function computePipeline(device: GPUDevice, label: string, code: string, constants: Constants,
  layout: GPUPipelineLayout | 'auto' = 'auto'): GPUComputePipeline {
  const module = device.createShaderModule({ label, code });
  return device.createComputePipeline({ label, layout, compute: { module, entryPoint: 'main', constants } });
}

/** A kernel whose bindings are buffers in binding order. */
export class Kernel {
  constructor(readonly pipeline: GPUComputePipeline) {}

  bind(device: GPUDevice, buffers: GPUBuffer[]): GPUBindGroup {
    return device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup, x: number, y = 1): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y);
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

/** y = x·Wᵀ + b with a fused epilogue: a tiled kernel for many rows, matrix-vector for a few.
 *  Both share one bind group layout, so one bind group serves prompt processing and decoding. */
export class LinearKernel {
  private readonly layout: GPUBindGroupLayout;
  private readonly tiled: GPUComputePipeline;
  private readonly matvec: GPUComputePipeline;

  constructor(device: GPUDevice, label: string, readonly shape: LinearShape) {
    if (shape.inFeatures % 4 !== 0) throw new RangeError(`${label}: in features (${shape.inFeatures}) must be a multiple of 4`);
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
    const constants = {
      K: shape.inFeatures,
      N: shape.outFeatures,
      EPILOGUE: shape.epilogue,
      HAS_BIAS: shape.hasBias ? 1 : 0,
    };
    this.tiled = computePipeline(device, `${label} (tiled)`, linearCommonSource + linearTiledSource, constants, pipelineLayout);
    this.matvec = computePipeline(device, `${label} (matvec)`, linearCommonSource + linearMatvecSource, constants, pipelineLayout);
  }

  /** `bias` is bound but unread when the shape has no bias (the tied LM head). */
  bind(device: GPUDevice, step: GPUBuffer, input: GPUBuffer, weight: GPUBuffer, bias: GPUBuffer, out: GPUBuffer): GPUBindGroup {
    return device.createBindGroup({
      layout: this.layout,
      entries: [step, input, weight, bias, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup, rows: number): void {
    pass.setBindGroup(0, bindGroup);
    if (rows <= MATVEC_MAX_ROWS) {
      pass.setPipeline(this.matvec);
      pass.dispatchWorkgroups(...workgroupGrid(Math.ceil(this.shape.outFeatures / 64)));
    } else {
      pass.setPipeline(this.tiled);
      pass.dispatchWorkgroups(Math.ceil(this.shape.outFeatures / 64), Math.ceil(rows / 64));
    }
  }
}

/** Why the kernels cannot run a model of this shape, or null if they can. */
export function unsupportedShapeReason(config: Gpt2Config): string | null {
  // The matrix-vector kernels read rows as vec4<f32>; every GPT-2 size has n_embd a multiple of 64.
  if (config.nEmbd % 4 !== 0) return `n_embd is ${config.nEmbd}; the WebGPU kernels need a multiple of 4`;
  return null;
}

/** Every pipeline one GPT-2 shape needs. */
export class Gpt2Kernels {
  readonly embedding: Kernel;
  readonly layerNorm: Kernel;
  readonly qkv: LinearKernel;
  readonly kvCacheWrite: Kernel;
  readonly attention: Kernel;
  readonly attnProj: LinearKernel;
  readonly mlpUp: LinearKernel;
  readonly mlpDown: LinearKernel;
  readonly lmHead: LinearKernel;
  readonly argmax: Kernel;

  constructor(device: GPUDevice, config: Gpt2Config) {
    const C = config.nEmbd;
    const kernel = (label: string, code: string, constants: Constants) =>
      new Kernel(computePipeline(device, label, code, constants));
    this.embedding = kernel('embedding', embeddingSource, { C });
    this.layerNorm = kernel('layernorm', layerNormSource, { C });
    this.qkv = new LinearKernel(device, 'qkv', { inFeatures: C, outFeatures: 3 * C, epilogue: Epilogue.none, hasBias: true });
    this.kvCacheWrite = kernel('kv-cache-write', kvCacheWriteSource, { C });
    this.attention = kernel('attention', attentionSource, { C, H: config.nHead, N_CTX: config.nCtx });
    this.attnProj = new LinearKernel(device, 'attn-proj', { inFeatures: C, outFeatures: C, epilogue: Epilogue.residualAdd, hasBias: true });
    this.mlpUp = new LinearKernel(device, 'mlp-up', { inFeatures: C, outFeatures: 4 * C, epilogue: Epilogue.gelu, hasBias: true });
    this.mlpDown = new LinearKernel(device, 'mlp-down', { inFeatures: 4 * C, outFeatures: C, epilogue: Epilogue.residualAdd, hasBias: true });
    this.lmHead = new LinearKernel(device, 'lm-head', { inFeatures: C, outFeatures: config.vocabSize, epilogue: Epilogue.none, hasBias: false });
    this.argmax = kernel('argmax', argmaxSource, { VOCAB: config.vocabSize });
  }
}
