// Builds GPT-2 checkpoint files in memory for tests and benchmarks: the HF tensor list, seeded
// random weights at GPT-2-like scales, the two file formats the app reads (safetensors and the
// legacy gpt2_weights.bin), their config files, and the f16/bf16 conversions that need.
// No Node imports: browser tests use it too.
import type { Gpt2Config } from '../src/model/config.ts';

export interface TensorShape {
  name: string;
  shape: number[];
}

export interface NamedTensor extends TensorShape {
  data: Float32Array<ArrayBuffer>; // ArrayBuffer-backed, so WebGPU writeBuffer takes it as is
}

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export interface TensorPrefix {
  prefix?: string; // 'transformer.' as in HF GPT2LMHeadModel files, '' as in GPT2Model files
}

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export const elementCount = (shape: readonly number[]): number => shape.reduce((product, dim) => product * dim, 1);

/** Every GPT-2 weight in the order and with the [in, out] Conv1D shapes of an HF state dict. */
export function gpt2TensorShapes(config: Gpt2Config, { prefix = 'transformer.' }: TensorPrefix = {}): TensorShape[] {
  const d = config.nEmbd;
  const shapes: TensorShape[] = [
    { name: 'wte.weight', shape: [config.vocabSize, d] },
    { name: 'wpe.weight', shape: [config.nCtx, d] },
  ];
  for (let layer = 0; layer < config.nLayer; layer++) {
    const block = `h.${layer}.`;
    shapes.push(
      { name: `${block}ln_1.weight`, shape: [d] },
      { name: `${block}ln_1.bias`, shape: [d] },
      { name: `${block}attn.c_attn.weight`, shape: [d, 3 * d] },
      { name: `${block}attn.c_attn.bias`, shape: [3 * d] },
      { name: `${block}attn.c_proj.weight`, shape: [d, d] },
      { name: `${block}attn.c_proj.bias`, shape: [d] },
      { name: `${block}ln_2.weight`, shape: [d] },
      { name: `${block}ln_2.bias`, shape: [d] },
      { name: `${block}mlp.c_fc.weight`, shape: [d, 4 * d] },
      { name: `${block}mlp.c_fc.bias`, shape: [4 * d] },
      { name: `${block}mlp.c_proj.weight`, shape: [4 * d, d] },
      { name: `${block}mlp.c_proj.bias`, shape: [d] },
    );
  }
  shapes.push({ name: 'ln_f.weight', shape: [d] }, { name: 'ln_f.bias', shape: [d] });
  return shapes.map(({ name, shape }) => ({ name: prefix + name, shape }));
}

// --- Seeded random weights ---

/** FNV-1a over the name's UTF-16 code units, starting from the seed, so each tensor gets its own stream. */
function hashNameAndSeed(name: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** mulberry32: a tiny 32-bit PRNG, uniform in (0, 1]. Open at 0 so Box-Muller's log never sees 0. */
function mulberry32(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967296;
  };
}

/** Fills `out` with N(mean, std) samples, two per Box-Muller draw. */
function fillNormal(out: Float32Array, uniform: () => number, mean: number, std: number): void {
  for (let i = 0; i < out.length; i += 2) {
    const radius = std * Math.sqrt(-2 * Math.log(uniform()));
    const angle = 2 * Math.PI * uniform();
    out[i] = mean + radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = mean + radius * Math.sin(angle);
  }
}

/**
 * Deterministic weights for one tensor, at scales chosen so a random model behaves like a trained
 * one where tests look: logits spread over several units (clear argmaxes, no ties), attention that
 * is not uniform, and every bias and LayerNorm parameter far enough from 0 and 1 that a kernel
 * which drops one gives visibly different logits. Every tensor holds negative values.
 */
