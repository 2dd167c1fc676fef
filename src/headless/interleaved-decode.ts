// Decoding held against the read bandwidth step by step, for the benchmark's fraction. On a
// shared machine the speed changes within seconds, so a decode and a read timed seconds apart
// (the engine's runs, paired-runs.ts) can each catch a different speed. Here the page loads the
// same model on its own device, through the same parser and forward pass as the engine, and
// takes turns: a read of the bandwidth, a decode step, a read, a decode step, ..., so that every
// step has a read just before and just after it (about 0.2-0.3 s each on SwiftShader).
import parserWasmUrl from '../generated/weights-parser.wasm?url';
import { Gpt2Gpu } from '../gpu/gpt2-gpu.ts';
import { GpuWeights } from '../gpu/gpu-weights.ts';
import type { WeightsDtype } from '../worker/engine-api.ts';
import { loadWeights } from '../weights/load-weights.ts';
import { resolveModelSource } from '../worker/model-source.ts';
import { WeightsParser } from '../weights/weights-parser.ts';
import { interleavedFractions, median } from './paired-runs.ts';
import type { ReadBandwidthProbe, ReadChoice } from './read-bandwidth.ts';

/** Each read is recorded often enough to last about this long, so that its submission's own
 *  cost (a few ms on SwiftShader) does not count, and on a GPU, where a read takes well under
 *  1 ms, the timing is more than the wait for the submission. */
const READ_MS = 250;

export interface InterleavedRequest {
  configUrl: string;
  weightsUrl: string;
  /** The matrices as the engine stored them. */
  weightsDtype: Exclude<WeightsDtype, 'int8' | 'q4'>;
  /** What one decode step reads (the engine's model's: the same file, stored the same way). */
  decodeWeightBytes: number;
  /** Each step decodes the token at position context - 1, attending over `context` positions. */
  context: number;
  steps: number;
  /** What the read bandwidth read fastest with, and at about what speed. */
  read: ReadChoice & { gbPerSecond: number };
}

export interface InterleavedDecode {
  context: number;
  /** Every decode step, in order. */
  stepMs: number[];
  /** The reads around them: readGbPerSecond[i] just before stepMs[i], [i + 1] just after. */
  readGbPerSecond: number[];
  /** Each step's weight bandwidth ÷ the mean of the reads around it. */
  fractions: number[];
  /** Their median. */
  fraction: number;
}

export async function measureInterleavedDecode(device: GPUDevice, probe: ReadBandwidthProbe,
  request: InterleavedRequest): Promise<InterleavedDecode> {
  const parser = await WeightsParser.create(await WebAssembly.compileStreaming(fetch(parserWasmUrl)));
  const source = await resolveModelSource({ kind: 'url', name: 'benchmark', configUrl: request.configUrl, weightsUrl: request.weightsUrl });
  const weights = new GpuWeights(device);
  let model: Gpt2Gpu | undefined;
  try {
    const config = await loadWeights(parser, source, weights, { matrixDtype: request.weightsDtype });
    model = new Gpt2Gpu(device, config, weights);

    // No prompt first: a step's work does not depend on what the cache holds, and a long prompt
    // would start compiling the long-prompt kernels in the background, on the cores being timed.
    const position = request.context - 1;
    const step = async () => {
      const started = performance.now();
      await model!.forward([THE], position, 'last-argmax');
      return performance.now() - started;
    };
    const repeats = Math.max(1, Math.round(READ_MS / ((probe.bytes / request.read.gbPerSecond) / 1e6)));
    const read = () => probe.gbPerSecondOnce(request.read, repeats);
    await step(); // compiles the decode pipelines, if the driver defers that
    await read();

    const stepMs: number[] = [];
    const readGbPerSecond = [await read()];
    for (let i = 0; i < request.steps; i++) {
      stepMs.push(await step());
      readGbPerSecond.push(await read());
    }
    const fractions = interleavedFractions(stepMs, readGbPerSecond, request.decodeWeightBytes);
    return { context: request.context, stepMs, readGbPerSecond, fractions, fraction: median(fractions) };
  } finally {
    model?.destroy();
    weights.destroy();
  }
}

/** " the", the token the benchmark's prompts repeat. */
const THE = 262;
