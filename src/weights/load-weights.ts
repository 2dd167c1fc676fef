// Streams a checkpoint (one file, or the shards of a sharded safetensors checkpoint) through
// the weights parser into a WeightSink, without ever holding a whole file in memory.
import type { Gpt2Config } from '../model/config.ts';
import type { MatrixDtype, WeightSink } from '../model/weight-layout.ts';
import { openPytorchCheckpoint, type ReadRange } from './pytorch/pytorch-checkpoint.ts';
import { WeightsFormatError, type PieceHandler, type WeightsParser } from './weights-parser.ts';

/** The checkpoint formats the parser reads. */
export type WeightsFormat = 'safetensors' | 'legacy-bin' | 'pytorch-bin';

/** A weights file to stream; a File or Blob (plus a name) fits. */
export interface WeightFile {
  name: string;
  size: number;
  stream(): ReadableStream<Uint8Array>;
  /** Bytes [start, end) on their own; a pytorch_model.bin in the zip format needs its directory, at the end, first. */
  slice?(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

export interface WeightsSource {
  format: WeightsFormat;
  /** config.json (`json`) or the legacy gpt2_config.txt (`text`). */
  config: { format: 'json' | 'text'; bytes: Uint8Array };
  /** One file, or for a sharded safetensors checkpoint every shard, in any order. */
  files: WeightFile[];
}

export interface LoadWeightsOptions {
  /** How to store the matrices, or how to choose once the config is known. */
  matrixDtype: MatrixDtype | ((config: Gpt2Config) => MatrixDtype);
  signal?: AbortSignal;
  /** Called with the config and the matrix dtype before any weight is read: throw to refuse a
   *  model this backend cannot run. */
  checkConfig?: (config: Gpt2Config, matrixDtype: MatrixDtype) => void;
  /** Called after every chunk; `totalBytes` is the size of all files together. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/**
 * Reads the config, calls `sink.allocate` with every slot, then streams each file, calling
 * `sink.write` for every piece. Throws WeightsFormatError (naming the file when there are several)
 * if anything is malformed or missing, and the signal's reason if it is aborted.
 */
export async function loadWeights(
  parser: WeightsParser,
  source: WeightsSource,
  sink: WeightSink,
  options: LoadWeightsOptions,
): Promise<Gpt2Config> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const config = source.config.format === 'json' ? parser.configFromJson(source.config.bytes) : parser.configFromText(source.config.bytes);
  const matrixDtype = typeof options.matrixDtype === 'function' ? options.matrixDtype(config) : options.matrixDtype;
  options.checkConfig?.(config, matrixDtype);
  if (source.files.length === 0) throw new WeightsFormatError('no weights file was given: choose the checkpoint file (or every shard of it)');
  if (source.format !== 'safetensors' && source.files.length > 1) {
    const name = source.format === 'legacy-bin' ? 'gpt2_weights.bin' : 'pytorch_model.bin';
    throw new WeightsFormatError(`${name} is a single file, but ${source.files.length} files were given: choose only the ${name}`);
  }
  sink.allocate(parser.beginModel(matrixDtype));

  const sharded = source.files.length > 1;
  const totalBytes = source.files.reduce((sum, file) => sum + file.size, 0);
  let bytesRead = 0;
  const onPiece: PieceHandler = (slotIndex, byteOffset, bytes) => sink.write(slotIndex, byteOffset, bytes);
  for (const file of source.files) {
    try {
      // What takes the file's bytes in order: the parser itself, or for pytorch_model.bin the
      // reader of its container, which hands the parser the tensors.
      let push = (chunk: Uint8Array) => parser.push(chunk, onPiece);
      let endContainer = () => {};
      if (source.format === 'safetensors') parser.beginSafetensorsFile(file.size, { shard: sharded });
      else if (source.format === 'legacy-bin') parser.beginLegacyBinFile(file.size);
      else {
        parser.beginTensorStream();
        const checkpoint = await openPytorchCheckpoint(readRange(file), file.size, file.name, {
          declare: (name, dtype, shape) => parser.declareTensor(name, dtype, shape),
          beginData: () => parser.beginTensorData(),
          write: (bytes) => parser.push(bytes, onPiece),
        });
        push = (chunk) => checkpoint.push(chunk);
        endContainer = () => checkpoint.end();
      }
      await streamFile(file, signal, (chunk) => {
        push(chunk);
        bytesRead += chunk.length;
        onProgress?.(bytesRead, totalBytes);
      });
      endContainer();
      parser.endFile();
    } catch (error) {
      // With several shards the user needs to know which one is bad.
      if (sharded && error instanceof WeightsFormatError) throw new WeightsFormatError(`${file.name}: ${error.message}`, { cause: error });
      throw error;
    }
  }
  parser.endModel();
  return config;
}

function readRange(file: WeightFile): ReadRange {
  return async (start, end) => {
    if (!file.slice) throw new Error(`${file.name} was given as a stream only, but a pytorch_model.bin is read from its end first: give it as a File or Blob`);
    const bytes = new Uint8Array(await file.slice(start, end).arrayBuffer());
    if (bytes.length !== end - start) {
      throw new WeightsFormatError(`${file.name} has fewer bytes than its size says (${file.size}): the file changed while loading, or its size was given wrong — load it again`);
    }
    return bytes;
  };
}

async function streamFile(file: WeightFile, signal: AbortSignal | undefined, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  const reader = file.stream().getReader();
  // Cancelling the stream ends a read that is still waiting for data.
  const cancel = () => void reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      signal?.throwIfAborted();
      if (done) return;
      onChunk(value);
    }
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    signal?.removeEventListener('abort', cancel);
    reader.releaseLock();
  }
}

/**
 * The shard files named by a sharded checkpoint's model.safetensors.index.json
 * (`{"weight_map": {tensor: file}}`), each once, sorted.
 */
export function shardFileNames(indexJsonText: string): string[] {
  const what = 'model.safetensors.index.json';
  let index: unknown;
  try {
    index = JSON.parse(indexJsonText);
  } catch (error) {
    throw new WeightsFormatError(`${what} is not valid JSON (${(error as Error).message}): download it again`);
  }
  const weightMap = isObject(index) ? index.weight_map : undefined;
  if (!isObject(weightMap)) throw new WeightsFormatError(`${what} has no "weight_map" object: it is not a safetensors shard index`);
  const names = new Set<string>();
  for (const [tensor, file] of Object.entries(weightMap)) {
    if (typeof file !== 'string' || !/^[^/\\]+$/.test(file) || file === '.' || file === '..') {
      throw new WeightsFormatError(`${what} maps ${tensor} to ${JSON.stringify(file)}, which is not a plain file name`);
    }
    names.add(file);
  }
  if (names.size === 0) throw new WeightsFormatError(`${what} has an empty weight_map: it names no shard files`);
  return [...names].sort();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