export function randomTensorData(name: string, shape: readonly number[], seed: number): Float32Array<ArrayBuffer> {
  const data = new Float32Array(elementCount(shape));
  const uniform = mulberry32(hashNameAndSeed(name, seed));
  const width = shape[shape.length - 1];
  if (name.endsWith('wte.weight')) {
    // The tied head dots ln_f's unit-variance output with a wte row: std 3/sqrt(d) gives logits of std ~3.
    fillNormal(data, uniform, 0, 3 / Math.sqrt(width));
  } else if (name.endsWith('wpe.weight')) {
    fillNormal(data, uniform, 0, 1 / Math.sqrt(width));
  } else if (/ln_\w+\.weight$/.test(name)) {
    fillNormal(data, uniform, 1, 0.2);
    // A trained LayerNorm weight is sometimes negative; without any, a sign bug in f16/bf16 would go unseen.
    for (let i = 1; i < data.length; i += 8) data[i] = -data[i];
  } else if (name.endsWith('.bias')) {
    fillNormal(data, uniform, 0, 0.1);
  } else {
    // Conv1D [in, out]: std 1/sqrt(in) keeps every matmul's output near unit variance at any width
    // (at d=768 this is 0.036, close to GPT-2's 0.02 init), so 48 layers neither vanish nor explode.
    fillNormal(data, uniform, 0, 1 / Math.sqrt(shape[0]));
  }
  return data;
}

export function randomGpt2Tensors(config: Gpt2Config, seed: number, options: TensorPrefix = {}): NamedTensor[] {
  return gpt2TensorShapes(config, options).map(({ name, shape }) => ({ name, shape, data: randomTensorData(name, shape, seed) }));
}

// --- Number formats ---

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

function float32Bits(x: number): number {
  scratchFloat[0] = x;
  return scratchBits[0];
}

/** `value >> shift`, rounded to nearest with ties to even (value < 2^31, 1 <= shift <= 30). */
function shiftRoundingToEven(value: number, shift: number): number {
  const kept = value >>> shift;
  const dropped = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return dropped > half || (dropped === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** IEEE binary16 bits of x (first rounded to float32), round to nearest even, subnormals, ±inf, quiet NaN. */
export function float32ToFloat16Bits(x: number): number {
  const bits = float32Bits(x);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa === 0 ? 0x7c00 : 0x7e00);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  // A carry out of the mantissa lands in the exponent, which is the right answer (up to 0x7c00 = inf).
  if (halfExponent >= 1) return sign | shiftRoundingToEven((halfExponent << 23) | mantissa, 13);
  // Below 2^-25 everything rounds to zero; exactly 2^-25 is a tie that goes to the even zero.
  if (halfExponent < -10) return sign;
  return sign | shiftRoundingToEven(0x800000 | mantissa, 14 - halfExponent);
}

export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (0x400 + mantissa) * 2 ** (exponent - 25);
}

/** bfloat16 bits of x (first rounded to float32): the top half of the float32, round to nearest even. */
export function float32ToBfloat16Bits(x: number): number {
  const bits = float32Bits(x);
  if (Number.isNaN(x)) return (bits >>> 16) | 0x40;
  const upper = bits >>> 16;
  const lower = bits & 0xffff;
  return lower > 0x8000 || (lower === 0x8000 && (upper & 1) === 1) ? upper + 1 : upper;
}

export function bfloat16BitsToFloat32(bits: number): number {
  scratchBits[0] = bits << 16;
  return scratchFloat[0];
}

/** One tensor's elements as little-endian bytes in the given dtype. */
export function encodeTensorData(data: Float32Array, dtype: SafetensorsDtype): Uint8Array {
  const bytes = new Uint8Array(data.length * BYTES_PER_ELEMENT[dtype]);
  const view = new DataView(bytes.buffer);
  if (dtype === 'F32') {
    for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  } else {
    const toBits = dtype === 'F16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
    for (let i = 0; i < data.length; i++) view.setUint16(i * 2, toBits(data[i]), true);
  }
  return bytes;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// --- safetensors ---

/**
 * Everything a safetensors file holds before its tensor data: the u64 little-endian header length
 * and the JSON header, padded with spaces to a multiple of 8 bytes as the safetensors library
 * writes it. Tensor data follows in `entries` order, tensor i at dataOffsets[i] from the end of
 * headerBytes, so a writer can stream a huge file one tensor at a time.
 */
export function safetensorsHeader(
  entries: readonly TensorShape[],
  dtype: SafetensorsDtype,
  metadata?: Record<string, string>,
): { headerBytes: Uint8Array; dataOffsets: number[][] } {
  const header: Record<string, unknown> = {};
  const dataOffsets: number[][] = [];
  let offset = 0;
  for (const { name, shape } of entries) {
    const end = offset + elementCount(shape) * BYTES_PER_ELEMENT[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, end] };
    dataOffsets.push([offset, end]);
    offset = end;
  }
  if (metadata) header.__metadata__ = metadata;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const paddedLength = Math.ceil(json.length / 8) * 8;
  const headerBytes = new Uint8Array(8 + paddedLength).fill(0x20, 8);
  new DataView(headerBytes.buffer).setBigUint64(0, BigInt(paddedLength), true);
  headerBytes.set(json, 8);
  return { headerBytes, dataOffsets };
}

