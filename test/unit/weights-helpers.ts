// Shared by the weights-*.test.ts files: a parser instance, an in-memory sink that tracks which
// bytes were written, in-memory weight files, and an independent TypeScript reading of the
// checkpoint formats (DataView, arithmetic f16 conversion) to check the parser's output against.
import { readFileSync } from 'node:fs';
import type { Gpt2Config } from '../../src/model/config.ts';
import type { MatrixDtype, WeightSink, WeightSlot } from '../../src/model/weight-layout.ts';
import { loadWeights, type WeightFile, type WeightsSource } from '../../src/weights/load-weights.ts';
import { WeightsParser } from '../../src/weights/weights-parser.ts';

export const FIXTURES = '../shared/fixtures/tiny-gpt2';
export const TINY_CONFIG: Gpt2Config = { vocabSize: 50257, nCtx: 128, nEmbd: 64, nLayer: 2, nHead: 4 };
// Odd sizes everywhere, so f16 slots need their pad half and transposes are not square.
export const ODD_CONFIG: Gpt2Config = { vocabSize: 37, nCtx: 7, nEmbd: 9, nLayer: 2, nHead: 3 };

let parserModule: WebAssembly.Module | undefined;

export function createParser(): Promise<WeightsParser> {
  parserModule ??= new WebAssembly.Module(readFileSync('src/generated/weights-parser.wasm'));
  return WeightsParser.create(parserModule);
}

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${FIXTURES}/${name}`));
}

/** pytorch_model.bin files written by torch.save: scripts/make-torch-fixtures.py. */
export const TORCH_FIXTURES = 'test/fixtures/torch';

export function torchFixture(name: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(`${TORCH_FIXTURES}/${name}`));
}

/** Holds every slot in CPU memory and counts how often each byte is written. */
export class MemorySink implements WeightSink {
  slots: readonly WeightSlot[] = [];
  data: Uint8Array[] = [];
  private writes: Uint8Array[] = [];
  allocateCalls = 0;

  allocate(slots: readonly WeightSlot[]): void {
    this.allocateCalls++;
    this.slots = slots;
    this.data = slots.map((slot) => new Uint8Array(slot.byteLength));
    this.writes = slots.map((slot) => new Uint8Array(slot.byteLength));
  }

  write(slotIndex: number, byteOffset: number, bytes: Uint8Array): void {
    const target = this.data[slotIndex];
    if (byteOffset % 4 !== 0 || bytes.length % 4 !== 0) throw new Error(`unaligned write to slot ${slotIndex} at ${byteOffset} (${bytes.length} bytes)`);
    if (byteOffset + bytes.length > target.length) throw new Error(`write past slot ${slotIndex}: ${byteOffset} + ${bytes.length} > ${target.length}`);
    target.set(bytes, byteOffset);
    const writes = this.writes[slotIndex];
    for (let i = byteOffset; i < byteOffset + bytes.length; i++) writes[i]++;
  }

  /** Slots whose bytes were not all written exactly once, as "slot: first bad byte". */
  coverageProblems(): string[] {
    const problems: string[] = [];
    this.writes.forEach((writes, slot) => {
      const bad = writes.findIndex((count) => count !== 1);
      if (bad >= 0) problems.push(`slot ${slot}: byte ${bad} written ${writes[bad]} times`);
    });
    return problems;
  }
}

/** A WeightFile over bytes in memory, streamed in chunks of `chunkSize`; its slices are Blobs, as a File's are. */
export function memoryFile(name: string, bytes: Uint8Array, chunkSize = 65536): WeightFile {
  return chunkedFile(name, bytes, bytes.length, () => chunkSize);
}

/**
 * A file of claimed `size` whose stream yields `bytes` in chunk sizes from `nextChunk`; its slices
 * are of `bytes` too, so a file that claims more than it has gives short slices.
 */
export function chunkedFile(name: string, bytes: Uint8Array, size: number, nextChunk: () => number): WeightFile {
  return {
    name,
    size,
    slice: (start, end) => new Blob([bytes.slice(start, end)]),
    stream() {
      let offset = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= bytes.length) return controller.close();
          // Several chunks per pull, so that tiny chunks do not make the stream the bottleneck.
          for (let i = 0; i < 256 && offset < bytes.length; i++) {
            const length = nextChunk();
            controller.enqueue(bytes.slice(offset, offset + length));
            offset += length;
          }
        },
      });
    },
  };
}

export interface LoadResult {
  config: Gpt2Config;
  sink: MemorySink;
}

export async function load(
  parser: WeightsParser,
  source: WeightsSource,
  matrixDtype: MatrixDtype = 'f32',
): Promise<LoadResult> {
  const sink = new MemorySink();
  const config = await loadWeights(parser, source, sink, { matrixDtype });
  return { config, sink };
}

export function jsonConfig(config: Gpt2Config): WeightsSource['config'] {
  const json = { vocab_size: config.vocabSize, n_positions: config.nCtx, n_embd: config.nEmbd, n_layer: config.nLayer, n_head: config.nHead };
  return { format: 'json', bytes: new TextEncoder().encode(JSON.stringify(json)) };
}

export function pytorchSource(file: Uint8Array, config: Uint8Array, chunkSize = 1 << 20): WeightsSource {
  return { format: 'pytorch-bin', config: { format: 'json', bytes: config }, files: [memoryFile('pytorch_model.bin', file, chunkSize)] };
}

export function safetensorsSource(config: Gpt2Config, files: WeightFile[]): WeightsSource {
  return { format: 'safetensors', config: jsonConfig(config), files };
}

// --- Checkpoint tensors, independent of the parser ---

export type SourceDtype = 'F32' | 'F16' | 'BF16';

/** A tensor as a checkpoint stores it: HF name and shape, raw little-endian bytes. */
export interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

const LAYER_SUFFIXES = [
  'ln_1.weight', 'ln_1.bias', 'attn.c_attn.weight', 'attn.c_attn.bias', 'attn.c_proj.weight', 'attn.c_proj.bias',
  'ln_2.weight', 'ln_2.bias', 'mlp.c_fc.weight', 'mlp.c_fc.bias', 'mlp.c_proj.weight', 'mlp.c_proj.bias',
];
const CONV1D_SUFFIXES = new Set(['attn.c_attn.weight', 'attn.c_proj.weight', 'mlp.c_fc.weight', 'mlp.c_proj.weight']);

/** Canonical (unprefixed) names in slot order. */
export function slotNames(config: Gpt2Config): string[] {
  const names = ['wte.weight', 'wpe.weight', 'ln_f.weight', 'ln_f.bias'];
  for (let layer = 0; layer < config.nLayer; layer++) for (const suffix of LAYER_SUFFIXES) names.push(`h.${layer}.${suffix}`);
  return names;
}

/** HF shapes of every GPT-2 weight (Conv1D weights [in, out]). */
export function hfShapes(config: Gpt2Config): Map<string, number[]> {
  const d = config.nEmbd;
  const shapes = new Map<string, number[]>([
    ['wte.weight', [config.vocabSize, d]],
    ['wpe.weight', [config.nCtx, d]],
    ['ln_f.weight', [d]],
    ['ln_f.bias', [d]],
  ]);
  const layerShapes: Record<string, number[]> = {
    'ln_1.weight': [d], 'ln_1.bias': [d], 'attn.c_attn.weight': [d, 3 * d], 'attn.c_attn.bias': [3 * d],
    'attn.c_proj.weight': [d, d], 'attn.c_proj.bias': [d], 'ln_2.weight': [d], 'ln_2.bias': [d],
    'mlp.c_fc.weight': [d, 4 * d], 'mlp.c_fc.bias': [4 * d], 'mlp.c_proj.weight': [4 * d, d], 'mlp.c_proj.bias': [d],
  };
  for (let layer = 0; layer < config.nLayer; layer++) {
    for (const suffix of LAYER_SUFFIXES) shapes.set(`h.${layer}.${suffix}`, layerShapes[suffix]);
  }
  return shapes;
}

/** Deterministic values in [-1, 1) (mulberry32). */
export function randomValues(count: number, seed: number): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return values;
}

/** Every GPT-2 weight of `config` with random values, as `dtype`, names prefixed with `prefix`. */
export function randomTensors(config: Gpt2Config, dtype: SourceDtype, seed = 1, prefix = 'transformer.'): RawTensor[] {
  return [...hfShapes(config)].map(([name, shape], index) => {
    const values = randomValues(shape.reduce((a, b) => a * b, 1), seed * 1000 + index);
    return { name: prefix + name, dtype, shape, bytes: encodeValues(values, dtype) };
  });
}

export function encodeValues(values: ArrayLike<number>, dtype: SourceDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(Float32Array.from(values).buffer);
  const halves = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    halves[i] = dtype === 'F16' ? floatToHalf(values[i]) : new Uint32Array(Float32Array.of(values[i]).buffer)[0] >>> 16;
  }
  return new Uint8Array(halves.buffer);
}

/** A safetensors file; `extraHeader` entries are merged into the header as given (for damage). */
export function encodeSafetensors(tensors: RawTensor[], extraHeader: Record<string, unknown> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const tensor of tensors) {
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.bytes.length] };
    offset += tensor.bytes.length;
  }
  Object.assign(header, extraHeader);
  const data = new Uint8Array(offset);
  offset = 0;
  for (const tensor of tensors) {
    data.set(tensor.bytes, offset);
    offset += tensor.bytes.length;
  }
  return withHeader(JSON.stringify(header), data);
}

/** A safetensors file from header text and data, as written (8-byte length, header, data). */
export function withHeader(headerText: string, data: Uint8Array): Uint8Array {
  const header = new TextEncoder().encode(headerText);
  const file = new Uint8Array(8 + header.length + data.length);
  new DataView(file.buffer).setBigUint64(0, BigInt(header.length), true);
  file.set(header, 8);
  file.set(data, 8 + header.length);
  return file;
}

/** Splits a safetensors file into its parsed header and data section. */
export function splitSafetensors(file: Uint8Array): { header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; data: Uint8Array } {
  const length = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + length)));
  return { header, data: file.subarray(8 + length) };
}

/** Reads every tensor of a safetensors file. */
export function readSafetensors(file: Uint8Array): RawTensor[] {
  const { header, data } = splitSafetensors(file);
  return Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, entry]) => ({ name, dtype: entry.dtype, shape: entry.shape, bytes: data.subarray(entry.data_offsets[0], entry.data_offsets[1]) }));
}

export function encodeLegacyBin(tensors: { name: string; shape: number[]; bytes: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [u32(tensors.length)];
  for (const tensor of tensors) {
    const name = new TextEncoder().encode(tensor.name);
    parts.push(u32(name.length), name, u32(tensor.shape.length), ...tensor.shape.map(u32), tensor.bytes);
  }
  return concat(parts);
}

export function legacyConfigText(config: Gpt2Config): Uint8Array {
  return new TextEncoder().encode(
    `vocab_size=${config.vocabSize}\nmax_seq_len=${config.nCtx}\nd_model=${config.nEmbd}\nn_layers=${config.nLayer}\nn_heads=${config.nHead}\n`,
  );
}

/** Reads every tensor of a gpt2_weights.bin with a DataView. */
export function readLegacyBin(file: Uint8Array): RawTensor[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const tensors: RawTensor[] = [];
  let offset = 4;
  for (let i = view.getUint32(0, true); i > 0; i--) {
    const nameLength = view.getUint32(offset, true);
    const name = new TextDecoder().decode(file.subarray(offset + 4, offset + 4 + nameLength));
    offset += 4 + nameLength;
    const rank = view.getUint32(offset, true);
    const shape = Array.from({ length: rank }, (_, k) => view.getUint32(offset + 4 + 4 * k, true));
    offset += 4 + 4 * rank;
    const byteLength = 4 * shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, dtype: 'F32', shape, bytes: file.subarray(offset, offset + byteLength) });
    offset += byteLength;
  }
  return tensors;
}

export function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// --- The expected output, computed from raw tensors ---

/** The bytes every slot should hold after loading `tensors` (names with or without prefix). */
export function expectedSlots(config: Gpt2Config, tensors: RawTensor[], matrixDtype: MatrixDtype): Uint8Array[] {
  const byName = new Map(tensors.map((tensor) => [tensor.name.replace(/^transformer\./, ''), tensor]));
  return slotNames(config).map((name) => {
    const tensor = byName.get(name);
    if (!tensor) throw new Error(`test checkpoint lacks ${name}`);
    const isMatrix = tensor.shape.length === 2;
    const transposed = CONV1D_SUFFIXES.has(name.replace(/^h\.\d+\./, ''));
    const [sourceRows, sourceCols] = isMatrix ? tensor.shape : [1, tensor.shape[0]];
    const count = sourceRows * sourceCols;
    // Element k of the slot comes from source element sourceIndex(k).
    const sourceIndex = (k: number) => (transposed ? (k % sourceRows) * sourceCols + Math.floor(k / sourceRows) : k);
    const view = new DataView(tensor.bytes.buffer, tensor.bytes.byteOffset, tensor.bytes.byteLength);
    if (isMatrix && matrixDtype === 'f16') {
      const halves = new Uint16Array(Math.ceil(count / 2) * 2);
      for (let k = 0; k < count; k++) halves[k] = sourceHalf(view, tensor.dtype, sourceIndex(k));
      return new Uint8Array(halves.buffer);
    }
    const floats = new Float32Array(count);
    for (let k = 0; k < count; k++) floats[k] = sourceFloat(view, tensor.dtype, sourceIndex(k));
    return new Uint8Array(floats.buffer);
  });
}

function sourceFloat(view: DataView, dtype: string, index: number): number {
  if (dtype === 'F32') return view.getFloat32(4 * index, true);
  const bits = view.getUint16(2 * index, true);
  return dtype === 'F16' ? halfToFloat(bits) : new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
}

// F16 is copied as is (no double rounding); F32 and BF16 are rounded once.
function sourceHalf(view: DataView, dtype: string, index: number): number {
  return dtype === 'F16' ? view.getUint16(2 * index, true) : floatToHalf(sourceFloat(view, dtype, index));
}

/** IEEE half bits -> value, from the definition. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Value -> IEEE half bits, rounding to nearest even, from the definition. */
export function floatToHalf(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= 65520) return sign | 0x7c00;
  if (magnitude < 2 ** -14) return sign | roundHalfEven(magnitude / 2 ** -24); // 1024 lands on 2^-14 exactly
  let exponent = Math.floor(Math.log2(magnitude));
  while (2 ** exponent > magnitude) exponent--;
  while (2 ** (exponent + 1) <= magnitude) exponent++;
  let mantissa = roundHalfEven(magnitude / 2 ** (exponent - 10));
  if (mantissa === 2048) {
    mantissa = 1024;
    exponent++;
  }
  return sign | ((exponent + 15) << 10) | (mantissa - 1024);
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return fraction < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Indexes of slots whose bytes differ from `expected`. */
export function differingSlots(actual: Uint8Array[], expected: Uint8Array[]): number[] {
  return expected.flatMap((bytes, slot) => (bytesEqual(actual[slot], bytes) ? [] : [slot]));
}
