// pytorch_model.bin, in either of torch.save's formats, read as it streams: what the file holds
// goes straight to the weights parser (a TensorDestination), and only the pickles and the zip's
// directory are held in memory, never a tensor. The first bytes say which format it is.
import { WeightsFormatError } from '../weights-format-error.ts';
import { LegacyCheckpoint } from './legacy-checkpoint.ts';
import type { TensorDestination } from './tensor-plan.ts';
import { openZipCheckpoint } from './zip-checkpoint.ts';
import type { ReadRange } from './zip-directory.ts';

export type { TensorDestination } from './tensor-plan.ts';
export type { ReadRange } from './zip-directory.ts';

/** Takes the file's bytes in order, in chunks of any size. */
export interface CheckpointReader {
  push(chunk: Uint8Array): void;
  /** Checks the whole checkpoint arrived. */
  end(): void;
}

const ZIP_SIGNATURE = [0x50, 0x4b, 0x03, 0x04]; // "PK\3\4"
const PICKLE_PROTOCOL = 0x80;

/**
 * Opens the checkpoint `name` of `size` bytes: reads its first bytes and, for the zip format, its
 * directory at the end (both with `read`), then returns the reader to stream the whole file into.
 */
export async function openPytorchCheckpoint(read: ReadRange, size: number, name: string, destination: TensorDestination): Promise<CheckpointReader> {
  const head = await read(0, Math.min(size, 64));
  if (ZIP_SIGNATURE.every((byte, i) => head[i] === byte)) return openZipCheckpoint(read, size, name, destination);
  if (head[0] === PICKLE_PROTOCOL) return new LegacyCheckpoint(name, destination);
  throw new WeightsFormatError(notCheckpointMessage(name, head));
}

// A file whose first bytes are text is usually a web page, a server's error or a Git LFS pointer.
function notCheckpointMessage(name: string, head: Uint8Array): string {
  const isText = head.length > 0 && head.every((byte) => (byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d);
  if (isText) {
    const text = new TextDecoder().decode(head).replace(/\s+/g, ' ').trim();
    return `${name} starts with the text "${text}…", so it is not a PyTorch checkpoint: it is probably a web page, an error message or ` +
      'a Git LFS pointer saved in its place — download the file again';
  }
  if (head.length === 0) return `${name} is empty: download it again`;
  return `${name} is neither of torch.save's formats (a zip, or pickles from before PyTorch 1.6): ` +
    'choose the model\'s pytorch_model.bin, or its model.safetensors';
}
