// PyTorch's legacy format (torch.save before 1.6, or with _use_new_zipfile_serialization=False),
// which 2019-era checkpoints use: five pickles back to back (a magic number, the format's protocol
// version, facts about the saving machine, the state dict, the list of its storage keys), then each
// storage in that list's order as its element count (8 bytes, little-endian) and its raw bytes.
// Read as it streams: each pickle is gathered until it is complete, then the storages' bytes go
// straight to the weights parser.
import { WeightsFormatError } from '../weights-format-error.ts';
import { MAX_PICKLE_BYTES, PickleDict, PickleTruncatedError, describe, readPickle } from './pickle.ts';
import type { CheckpointReader } from './pytorch-checkpoint.ts';
import { StorageRef, readStateDict, type NamedTensor } from './state-dict.ts';
import { TensorPlan, type TensorDestination } from './tensor-plan.ts';

const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;
// A pickle is read again from its start whenever twice as many bytes have gathered, so that a
// stream of small chunks costs a few readings, not one per chunk.
const FIRST_ATTEMPT_BYTES = 4096;

type Stage = 'magic number' | 'protocol version' | 'system information' | 'state dict' | 'storage list' | 'storage size' | 'storage data' | 'done';
const PICKLE_STAGES: readonly Stage[] = ['magic number', 'protocol version', 'system information', 'state dict', 'storage list'];
const EMPTY: Uint8Array = new Uint8Array(0);

export class LegacyCheckpoint implements CheckpointReader {
  private stage: Stage = 'magic number';
  private position = 0; // of the next byte pushed, in the file
  private pending: Uint8Array = EMPTY; // the pickle being gathered
  private pendingStart = 0;
  private nextAttempt = FIRST_ATTEMPT_BYTES;
  private ending = false;
  private tensors: NamedTensor[] = [];
  private readonly storages = new Map<string, StorageRef>();
  private storageKeys: string[] = [];
  private storageIndex = 0;
  private sizeField = new Uint8Array(8);
  private sizeFilled = 0;
  private storageOffset = 0; // bytes of the current storage read
  private storageBytes = 0;
  private plan: TensorPlan | null = null;

