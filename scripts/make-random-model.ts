// npx tsx scripts/make-random-model.ts --out <dir> [--shape 124M|355M|774M|1.5B|tiny]
//     [--vocab N] [--ctx N] [--embd N] [--layers N] [--heads N] [--dtype F32|F16]
//     [--format safetensors|legacy-bin] [--seed N]
// Writes a GPT-2 of the given shape with seeded random weights (model.safetensors + config.json,
// or gpt2_weights.bin + gpt2_config.txt), so tests and benchmarks can use full-size models without
// downloading any. The flags after --shape override its numbers. Files are streamed one tensor at
// a time (the 1.5B file is 6.2 GB), and a model already made with the same parameters is kept.
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Gpt2Config } from '../src/model/config.ts';
import {
  type TensorShape,
  encodeTensorData,
  gpt2TensorShapes,
  hfConfigJson,
  legacyBinCount,
  legacyBinRecord,
  legacyConfigText,
  randomTensorData,
  safetensorsHeader,
} from './model-files.ts';

export const MODEL_SHAPES: Record<string, Gpt2Config> = {
  '124M': { vocabSize: 50257, nCtx: 1024, nEmbd: 768, nLayer: 12, nHead: 12 },
  '355M': { vocabSize: 50257, nCtx: 1024, nEmbd: 1024, nLayer: 24, nHead: 16 },
  '774M': { vocabSize: 50257, nCtx: 1024, nEmbd: 1280, nLayer: 36, nHead: 20 },
  '1.5B': { vocabSize: 50257, nCtx: 1024, nEmbd: 1600, nLayer: 48, nHead: 25 },
  // The shape of the tiny-gpt2 fixture: the real vocabulary, so the real tokenizer works with it.
  tiny: { vocabSize: 50257, nCtx: 128, nEmbd: 64, nLayer: 2, nHead: 4 },
};

export type RandomModelFormat = 'safetensors' | 'legacy-bin';

export interface RandomModelOptions {
  dir: string;
  config: Gpt2Config;
  seed?: number; // default 1
  dtype?: 'F32' | 'F16'; // default F32; the legacy format is F32 only
  format?: RandomModelFormat; // default safetensors
  onProgress?: (tensorsWritten: number, tensorCount: number) => void;
}

export interface RandomModel {
  dir: string;
  files: { weights: string; config: string }; // full paths
}

// Part of every stamp: bump it when randomTensorData or a file layout changes, so models made by
// an older version are made again rather than silently reused.
const GENERATOR_VERSION = 1;

const FILE_NAMES: Record<RandomModelFormat, { weights: string; config: string }> = {
  safetensors: { weights: 'model.safetensors', config: 'config.json' },
  'legacy-bin': { weights: 'gpt2_weights.bin', config: 'gpt2_config.txt' },
};

