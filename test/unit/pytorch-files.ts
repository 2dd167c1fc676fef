// Writes pytorch_model.bin files as torch.save lays them out, for the tests that need one a real
// file cannot be (damaged, compressed, zip64, refusing globals): a state dict pickled in protocol 2
// as torch.save pickles it, a zip of stored entries (zip64 on request), and the legacy run of
// pickles. Also reads the entries of a real fixture's zip, to rebuild it with one thing changed.
import { concat, type RawTensor } from './weights-helpers.ts';

/** A state dict entry: a tensor viewing storage `key` (elements), as _rebuild_tensor_v2 takes it. */
export interface PickledTensor {
  name: string;
  key: string;
  storageType: string; // FloatStorage, HalfStorage, …
  numel: number; // of the storage
  offset: number;
  shape: number[];
  stride: number[];
}

const text = (value: string) => new TextEncoder().encode(value);

/** Pickle opcodes, for tests that write their own. */
export const op = {
  proto: (version: number) => Uint8Array.of(0x80, version),
  global: (module: string, name: string) => concat([text('c'), text(`${module}\n${name}\n`)]),
  string: (value: string) => {
    const bytes = text(value);
    return concat([Uint8Array.of(0x58), u32le(bytes.length), bytes]); // BINUNICODE
  },
  int: (value: number) => concat([Uint8Array.of(0x4a), i32le(value)]), // BININT
  tuple: (...items: Uint8Array[]) => concat([text('('), ...items, text('t')]),
  mark: text('('),
  emptyTuple: text(')'),
  reduce: text('R'),
  setItems: text('u'),
  persistentId: text('Q'),
  none: text('N'),
  newFalse: Uint8Array.of(0x89),
  newTrue: Uint8Array.of(0x88),
  stop: text('.'),
};

/** The pickle of a state dict (an OrderedDict of tensors), as torch.save writes it in either format. */
export function stateDictPickle(tensors: PickledTensor[], format: 'zip' | 'legacy', entry = tensorEntry): Uint8Array {
  return concat([
    op.proto(2),
    op.global('collections', 'OrderedDict'),
    op.emptyTuple,
    op.reduce,
    op.mark,
    ...tensors.map((tensor) => entry(tensor, format)),
    op.setItems,
    op.stop,
  ]);
}

/** One `name: tensor` pair of a state dict pickle. */
export function tensorEntry(tensor: PickledTensor, format: 'zip' | 'legacy'): Uint8Array {
  const persistentId = op.tuple(
    op.string('storage'),
    op.global('torch', tensor.storageType),
    op.string(tensor.key),
    op.string('cpu'),
    op.int(tensor.numel),
    ...(format === 'legacy' ? [op.none] : []),
  );
  return concat([
    op.string(tensor.name),
    op.global('torch._utils', '_rebuild_tensor_v2'),
    op.tuple(
      persistentId,
      op.persistentId,
      op.int(tensor.offset),
      op.tuple(...tensor.shape.map(op.int)),
      op.tuple(...tensor.stride.map(op.int)),
      op.newFalse,
      op.global('collections', 'OrderedDict'),
      op.emptyTuple,
      op.reduce,
    ),
    op.reduce,
  ]);
}