  constructor(
    private readonly what: string,
    private readonly destination: TensorDestination,
  ) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const bytes = chunk.subarray(at);
      let taken: number;
      if (PICKLE_STAGES.includes(this.stage)) taken = this.gatherPickle(bytes);
      else if (this.stage === 'storage size') taken = this.gatherStorageSize(bytes);
      else if (this.stage === 'storage data') taken = this.passStorageData(bytes);
      else {
        throw new WeightsFormatError(
          `${this.what} has ${bytes.length} bytes after its last storage (from byte ${this.position}): it is damaged — download it again`,
        );
      }
      at += taken;
      this.position += taken;
    }
  }

  end(): void {
    this.ending = true;
    // A small checkpoint can end before its pickles were read: read them now.
    if (PICKLE_STAGES.includes(this.stage) && this.pending.length > 0) this.gatherPickle(EMPTY);
    if (this.stage !== 'done') {
      const where = this.stage === 'storage size' || this.stage === 'storage data' ? `storage ${this.storageKeys[this.storageIndex]}` : `its ${this.stage}`;
      throw new WeightsFormatError(`${this.what} ends in ${where} (after ${this.position} bytes): the file was cut short — download it again`);
    }
    this.plan!.finish();
  }

  // Gathers the current pickle; once it is complete, reads it and goes on with what follows it.
  private gatherPickle(bytes: Uint8Array): number {
    const part = this.ending ? bytes : bytes.subarray(0, this.nextAttempt - this.pending.length);
    if (this.pending.length === 0) this.pendingStart = this.position;
    this.pending = concat(this.pending, part);
    if (this.pending.length < this.nextAttempt && !this.ending) return part.length;
    let length: number;
    try {
      length = this.readStagePickle(this.pending);
    } catch (error) {
      if (!(error instanceof PickleTruncatedError)) throw error;
      if (this.ending) {
        throw new WeightsFormatError(`${this.what} ends in its ${this.stage} pickle (from byte ${this.pendingStart}): the file was cut short — download it again`);
      }
      if (this.pending.length >= MAX_PICKLE_BYTES) {
        throw new WeightsFormatError(`${this.what}'s ${this.stage} pickle runs past ${MAX_PICKLE_BYTES} bytes, far more than a state dict's: the file is damaged — download it again`);
      }
      this.nextAttempt = Math.min(2 * this.pending.length, MAX_PICKLE_BYTES);
      return part.length;
    }
    // Bytes gathered past the pickle belong to what follows it.
    const leftover = this.pending.subarray(length);
    const leftoverStart = this.pendingStart + length;
    this.pending = EMPTY;
    this.nextAttempt = FIRST_ATTEMPT_BYTES;
    const resume = this.position;
    this.position = leftoverStart;
    this.push(leftover);
    this.position = resume;
    return part.length;
  }

  // Reads the pickle of the current stage from the start of `bytes`, moves to the next stage, and
  // returns the pickle's length.
  private readStagePickle(bytes: Uint8Array): number {
    const what = `${this.what}'s ${this.stage} pickle`;
    if (this.stage === 'state dict') {
      const { tensors, length } = readStateDict(bytes, what, 'legacy');
      this.tensors = tensors;
      this.stage = 'storage list';
      return length;
    }
    const { value, length } = readPickle(bytes, { what, globals: new Map() });
    if (this.stage === 'magic number') {
      if (value !== MAGIC_NUMBER) this.notLegacyCheckpoint();
      this.stage = 'protocol version';
    } else if (this.stage === 'protocol version') {
      if (value !== PROTOCOL_VERSION) {
        throw new WeightsFormatError(`${this.what} is in version ${String(value)} of PyTorch's legacy format, not 1001, the only one there is: the file is damaged — download it again`);
      }
      this.stage = 'system information';
    } else if (this.stage === 'system information') {
      this.checkSystemInformation(value);
      this.stage = 'state dict';
    } else {
      this.startStorages(value);
    }
    return length;
  }

  private notLegacyCheckpoint(): never {
    throw new WeightsFormatError(
      `${this.what} starts with a pickle but not with PyTorch's magic number, so it is neither of torch.save's formats: ` +
        'choose the model\'s pytorch_model.bin or model.safetensors',
    );
  }

  private checkSystemInformation(value: unknown): void {
    const littleEndian = value instanceof PickleDict ? value.entries.get('little_endian') : undefined;
    if (littleEndian === false) {
      throw new WeightsFormatError(
        `${this.what} was saved on a big-endian machine, and this reader takes little-endian storages only: ` +
          're-save it with torch.save on a little-endian machine, or use the checkpoint\'s model.safetensors',
      );
    }
    if (littleEndian !== true) throw new WeightsFormatError(`${this.what}'s system information pickle is ${describe(value)} without little_endian: the file is damaged — download it again`);
  }

  // The storage list: the keys of the state dict's storages, in the order their bytes follow.
  private startStorages(value: unknown): void {
    if (!Array.isArray(value) || !value.every((key) => typeof key === 'string')) {
      throw new WeightsFormatError(`${this.what}'s storage list pickle is ${describe(value)}, not a list of storage keys: the file is damaged — download it again`);
    }
    for (const { name, tensor } of this.tensors) {
      const earlier = this.storages.get(tensor.storage.key);
      if (earlier && (earlier.dtype !== tensor.storage.dtype || earlier.numel !== tensor.storage.numel)) {
        throw new WeightsFormatError(`${this.what}: tensor ${name} describes storage ${tensor.storage.key} differently from an earlier tensor: the file is damaged — download it again`);
      }
      this.storages.set(tensor.storage.key, tensor.storage);
    }
    const keys = value as string[];
    const listed = new Set(keys);
    for (const key of this.storages.keys()) {
      if (!listed.has(key)) throw new WeightsFormatError(`${this.what}: storage ${key} of the state dict is not in its storage list: the file is damaged — download it again`);
    }
    for (const key of keys) {
      if (!this.storages.has(key)) throw new WeightsFormatError(`${this.what}'s storage list names storage ${key}, which no tensor uses: the file is damaged — download it again`);
    }
    if (listed.size !== keys.length) throw new WeightsFormatError(`${this.what}'s storage list names a storage twice: the file is damaged — download it again`);
    this.storageKeys = keys;
    this.plan = TensorPlan.declare(this.tensors, keys, this.what, this.destination);
    this.nextStorage(0);
  }

  private nextStorage(index: number): void {
    this.storageIndex = index;
    this.stage = index < this.storageKeys.length ? 'storage size' : 'done';
    this.sizeFilled = 0;
  }

  private gatherStorageSize(bytes: Uint8Array): number {
    const taken = Math.min(bytes.length, 8 - this.sizeFilled);
    this.sizeField.set(bytes.subarray(0, taken), this.sizeFilled);
    this.sizeFilled += taken;
    if (this.sizeFilled < 8) return taken;
    const key = this.storageKeys[this.storageIndex];
    const storage = this.storages.get(key)!;
    const numel = new DataView(this.sizeField.buffer).getBigUint64(0, true);
    if (numel !== BigInt(storage.numel)) {
      throw new WeightsFormatError(
        `${this.what}: storage ${key} (at byte ${this.position + taken - 8}) has ${numel} elements where the state dict says ${storage.numel}: ` +
          'the file is damaged — download it again',
      );
    }
    this.storageOffset = 0;
    this.storageBytes = storage.numel * storage.dtype.bytes;
    this.stage = 'storage data';
    if (this.storageBytes === 0) this.nextStorage(this.storageIndex + 1);
    return taken;
  }

  private passStorageData(bytes: Uint8Array): number {
    const taken = Math.min(bytes.length, this.storageBytes - this.storageOffset);
    this.plan!.write(this.storageKeys[this.storageIndex], this.storageOffset, bytes.subarray(0, taken));
    this.storageOffset += taken;
    if (this.storageOffset === this.storageBytes) this.nextStorage(this.storageIndex + 1);
    return taken;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
