// What a PyTorch state dict's pickle holds, read without running it: the globals torch.save writes
// for one (OrderedDict, the tensor rebuilders, storage types), its storages' persistent ids, and
// each tensor's storage, offset, shape and strides. Both of PyTorch's formats pickle a state dict
// this way; they differ in the persistent id's length and in where the storages' bytes are.
import { WeightsFormatError } from '../weights-format-error.ts';
import { PickleDict, PickleGlobal, PickleTuple, describe, readPickle } from './pickle.ts';

/** A storage type's element: its name in torch (FloatStorage), in safetensors (F32), and its size. */
export interface StorageDtype {
  storageType: string;
  safetensors: string;
  bytes: number;
}

// Every storage type torch.save writes. Only F32, F16 and BF16 hold weights the parser reads, but
// a checkpoint's other tensors (the uint8 attn.bias masks of 2019-2020 files) have other types,
// and are skipped as long as the model does not use them.
const STORAGE_DTYPES: StorageDtype[] = [
  { storageType: 'FloatStorage', safetensors: 'F32', bytes: 4 },
  { storageType: 'HalfStorage', safetensors: 'F16', bytes: 2 },
  { storageType: 'BFloat16Storage', safetensors: 'BF16', bytes: 2 },
  { storageType: 'DoubleStorage', safetensors: 'F64', bytes: 8 },
  { storageType: 'LongStorage', safetensors: 'I64', bytes: 8 },
  { storageType: 'IntStorage', safetensors: 'I32', bytes: 4 },
  { storageType: 'ShortStorage', safetensors: 'I16', bytes: 2 },
  { storageType: 'CharStorage', safetensors: 'I8', bytes: 1 },
  { storageType: 'ByteStorage', safetensors: 'U8', bytes: 1 },
  { storageType: 'BoolStorage', safetensors: 'BOOL', bytes: 1 },
];

/** One storage: a run of elements of one dtype that tensors view. `key` names its bytes in the file. */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: StorageDtype,
    readonly numel: number,
  ) {}
}

/** A tensor as _rebuild_tensor_v2 describes it: a view of `storage`, in elements. */
export class StoredTensor {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

export interface NamedTensor {
  name: string;
  tensor: StoredTensor;
}

/** The zip format's persistent ids have 5 items; the legacy format's add a view's metadata. */
export type PersistentIdFormat = 'zip' | 'legacy';

/**
 * Reads the state dict pickled at the start of `bytes`: every tensor, in the pickle's order, and
 * the pickle's length. Throws WeightsFormatError for anything but a dict of tensors.
 */
export function readStateDict(bytes: Uint8Array, what: string, format: PersistentIdFormat): { tensors: NamedTensor[]; length: number } {
  const { value, length } = readPickle(bytes, { what, globals: stateDictGlobals(what), persistentLoad: (id) => storageFromPersistentId(id, format, what) });
  if (!(value instanceof PickleDict)) {
    throw new WeightsFormatError(`${what} holds ${describe(value)}, not a state dict: it is not a GPT-2 checkpoint — choose a GPT-2 model`);
  }
  const tensors: NamedTensor[] = [];
  for (const [name, tensor] of value.entries) {
    if (typeof name !== 'string') throw new WeightsFormatError(`${what} has a state dict entry named by ${describe(name)}: the file is damaged — download it again`);
    if (!(tensor instanceof StoredTensor)) {
      throw new WeightsFormatError(
        `${what}'s entry ${JSON.stringify(name)} is ${tensor instanceof StorageRef ? 'a bare storage' : describe(tensor)}, not a tensor: ` +
          'the file is not a plain state dict — use the checkpoint\'s model.safetensors, or save model.state_dict() alone with torch.save',
      );
    }
    tensors.push({ name, tensor });
  }
  return { tensors, length };
}

function stateDictGlobals(what: string): Map<string, PickleGlobal> {
  const globals = new Map<string, PickleGlobal>();
  const allow = (name: string, call?: (args: readonly unknown[]) => unknown) => globals.set(name, new PickleGlobal(name, call));
  allow('collections.OrderedDict', (args) => {
    if (args.length > 0) damaged(what, 'OrderedDict called with arguments');
    return new PickleDict();
  });
  allow('torch._utils._rebuild_tensor_v2', (args) => rebuildTensor(args, what));
  // nn.Parameter: its tensor, which is all the weights need.
  allow('torch._utils._rebuild_parameter', (args) => {
    if (args.length !== 3 || !(args[0] instanceof StoredTensor)) damaged(what, '_rebuild_parameter called with arguments other than a tensor, requires_grad and hooks');
    return args[0];
  });
  for (const dtype of STORAGE_DTYPES) allow(`torch.${dtype.storageType}`);
  return globals;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
function rebuildTensor(args: readonly unknown[], what: string): StoredTensor {
  const [storage, offset, size, stride] = args;
  if (args.length < 6 || args.length > 7 || !(storage instanceof StorageRef)) {
    damaged(what, '_rebuild_tensor_v2 called with arguments other than a storage, offset, size, stride, requires_grad and hooks');
  }
  const shape = wholeNumbers(size, what, 'size');
  const strides = wholeNumbers(stride, what, 'stride');
  if (shape.length !== strides.length) damaged(what, `a tensor with ${shape.length} dimensions and ${strides.length} strides`);
  if (!isWholeNumber(offset)) damaged(what, `a tensor at storage offset ${String(offset)}`);
  return new StoredTensor(storage, offset, shape, strides);
}

// ('storage', storage type, key, location, numel) in the zip format; the legacy format adds the
// metadata of a view of a larger storage, which torch has written as None since 2018.
function storageFromPersistentId(id: unknown, format: PersistentIdFormat, what: string): StorageRef {
  const items = id instanceof PickleTuple ? id.items : [];
  const [tag, type, key, location, numel, view] = items;
  const length = format === 'zip' ? 5 : 6;
  if (items.length !== length || tag !== 'storage' || typeof key !== 'string' || typeof location !== 'string' || !isWholeNumber(numel)) {
    damaged(what, `a persistent id that is not ('storage', type, key, location, size${format === 'legacy' ? ', view' : ''})`);
  }
  if (format === 'legacy' && view !== null) {
    throw new WeightsFormatError(
      `${what} stores tensors as views of larger storages, as PyTorch before 1.0 did, which this reader does not read: ` +
        'use the checkpoint\'s model.safetensors, or load and re-save it with a current torch.save',
    );
  }
  const dtype = STORAGE_DTYPES.find((candidate) => type instanceof PickleGlobal && type.name === `torch.${candidate.storageType}`);
  if (!dtype) damaged(what, `a storage whose type is ${describe(type)}`);
  return new StorageRef(key, dtype, numel);
}

function wholeNumbers(value: unknown, what: string, field: string): number[] {
  if (!(value instanceof PickleTuple) || !value.items.every(isWholeNumber)) damaged(what, `a tensor ${field} that is not a tuple of whole numbers`);
  return value.items as number[];
}

function isWholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function damaged(what: string, detail: string): never {
  throw new WeightsFormatError(`${what} does not describe its tensors as torch.save does (${detail}): the file is damaged — download it again`);
}