function checkConfig(config: Gpt2Config): void {
  for (const [key, value] of Object.entries(config)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${key} must be a positive whole number, got ${value}`);
  }
  if (config.nEmbd % config.nHead !== 0) throw new Error(`nEmbd ${config.nEmbd} is not a multiple of nHead ${config.nHead}`);
}

/** The file's bytes before the first tensor, and each tensor's bytes, in the chosen format. */
function fileLayout(format: RandomModelFormat, shapes: TensorShape[], seed: number, dtype: 'F32' | 'F16') {
  const data = ({ name, shape }: TensorShape) => randomTensorData(name, shape, seed);
  if (format === 'legacy-bin') {
    return { header: legacyBinCount(shapes.length), tensorBytes: (entry: TensorShape) => legacyBinRecord({ ...entry, data: data(entry) }) };
  }
  return {
    // HF's own files carry this metadata; parsers must accept (and skip) it.
    header: safetensorsHeader(shapes, dtype, { format: 'pt' }).headerBytes,
    tensorBytes: (entry: TensorShape) => encodeTensorData(data(entry), dtype),
  };
}

async function readTextOrNothing(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

async function sizeOrNothing(path: string): Promise<number | undefined> {
  return stat(path).then((stats) => stats.size, () => undefined);
}

/** Makes the model in `dir` unless the same one is already there; resolves to its files. */
export async function ensureRandomModel(options: RandomModelOptions): Promise<RandomModel> {
  const { config, seed = 1, dtype = 'F32', format = 'safetensors', onProgress } = options;
  checkConfig(config);
  if (format === 'legacy-bin' && dtype !== 'F32') throw new Error('the legacy-bin format holds F32 only; drop --dtype or use safetensors');
  const dir = resolve(options.dir);
  const files = { weights: join(dir, FILE_NAMES[format].weights), config: join(dir, FILE_NAMES[format].config) };
  const stampPath = `${files.weights}.done`;
  const parameters = { version: GENERATOR_VERSION, format, dtype, seed, config };

  // The stamp is written last and records the size, so a run cut short or a file changed since is redone.
  const stamp = await readTextOrNothing(stampPath);
  if (stamp) {
    const { bytes, ...stamped } = JSON.parse(stamp);
    const unchanged = JSON.stringify(stamped) === JSON.stringify(parameters) && (await sizeOrNothing(files.weights)) === bytes;
    if (unchanged && (await readTextOrNothing(files.config)) !== undefined) return { dir, files };
  }

  await mkdir(dir, { recursive: true });
  await rm(stampPath, { force: true });
  await writeFile(files.config, format === 'safetensors' ? hfConfigJson(config) : legacyConfigText(config));
  const shapes = gpt2TensorShapes(config);
  const { header, tensorBytes } = fileLayout(format, shapes, seed, dtype);
  async function* fileChunks() {
    yield header;
    for (const [index, entry] of shapes.entries()) {
      yield tensorBytes(entry);
      onProgress?.(index + 1, shapes.length);
    }
  }
  const partialPath = `${files.weights}.partial`;
  // highWaterMark 1: make each tensor only when the file is ready for it, so one tensor is in memory at a time.
  await pipeline(Readable.from(fileChunks(), { highWaterMark: 1 }), createWriteStream(partialPath));
  await rename(partialPath, files.weights);
  await writeFile(stampPath, JSON.stringify({ ...parameters, bytes: await sizeOrNothing(files.weights) }) + '\n');
  return { dir, files };
}

function wholeNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${flag} must be a whole number, got "${text}"`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      shape: { type: 'string', default: 'tiny' },
      vocab: { type: 'string' },
      ctx: { type: 'string' },
      embd: { type: 'string' },
      layers: { type: 'string' },
      heads: { type: 'string' },
      out: { type: 'string' },
      dtype: { type: 'string', default: 'F32' },
      format: { type: 'string', default: 'safetensors' },
      seed: { type: 'string', default: '1' },
    },
  });
  const base = MODEL_SHAPES[values.shape];
  if (!base) throw new Error(`--shape must be one of ${Object.keys(MODEL_SHAPES).join(', ')}, got "${values.shape}"`);
  if (!values.out) throw new Error('--out <dir> is required');
  if (values.dtype !== 'F32' && values.dtype !== 'F16') throw new Error(`--dtype must be F32 or F16, got "${values.dtype}"`);
  if (values.format !== 'safetensors' && values.format !== 'legacy-bin') {
    throw new Error(`--format must be safetensors or legacy-bin, got "${values.format}"`);
  }
  const config: Gpt2Config = {
    vocabSize: wholeNumber('vocab', values.vocab) ?? base.vocabSize,
    nCtx: wholeNumber('ctx', values.ctx) ?? base.nCtx,
    nEmbd: wholeNumber('embd', values.embd) ?? base.nEmbd,
    nLayer: wholeNumber('layers', values.layers) ?? base.nLayer,
    nHead: wholeNumber('heads', values.heads) ?? base.nHead,
  };
  const started = performance.now();
  const model = await ensureRandomModel({
    dir: values.out,
    config,
    seed: wholeNumber('seed', values.seed),
    dtype: values.dtype,
    format: values.format,
    onProgress: (written, count) => process.stderr.write(`\rwrote ${written}/${count} tensors`),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`\n${model.files.weights} (${seconds} s)\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: Error) => {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = 1;
  });
}
