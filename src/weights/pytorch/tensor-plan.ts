// Which bytes of which storage each tensor takes, in the order the file brings them; and, as the
// storages stream by, the hand-over of the used tensors' bytes to the weights parser. Nothing is
// buffered: the parser gets the bytes of the chunk in hand.
import { WeightsFormatError } from '../weights-format-error.ts';
import type { NamedTensor, StoredTensor } from './state-dict.ts';

/** Where a checkpoint's tensors go: the weights parser, which lays them out for a backend. */
export interface TensorDestination {
  /** Claims the tensor's slot; false when the model does not use it. Throws if it does not fit the model. */
  declare(name: string, dtype: string, shape: readonly number[]): boolean;
  /** Every tensor is declared: throws if the model needs one the file lacks. */
  beginData(): void;
  /** The used tensors' bytes, back to back, in declared order. */
  write(bytes: Uint8Array): void;
}

interface PlannedTensor {
  name: string;
  storageKey: string;
  // Byte range within the storage.
  begin: number;
  end: number;
}

export class TensorPlan {
  private next = 0; // index into `used`

  private constructor(
    private readonly used: PlannedTensor[],
    private readonly what: string,
    private readonly destination: TensorDestination,
  ) {}

  /**
   * Checks every tensor against its storage, declares them all to `destination` in the order
   * their bytes will come (`storageOrder`: the storage keys in file order; each tensor's storage
   * must be in it), then opens the data.
   */
  static declare(tensors: NamedTensor[], storageOrder: readonly string[], what: string, destination: TensorDestination): TensorPlan {
    const order = new Map(storageOrder.map((key, index) => [key, index]));
    const planned = tensors.map(({ name, tensor }) => ({ name, tensor, ...byteRange(name, tensor, what) }));
    const rank = (key: string) => order.get(key) ?? -1;
    planned.sort((a, b) => rank(a.tensor.storage.key) - rank(b.tensor.storage.key) || a.begin - b.begin || a.end - b.end);

    const used: PlannedTensor[] = [];
    for (const { name, tensor, begin, end } of planned) {
      if (!destination.declare(name, tensor.storage.dtype.safetensors, tensor.shape)) continue;
      if (!isContiguous(tensor)) {
        throw new WeightsFormatError(
          `${what}: tensor ${name} has strides [${tensor.stride.join(', ')}] for shape [${tensor.shape.join(', ')}], so it is a ` +
            'rearranged view of its storage, which this reader does not undo — re-save the state dict after calling ' +
            '.contiguous() on every tensor, or use the checkpoint\'s model.safetensors',
        );
      }
      const previous = used.at(-1);
      if (previous && previous.storageKey === tensor.storage.key && begin < previous.end) {
        throw new WeightsFormatError(
          `${what}: tensors ${previous.name} and ${name} share bytes of storage ${tensor.storage.key}, and each weight needs ` +
            'its own — save a copy of the state dict whose tensors are cloned, or use the checkpoint\'s model.safetensors',
        );
      }
      used.push({ name, storageKey: tensor.storage.key, begin, end });
    }
    destination.beginData();
    return new TensorPlan(used, what, destination);
  }

  /** Storage `key`'s next bytes, from byte `offset` of it; storages come in the planned order. */
  write(key: string, offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.length;
    while (this.next < this.used.length) {
      const tensor = this.used[this.next];
      if (tensor.storageKey !== key || tensor.begin >= end) return;
      const from = Math.max(tensor.begin, offset);
      const to = Math.min(tensor.end, end);
      if (to > from) this.destination.write(bytes.subarray(from - offset, to - offset));
      if (tensor.end > end) return;
      this.next++;
    }
  }

  /** Checks every used tensor's bytes came (the readers check storage sizes first, so a bug if not). */
  finish(): void {
    const tensor = this.used[this.next];
    if (tensor) throw new WeightsFormatError(`${this.what}: the file ended before the bytes of tensor ${tensor.name}: it was cut short — download it again`);
  }
}

/** The bytes of its storage a tensor views: from its first element to one past its last. */
function byteRange(name: string, tensor: StoredTensor, what: string): { begin: number; end: number } {
  const { storage, shape, stride, offset } = tensor;
  const empty = shape.includes(0);
  // The last element's index: the offset plus, along each dimension, the last step.
  const last = offset + shape.reduce((sum, size, i) => sum + (size - 1) * stride[i], 0);
  const elements = empty ? 0 : last + 1 - offset;
  if (!empty && last >= storage.numel) {
    throw new WeightsFormatError(
      `${what}: tensor ${name} (shape [${shape.join(', ')}] at offset ${offset}) needs element ${last} of storage ${storage.key}, ` +
        `which holds only ${storage.numel}: the file is damaged — download it again`,
    );
  }
  const bytes = storage.dtype.bytes;
  return { begin: offset * bytes, end: (offset + elements) * bytes };
}

// Row-major with no gaps; a dimension of size 1 may have any stride, as torch allows.
function isContiguous(tensor: StoredTensor): boolean {
  let expected = 1;
  for (let i = tensor.shape.length - 1; i >= 0; i--) {
    if (tensor.shape[i] !== 1 && tensor.stride[i] !== expected) return false;
    expected *= tensor.shape[i];
  }
  return true;
}