export function encodeSafetensors(
  tensors: readonly NamedTensor[],
  dtype: SafetensorsDtype = 'F32',
  metadata?: Record<string, string>,
): Uint8Array {
  const { headerBytes } = safetensorsHeader(tensors, dtype, metadata);
  return concatBytes([headerBytes, ...tensors.map((tensor) => encodeTensorData(tensor.data, dtype))]);
}

/** Reads F32, F16 and BF16 safetensors into float32 tensors, in header order. Test support, not the app's parser. */
export function decodeSafetensors(bytes: Uint8Array): { tensors: NamedTensor[]; metadata?: Record<string, string> } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const dataStart = 8 + headerLength;
  const tensors: NamedTensor[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [begin] } = entry as { dtype: SafetensorsDtype; shape: number[]; data_offsets: number[] };
    const data = new Float32Array(elementCount(shape));
    const at = dataStart + begin;
    if (dtype === 'F32') {
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(at + i * 4, true);
    } else {
      const toFloat = dtype === 'F16' ? float16BitsToFloat32 : dtype === 'BF16' ? bfloat16BitsToFloat32 : undefined;
      if (!toFloat) throw new Error(`${name}: dtype ${dtype} is not F32, F16 or BF16`);
      for (let i = 0; i < data.length; i++) data[i] = toFloat(view.getUint16(at + i * 2, true));
    }
    tensors.push({ name, shape, data });
  }
  return { tensors, metadata: header.__metadata__ };
}

// --- Legacy gpt2_weights.bin ---

/** The file's first 4 bytes: u32 tensor count. */
export function legacyBinCount(count: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, count, true);
  return bytes;
}

/** One tensor's record: u32 name_len, UTF-8 name, u32 ndims, u32 dims[ndims], f32 data. */
export function legacyBinRecord(tensor: NamedTensor): Uint8Array {
  const nameBytes = new TextEncoder().encode(tensor.name);
  const prefix = new Uint8Array(4 + nameBytes.length + 4 + 4 * tensor.shape.length);
  const view = new DataView(prefix.buffer);
  view.setUint32(0, nameBytes.length, true);
  prefix.set(nameBytes, 4);
  const ndimsAt = 4 + nameBytes.length;
  view.setUint32(ndimsAt, tensor.shape.length, true);
  tensor.shape.forEach((dim, i) => view.setUint32(ndimsAt + 4 + 4 * i, dim, true));
  return concatBytes([prefix, encodeTensorData(tensor.data, 'F32')]);
}

export function encodeLegacyBin(tensors: readonly NamedTensor[]): Uint8Array {
  return concatBytes([legacyBinCount(tensors.length), ...tensors.map(legacyBinRecord)]);
}

// --- Config files ---

/** config.json as the HF hub ships it for GPT-2. */
export function hfConfigJson(config: Gpt2Config): string {
  const json = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: config.vocabSize,
    n_positions: config.nCtx,
    n_ctx: config.nCtx,
    n_embd: config.nEmbd,
    n_layer: config.nLayer,
    n_head: config.nHead,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
    // <|endoftext|> is GPT-2's last token (50256); keep it in range for custom vocabularies.
    bos_token_id: config.vocabSize - 1,
    eos_token_id: config.vocabSize - 1,
  };
  return JSON.stringify(json, null, 2);
}

/** gpt2_config.txt, the legacy format's key=value config. */
export function legacyConfigText(config: Gpt2Config): string {
  return (
    `vocab_size=${config.vocabSize}\nmax_seq_len=${config.nCtx}\nd_model=${config.nEmbd}\n` +
    `n_layers=${config.nLayer}\nn_heads=${config.nHead}\n`
  );
}
