// PyTorch's zip format (torch.save since 1.6): `<archive>/data.pkl` pickles the state dict, whose
// persistent ids name its storages, each stored whole as the entry `<archive>/data/<key>`;
// `<archive>/byteorder` (since 2.1) says the storages' byte order. The directory is read from the
// end first; then the file streams once, front to back: data.pkl (PyTorch writes it first) is
// gathered and read, and the storages' bytes go straight to the weights parser.
import { WeightsFormatError } from '../weights-format-error.ts';
import { MAX_PICKLE_BYTES } from './pickle.ts';
import type { CheckpointReader } from './pytorch-checkpoint.ts';
import { readStateDict } from './state-dict.ts';
import { TensorPlan, type TensorDestination } from './tensor-plan.ts';
import { readZipDirectory, type ReadRange, type ZipEntry } from './zip-directory.ts';
import { ZipEntryStream } from './zip-entries.ts';

export async function openZipCheckpoint(read: ReadRange, fileSize: number, what: string, destination: TensorDestination): Promise<CheckpointReader> {
  const directory = await readZipDirectory(read, fileSize, what);
  const pickles = directory.entries.filter((entry) => /^[^/]+\/data\.pkl$/.test(entry.name));
  if (pickles.length !== 1) {
    throw new WeightsFormatError(pickles.length === 0
      ? `${what} is a zip without a data.pkl, so it is not a PyTorch checkpoint: choose the model's pytorch_model.bin or model.safetensors`
      : `${what} holds ${pickles.length} data.pkl entries where a PyTorch checkpoint has one: the file is damaged — download it again`);
  }
  const pickle = pickles[0];
  const archive = pickle.name.slice(0, -'data.pkl'.length);
  const storages = new Map<string, ZipEntry>();
  for (const entry of directory.entries) {
    if (entry.name.startsWith(`${archive}data/`)) storages.set(entry.name.slice(archive.length + 'data/'.length), entry);
  }
  const byteOrder = directory.entries.find((entry) => entry.name === `${archive}byteorder`);
  const firstStorage = Math.min(...[...storages.values()].map((entry) => entry.headerOffset));
  if (pickle.headerOffset > firstStorage) {
    throw new WeightsFormatError(
      `${what} puts its data.pkl after the tensors' data, which torch.save never does, and this reader reads the file once, in order: ` +
        'use the file as torch.save wrote it, or the checkpoint\'s model.safetensors',
    );
  }
  for (const entry of [pickle, ...(byteOrder ? [byteOrder] : [])]) checkStored(entry, what);
  if (pickle.size > MAX_PICKLE_BYTES) throw new WeightsFormatError(`${what}'s data.pkl is ${pickle.size} bytes, far more than a state dict's: the file is damaged — download it again`);
  if (byteOrder && byteOrder.size > 16) throw new WeightsFormatError(`${what}'s byteorder entry is ${byteOrder.size} bytes, not a word: the file is damaged — download it again`);

  const wanted = [pickle, ...(byteOrder ? [byteOrder] : []), ...storages.values()].sort((a, b) => a.headerOffset - b.headerOffset);
  return new ZipCheckpoint(wanted, directory.start, storages, what, destination);
}

class ZipCheckpoint implements CheckpointReader {
  private readonly entries: ZipEntryStream;
  private readonly small = new Map<ZipEntry, Uint8Array>(); // data.pkl and byteorder, as they arrive
  private plan: TensorPlan | null = null;

  constructor(
    wanted: ZipEntry[],
    directoryStart: number,
    private readonly storages: ReadonlyMap<string, ZipEntry>,
    private readonly what: string,
    private readonly destination: TensorDestination,
  ) {
    const keys = new Map([...storages].map(([key, entry]) => [entry, key]));
    this.entries = new ZipEntryStream(wanted, directoryStart, what, {
      data: (entry, offset, bytes) => {
        const key = keys.get(entry);
        if (key === undefined) {
          if (!this.small.has(entry)) this.small.set(entry, new Uint8Array(entry.size));
          this.small.get(entry)!.set(bytes, offset);
        } else {
          this.plan?.write(key, offset, bytes);
        }
      },
      end: (entry) => {
        if (keys.has(entry)) return;
        const bytes = this.small.get(entry) ?? new Uint8Array();
        if (entry.name.endsWith('/data.pkl')) this.readPickle(bytes);
        else this.checkByteOrder(bytes);
      },
    });
  }

  push(chunk: Uint8Array): void {
    this.entries.push(chunk);
  }

  end(): void {
    this.entries.end();
    if (!this.plan) throw new WeightsFormatError(`${this.what} ended before its data.pkl: the file was cut short — download it again`);
    this.plan.finish();
  }

  private readPickle(bytes: Uint8Array): void {
    const { tensors, length } = readStateDict(bytes, `${this.what}'s data.pkl`, 'zip');
    if (length !== bytes.length) throw new WeightsFormatError(`${this.what}'s data.pkl has ${bytes.length - length} bytes after its pickle: the file is damaged — download it again`);
    for (const { name, tensor } of tensors) {
      const { storage } = tensor;
      const entry = this.storages.get(storage.key);
      if (!entry) {
        throw new WeightsFormatError(`${this.what}: tensor ${name} is in storage ${storage.key}, which the zip does not hold: the file is damaged — download it again`);
      }
      checkStored(entry, this.what);
      const bytesNeeded = storage.numel * storage.dtype.bytes;
      if (entry.size !== bytesNeeded) {
        throw new WeightsFormatError(
          `${this.what}: storage ${storage.key} holds ${entry.size} bytes but data.pkl says it has ${storage.numel} ` +
            `${storage.dtype.safetensors} elements (${bytesNeeded} bytes): the file is damaged — download it again`,
        );
      }
    }
    const order = [...this.storages].sort(([, a], [, b]) => a.headerOffset - b.headerOffset).map(([key]) => key);
    this.plan = TensorPlan.declare(tensors, order, this.what, this.destination);
    this.small.clear();
  }

  private checkByteOrder(bytes: Uint8Array): void {
    const order = new TextDecoder().decode(bytes);
    if (order !== 'little') {
      throw new WeightsFormatError(
        `${this.what} was saved on a ${order === 'big' ? 'big-endian' : 'unknown'} machine (byteorder ${JSON.stringify(order)}), and this ` +
          'reader takes little-endian storages only: re-save it with torch.save on a little-endian machine, or use the checkpoint\'s model.safetensors',
      );
    }
  }
}

// PyTorch stores every entry as is, so that storages can be mapped from the file.
function checkStored(entry: ZipEntry, what: string): void {
  if ((entry.flags & 1) !== 0) throw new WeightsFormatError(`${what}'s entry ${entry.name} is encrypted, which PyTorch never does: use the file as torch.save wrote it`);
  if (entry.method === 0 && entry.compressedSize !== entry.size) {
    throw new WeightsFormatError(`${what} is not a valid zip (its stored entry ${entry.name} has two different sizes): the file is damaged — download it again`);
  }
  if (entry.method !== 0) {
    throw new WeightsFormatError(
      `${what}'s entry ${entry.name} is compressed (zip method ${entry.method}), which PyTorch never does: the file was re-zipped by ` +
        'another tool — use the file as torch.save wrote it, or the checkpoint\'s model.safetensors',
    );
  }
}