const STORAGE_TYPES: Record<string, string> = { F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage' };

/** Raw tensors as a state dict with one storage each (key = index), and the storages' bytes. */
export function stateDictOf(tensors: RawTensor[]): { pickled: PickledTensor[]; storages: Map<string, Uint8Array> } {
  const storages = new Map<string, Uint8Array>();
  const pickled = tensors.map((tensor, index) => {
    const key = String(index);
    storages.set(key, tensor.bytes);
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    return { name: tensor.name, key, storageType: STORAGE_TYPES[tensor.dtype], numel: elements, offset: 0, shape: tensor.shape, stride: contiguousStrides(tensor.shape) };
  });
  return { pickled, storages };
}

export function contiguousStrides(shape: number[]): number[] {
  const strides = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

export interface ZipFileEntry {
  name: string;
  data: Uint8Array;
  /** 0 (stored, the default) or another zip method, written as is (the data is not compressed). */
  method?: number;
}

/** A zip of the entries in order, as PyTorch writes one; `zip64` writes every size and offset as zip64. */
export function writeZip(entries: ZipFileEntry[], { zip64 = false } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const directory: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = text(entry.name);
    const zip64Extra = zip64 ? concat([u16le(1), u16le(24), u64le(entry.data.length), u64le(entry.data.length), u64le(offset)]) : new Uint8Array();
    const size32 = zip64 ? 0xffffffff : entry.data.length;
    const local = concat([
      u32le(0x04034b50), u16le(zip64 ? 45 : 20), u16le(0x0800), u16le(entry.method ?? 0), u16le(0), u16le(0), u32le(0),
      u32le(size32), u32le(size32), u16le(name.length), u16le(zip64Extra.length), name, zip64Extra,
    ]);
    directory.push(concat([
      u32le(0x02014b50), u16le(zip64 ? 45 : 20), u16le(zip64 ? 45 : 20), u16le(0x0800), u16le(entry.method ?? 0), u16le(0), u16le(0), u32le(0),
      u32le(size32), u32le(size32), u16le(name.length), u16le(zip64Extra.length), u16le(0), u16le(0), u16le(0), u32le(0),
      u32le(zip64 ? 0xffffffff : offset), name, zip64Extra,
    ]));
    parts.push(local, entry.data);
    offset += local.length + entry.data.length;
  }
  const directoryBytes = concat(directory);
  const directoryStart = offset;
  const end: Uint8Array[] = [];
  if (zip64) {
    const recordOffset = directoryStart + directoryBytes.length;
    end.push(
      concat([
        u32le(0x06064b50), u64le(44), u16le(45), u16le(45), u32le(0), u32le(0), u64le(entries.length), u64le(entries.length),
        u64le(directoryBytes.length), u64le(directoryStart),
      ]),
      concat([u32le(0x07064b50), u32le(0), u64le(recordOffset), u32le(1)]),
    );
  }
  end.push(concat([
    u32le(0x06054b50), u16le(0), u16le(0), u16le(zip64 ? 0xffff : entries.length), u16le(zip64 ? 0xffff : entries.length),
    u32le(zip64 ? 0xffffffff : directoryBytes.length), u32le(zip64 ? 0xffffffff : directoryStart), u16le(0),
  ]));
  return concat([...parts, directoryBytes, ...end]);
}

/** The entries of a (non-zip64) zip with stored entries, in directory order, read from its directory. */
export function readZip(file: Uint8Array): ZipFileEntry[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const endAt = file.length - 22;
  const count = view.getUint16(endAt + 10, true);
  let at = view.getUint32(endAt + 16, true);
  const entries: ZipFileEntry[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = view.getUint16(at + 28, true);
    const size = view.getUint32(at + 24, true);
    const headerOffset = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(file.subarray(at + 46, at + 46 + nameLength));
    const dataAt = headerOffset + 30 + view.getUint16(headerOffset + 26, true) + view.getUint16(headerOffset + 28, true);
    entries.push({ name, data: file.slice(dataAt, dataAt + size) });
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  return entries;
}

/** A zip-format checkpoint: `<archive>/data.pkl` and `<archive>/data/<key>` for each storage. */
export function zipCheckpoint(pickle: Uint8Array, storages: Map<string, Uint8Array>, options: { zip64?: boolean } = {}): Uint8Array {
  const entries = [{ name: 'archive/data.pkl', data: pickle }, ...[...storages].map(([key, data]) => ({ name: `archive/data/${key}`, data }))];
  return writeZip([...entries, { name: 'archive/version', data: text('3\n') }], options);
}

/** The legacy format: magic number, protocol version, system information, state dict, storage keys, storages. */
export function legacyCheckpoint(pickle: Uint8Array, storages: Map<string, { numel: number; bytes: Uint8Array }>, { littleEndian = true } = {}): Uint8Array {
  const magic = concat([op.proto(2), Uint8Array.of(0x8a, 10), Uint8Array.of(0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19), op.stop]);
  const protocol = concat([op.proto(2), Uint8Array.of(0x4d), u16le(1001), op.stop]);
  const systemInformation = concat([
    op.proto(2), text('}'), op.mark,
    op.string('protocol_version'), Uint8Array.of(0x4d), u16le(1001),
    op.string('little_endian'), littleEndian ? op.newTrue : op.newFalse,
    op.string('type_sizes'), text('}'), op.mark, op.string('short'), op.int(2), op.string('int'), op.int(4), op.string('long'), op.int(4), op.setItems,
    op.setItems, op.stop,
  ]);
  const keys = concat([op.proto(2), text(']'), op.mark, ...[...storages.keys()].map(op.string), text('e'), op.stop]);
  const data = [...storages.values()].flatMap(({ numel, bytes }) => [u64le(numel), bytes]);
  return concat([magic, protocol, systemInformation, pickle, keys, ...data]);
}

function u16le(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff, (value >>> 8) & 0xff);
}

function u32le(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

function i32le(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, value, true);
  return bytes;
}

function u64le(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
}
