// The central directory of a zip (PyTorch's format since 1.6), read from the end of the file before
// any entry is streamed: it is the only complete list of the entries, with their sizes and where
// each starts (PyTorch's local headers leave the sizes to a descriptor after the data). Zip64
// records, which files beyond 4 GB need, are followed.
import { WeightsFormatError } from '../weights-format-error.ts';

export interface ZipEntry {
  name: string;
  /** 0: stored; anything else is compressed. */
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  /** Where the entry's local header starts. */
  headerOffset: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** Where the central directory starts: every entry's data ends before it. */
  start: number;
}

/** Reads `end - start` bytes of the file at `start`. */
export type ReadRange = (start: number, end: number) => Promise<Uint8Array>;

const END_RECORD = 0x06054b50;
const END_RECORD_BYTES = 22;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_END_RECORD = 0x06064b50;
const ZIP64_END_RECORD_BYTES = 56;
const DIRECTORY_ENTRY = 0x02014b50;
const DIRECTORY_ENTRY_BYTES = 46;
const LOCAL_HEADER_BYTES = 30;
const ZIP64_EXTRA = 0x0001;
const MAX_COMMENT = 0xffff;
// A GPT-2 checkpoint's directory is tens of KB; the limit stops a damaged size from reading gigabytes.
const MAX_DIRECTORY_BYTES = 64 << 20;

/** Reads the directory of the zip file of `fileSize` bytes; `what` names it in messages. */
export async function readZipDirectory(read: ReadRange, fileSize: number, what: string): Promise<ZipDirectory> {
  const tailStart = Math.max(0, fileSize - (END_RECORD_BYTES + MAX_COMMENT + ZIP64_LOCATOR_BYTES));
  const tail = await read(tailStart, fileSize);
  const tailView = view(tail);
  const endAt = findEndRecord(tail);
  if (endAt < 0) {
    throw new WeightsFormatError(
      `${what} is a zip (PyTorch's format since 1.6) but its end holds no zip directory: the file was cut short — download it again`,
    );
  }
  if (tailView.getUint16(endAt + 4, true) !== 0 || tailView.getUint16(endAt + 6, true) !== 0) {
    throw new WeightsFormatError(`${what} is one part of a zip split over several files, which PyTorch never writes: use the file as torch.save wrote it`);
  }
  let count = tailView.getUint16(endAt + 10, true);
  let size = tailView.getUint32(endAt + 12, true);
  let start = tailView.getUint32(endAt + 16, true);
  // Where the directory must end: at the (zip64) end record.
  let directoryEnd = tailStart + endAt;

  if (count === 0xffff || size === 0xffffffff || start === 0xffffffff) {
    const locatorAt = endAt - ZIP64_LOCATOR_BYTES;
    if (locatorAt < 0 || tailView.getUint32(locatorAt, true) !== ZIP64_LOCATOR) damaged(what, 'its zip64 end record is not where the directory says');
    const recordOffset = u64(tailView, locatorAt + 8, what);
    if (recordOffset + ZIP64_END_RECORD_BYTES > tailStart + locatorAt) damaged(what, 'its zip64 end record lies past the end');
    const record = view(await read(recordOffset, recordOffset + ZIP64_END_RECORD_BYTES));
    if (record.getUint32(0, true) !== ZIP64_END_RECORD) damaged(what, 'its zip64 end record is not where the directory says');
    count = u64(record, 32, what);
    size = u64(record, 40, what);
    start = u64(record, 48, what);
    directoryEnd = recordOffset;
  }

  if (start + size > directoryEnd) damaged(what, `its directory (${size} bytes at byte ${start}) runs past the end of the file`);
  if (size > MAX_DIRECTORY_BYTES) damaged(what, `its directory says it is ${size} bytes`);
  const directory = start >= tailStart ? tail.subarray(start - tailStart, start - tailStart + size) : await read(start, start + size);
  return { entries: readEntries(directory, count, start, what), start };
}

// The end record is the last 22 bytes, unless the zip has a comment after it.
function findEndRecord(tail: Uint8Array): number {
  const tailView = view(tail);
  for (let at = tail.length - END_RECORD_BYTES; at >= 0; at--) {
    if (tailView.getUint32(at, true) === END_RECORD && at + END_RECORD_BYTES + tailView.getUint16(at + 20, true) === tail.length) return at;
  }
  return -1;
}

function readEntries(directory: Uint8Array, count: number, start: number, what: string): ZipEntry[] {
  const directoryView = view(directory);
  const decoder = new TextDecoder();
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + DIRECTORY_ENTRY_BYTES > directory.length || directoryView.getUint32(at, true) !== DIRECTORY_ENTRY) {
      damaged(what, `its directory holds ${i} entries, not the ${count} it says`);
    }
    const nameLength = directoryView.getUint16(at + 28, true);
    const extraLength = directoryView.getUint16(at + 30, true);
    const commentLength = directoryView.getUint16(at + 32, true);
    const next = at + DIRECTORY_ENTRY_BYTES + nameLength + extraLength + commentLength;
    if (next > directory.length) damaged(what, `its directory's entry ${i} runs past the directory's end`);
    const nameAt = at + DIRECTORY_ENTRY_BYTES;
    const entry: ZipEntry = {
      name: decoder.decode(directory.subarray(nameAt, nameAt + nameLength)),
      flags: directoryView.getUint16(at + 8, true),
      method: directoryView.getUint16(at + 10, true),
      compressedSize: directoryView.getUint32(at + 20, true),
      size: directoryView.getUint32(at + 24, true),
      headerOffset: directoryView.getUint32(at + 42, true),
    };
    readZip64Extra(entry, directory.subarray(nameAt + nameLength, nameAt + nameLength + extraLength), what);
    if (entry.headerOffset + LOCAL_HEADER_BYTES > start) damaged(what, `entry ${entry.name} starts past the zip's directory`);
    entries.push(entry);
    at = next;
  }
  return entries;
}

// Zip64 keeps, in an extra field, the 8-byte values of the fields that are 0xffffffff, in order.
function readZip64Extra(entry: ZipEntry, extra: Uint8Array, what: string): void {
  const extraView = view(extra);
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extraView.getUint16(at, true);
    const length = extraView.getUint16(at + 2, true);
    if (id === ZIP64_EXTRA) {
      let field = at + 4;
      const end = field + length;
      for (const key of ['size', 'compressedSize', 'headerOffset'] as const) {
        if (entry[key] !== 0xffffffff) continue;
        if (field + 8 > end || end > extra.length) damaged(what, `entry ${entry.name}'s zip64 sizes are missing`);
        entry[key] = u64(extraView, field, what);
        field += 8;
      }
      return;
    }
    at += 4 + length;
  }
}

function u64(data: DataView, at: number, what: string): number {
  const value = data.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) damaged(what, `a size of ${value} bytes`);
  return Number(value);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function damaged(what: string, detail: string): never {
  throw new WeightsFormatError(`${what} is not a valid zip (${detail}): the file is damaged or cut short — download it again`);
}
