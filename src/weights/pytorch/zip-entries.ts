// Walks a zip front to back as it streams, guided by its central directory: checks the local
// header of each entry it is asked for as that header passes (PyTorch pads the header so the data
// is aligned, so only the header says where the data starts), hands over the entry's data, and
// skips every other byte.
import { WeightsFormatError } from '../weights-format-error.ts';
import type { ZipEntry } from './zip-directory.ts';

export interface ZipEntryHandler {
  /** The entry's next bytes, from byte `offset` of its data; valid only during the call. */
  data(entry: ZipEntry, offset: number, bytes: Uint8Array): void;
  /** The entry's last byte has been handed over. */
  end(entry: ZipEntry): void;
}

const LOCAL_HEADER = 0x04034b50;
const LOCAL_HEADER_BYTES = 30;

export class ZipEntryStream {
  private position = 0; // in the file
  private index = 0; // of the entry being read
  private header: Uint8Array | null = null; // its local header, while it is gathered
  private headerFilled = 0;
  private dataStart = -1; // of the entry being read, once its header is read

  /**
   * `entries`: the entries to read, sorted by where they start, all stored (uncompressed); their
   * data must end before `directoryStart`.
   */
  constructor(
    private readonly entries: readonly ZipEntry[],
    private readonly directoryStart: number,
    private readonly what: string,
    private readonly handler: ZipEntryHandler,
  ) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const entry = this.entries[this.index];
      if (!entry) {
        // The other entries, the directory, the end records.
        this.position += chunk.length - at;
        return;
      }
      if (this.position < entry.headerOffset) {
        const skipped = Math.min(chunk.length - at, entry.headerOffset - this.position);
        at += skipped;
        this.position += skipped;
      } else if (this.dataStart < 0) {
        at += this.gatherHeader(entry, chunk.subarray(at));
      } else {
        const offset = this.position - this.dataStart;
        const taken = Math.min(chunk.length - at, entry.size - offset);
        if (taken > 0) this.handler.data(entry, offset, chunk.subarray(at, at + taken));
        at += taken;
        this.position += taken;
        if (offset + taken === entry.size) this.finishEntry(entry);
      }
    }
  }

  /** Checks every entry asked for arrived whole. */
  end(): void {
    const entry = this.entries[this.index];
    if (entry) throw new WeightsFormatError(`${this.what} ended before its entry ${entry.name} was complete: the file was cut short — download it again`);
  }

  // Gathers the header (30 bytes, then its name and extra field); returns the bytes taken.
  private gatherHeader(entry: ZipEntry, bytes: Uint8Array): number {
    if (!this.header) {
      this.header = new Uint8Array(LOCAL_HEADER_BYTES);
      this.headerFilled = 0;
    }
    const taken = Math.min(bytes.length, this.header.length - this.headerFilled);
    this.header.set(bytes.subarray(0, taken), this.headerFilled);
    this.headerFilled += taken;
    this.position += taken;
    if (this.headerFilled < this.header.length) return taken;

    const header = new DataView(this.header.buffer);
    if (this.header.length === LOCAL_HEADER_BYTES) {
      if (header.getUint32(0, true) !== LOCAL_HEADER) this.damaged(entry, 'no local header where the directory says it starts');
      if (header.getUint16(8, true) !== entry.method) this.damaged(entry, 'a local header whose compression differs from the directory\'s');
      const grown = new Uint8Array(LOCAL_HEADER_BYTES + header.getUint16(26, true) + header.getUint16(28, true));
      grown.set(this.header);
      this.header = grown;
      if (this.headerFilled < grown.length) return taken;
    }
    const nameLength = header.getUint16(26, true);
    const name = new TextDecoder().decode(this.header.subarray(LOCAL_HEADER_BYTES, LOCAL_HEADER_BYTES + nameLength));
    if (name !== entry.name) this.damaged(entry, `a local header named ${JSON.stringify(name)}`);
    this.dataStart = this.position;
    this.header = null;
    const next = this.entries[this.index + 1];
    const limit = next ? next.headerOffset : this.directoryStart;
    if (this.dataStart + entry.size > limit) this.damaged(entry, 'data that runs into the next entry');
    if (entry.size === 0) this.finishEntry(entry);
    return taken;
  }

  private finishEntry(entry: ZipEntry): void {
    this.handler.end(entry);
    this.index++;
    this.dataStart = -1;
  }

  private damaged(entry: ZipEntry, detail: string): never {
    throw new WeightsFormatError(`${this.what} is not a valid zip (entry ${entry.name} has ${detail}): the file is damaged — download it again`);
  }
}
