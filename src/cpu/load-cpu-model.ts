// Loads a checkpoint into the CPU backend: a fresh WASM memory, the weights streamed into it by
// the parser (int8 quantized on the way), then activations and the KV cache after them. Or, from a
// layout saved after such a load, the same weights read back as they were, with no parsing.
import type { Gpt2Config } from '../model/config.ts';
import type { WeightSlot } from '../model/weight-layout.ts';
import { loadWeights, type WeightsSource } from '../weights/load-weights.ts';
import type { WeightsParser } from '../weights/weights-parser.ts';
import { CpuMemory } from './cpu-memory.ts';
import { CpuWeights, type CpuWeightsDtype } from './cpu-weights.ts';
import { Gpt2Cpu, unsupportedCpuShapeReason } from './gpt2-cpu.ts';
import { SingleThread, type KernelSplitter } from './kernel-split.ts';

export interface CpuModelOptions {
  dtype: CpuWeightsDtype;
  /** The kernels' module: the threads build (shared memory) when `threads` is given. */
  kernels: WebAssembly.Module;
  /** Starts kernel threads on the model's (shared) memory; left out, everything runs on this thread. */
  threads?: (memory: CpuMemory) => Promise<KernelSplitter>;
  signal?: AbortSignal;
  /** Called with the config once it is known to suit the CPU kernels, before any weight is read. */
  checkConfig?: (config: Gpt2Config) => void;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

export interface LoadedCpuModel {
  model: Gpt2Cpu;
  weights: CpuWeights;
  memory: CpuMemory;
}

export async function loadCpuModel(parser: WeightsParser, source: WeightsSource, options: CpuModelOptions): Promise<LoadedCpuModel> {
  const memory = await CpuMemory.create(options.kernels, { shared: options.threads !== undefined });
  const weights = new CpuWeights(memory, options.dtype);
  const config: Gpt2Config = await loadWeights(parser, source, weights, {
    matrixDtype: weights.parserDtype,
    signal: options.signal,
    onProgress: options.onProgress,
    checkConfig: (config) => {
      const reason = unsupportedCpuShapeReason(config);
      if (reason) throw new Error(`this model cannot run on the CPU backend: ${reason}`);
      options.checkConfig?.(config);
    },
  });
  return withModel(memory, config, weights, options);
}

/** What a saved layout says about the weights it holds (its bytes are CpuWeights' region). */
export interface CpuLayoutDescription {
  config: Gpt2Config;
  dtype: CpuWeightsDtype;
  slots: WeightSlot[];
  /** The region's length. */
  bytes: number;
}

/**
 * The model from a saved layout: `layout`'s slots are placed as a parsing load placed them, then
 * `fill` writes the saved bytes in with `write(offset, bytes)`, in any order.
 */
export async function restoreCpuModel(
  layout: CpuLayoutDescription,
  fill: (write: (offset: number, bytes: Uint8Array) => void) => Promise<void>,
  options: Omit<CpuModelOptions, 'dtype' | 'onProgress'>,
): Promise<LoadedCpuModel> {
  const reason = unsupportedCpuShapeReason(layout.config);
  if (reason) throw new Error(`this model cannot run on the CPU backend: ${reason}`);
  options.checkConfig?.(layout.config);
  const memory = await CpuMemory.create(options.kernels, { shared: options.threads !== undefined });
  const weights = new CpuWeights(memory, layout.dtype);
  weights.allocate(layout.slots, true);
  if (weights.regionLength !== layout.bytes) {
    throw new Error(`the saved layout holds ${layout.bytes} bytes of weights, but its tensors take ${weights.regionLength}`);
  }
  await fill((offset, bytes) => weights.regionBytes(offset, bytes.length).set(bytes));
  options.signal?.throwIfAborted();
  return withModel(memory, layout.config, weights, options);
}

async function withModel(memory: CpuMemory, config: Gpt2Config, weights: CpuWeights, options: Pick<CpuModelOptions, 'threads'>): Promise<LoadedCpuModel> {
  const splitter = options.threads ? await options.threads(memory) : new SingleThread(memory.kernels);
  try {
    return { model: new Gpt2Cpu(memory, config, weights, splitter), weights, memory };
  } catch (error) {
    splitter.close();
    throw error;
  }
}
