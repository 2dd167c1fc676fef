// HF safetensors: u64 LE header length, a JSON header
// {"<name>": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the
// data section (offsets are relative to its start). The whole header is checked before any data
// is read; then the used tensors are streamed in offset order, skipping gaps and unused tensors.
import { SOURCE_BF16, SOURCE_F16, SOURCE_F32 } from './convert';
import { fail, shapeText, shown } from './errors';
import { FileReader } from './file-reader';
import { JsonKind, JsonReader } from './json';
import { NAME_SKIPPED } from './names';
import { pieceSlot } from './output';
import { ModelSession } from './session';
import { invalidUtf8At } from './utf8';

const LENGTH_BYTES: u32 = 8;
// Real headers are tens of KB; the limit only stops a damaged length from allocating gigabytes.
const MAX_HEADER_BYTES: u64 = 100_000_000;
const MIN_HEADER_BYTES: u64 = 2; // "{}"
const MAX_SAFE_INTEGER: f64 = 9007199254740991;

const STAGE_LENGTH = 0;
const STAGE_HEADER = 1;
const STAGE_DATA = 2;

class TensorEntry {
  dtype: string = '';
  shape: u64[] = [];
  begin: u64 = 0;
  end: u64 = 0;
  hasOffsets: bool = false;
  slot: i32 = NAME_SKIPPED;
  sourceDtype: i32 = SOURCE_F32;

  constructor(readonly name: string) {}

  offsetsText(): string {
    return `[${this.begin}, ${this.end}]`;
  }
}

export class SafetensorsReader extends FileReader {
  private stage: i32 = STAGE_LENGTH;
  private dataStart: u64 = 0; // file offset of the data section
  private plan: TensorEntry[] = []; // the tensors to load, by increasing offset
  private next: i32 = 0; // index into plan
  private writing: bool = false;

  /**
   * `isShard`: the file is one of several holding the model, so tensors missing from its header
   * are not an error here; ModelSession reports them at endModel. A lone file reports them as
   * soon as its header is read, before any data is streamed.
   */
  constructor(fileSize: u64, session: ModelSession, private readonly isShard: bool) {
    super(fileSize, session);
    this.field.start(LENGTH_BYTES);
  }

  protected consume(ptr: usize, length: u32): i32 {
    let consumed: u32 = 0;
    while (consumed < length) {
      if (this.stage != STAGE_DATA) {
        const taken = this.field.feed(ptr + consumed, length - consumed);
        consumed += taken;
        this.position += taken;
        if (!this.field.complete) break;
        const result = this.stage == STAGE_LENGTH ? this.readHeaderLength() : this.readHeader();
        if (result < 0) return -1;
        continue;
      }

      const dataPosition = this.position - this.dataStart;
      const left = length - consumed;
      if (this.next == this.plan.length) {
        // Unused tensors and padding after the last tensor we load.
        consumed = length;
        this.position += left;
        break;
      }
      const entry = this.plan[this.next];
      if (dataPosition < entry.begin) {
        const skipped = <u32>min(<u64>left, entry.begin - dataPosition);
        consumed += skipped;
        this.position += skipped;
        continue;
      }
      const writer = this.session.writer;
      if (!this.writing) {
        writer.begin(entry.slot, this.session.slots[entry.slot], entry.name, entry.sourceDtype, this.session.matrixDtype);
        this.writing = true;
      }
      const taken = writer.push(ptr + consumed, <u32>min(<u64>left, entry.end - dataPosition));
      if (taken < 0) return -1;
      consumed += taken;
      this.position += taken;
      if (writer.finished) {
        this.session.markWritten(entry.slot);
        this.writing = false;
        this.next++;
      }
      if (pieceSlot >= 0) break;
    }
    return <i32>consumed;
  }

  private readHeaderLength(): i32 {
    const headerLength = load<u64>(this.field.buffer);
    // Eight bytes of text read as a length are always over the limit, so only then look for text.
    if (headerLength > this.fileSize - LENGTH_BYTES || headerLength < MIN_HEADER_BYTES || headerLength > MAX_HEADER_BYTES) {
      const text = this.textInsteadOf('a safetensors file');
      if (text.length > 0) return fail(text);
    }
    if (headerLength > this.fileSize - LENGTH_BYTES) {
      return fail(`safetensors header length ${headerLength} is larger than the file (${this.fileSize} bytes): this is not a safetensors file, or it was cut short — download it again`);
    }
    if (headerLength < MIN_HEADER_BYTES) {
      return fail(`safetensors header length ${headerLength} is too short for a JSON object: this is not a safetensors file, or it is damaged — download it again`);
    }
    if (headerLength > MAX_HEADER_BYTES) {
      return fail(`safetensors header length ${headerLength} is over the ${MAX_HEADER_BYTES} byte limit: this is not a safetensors file, or it is damaged — download it again`);
    }
    this.dataStart = LENGTH_BYTES + headerLength;
    this.field.start(<u32>headerLength);
    this.stage = STAGE_HEADER;
    return 0;
  }

  private readHeader(): i32 {
    const entries: TensorEntry[] = [];
    if (this.parseHeaderJson(entries) < 0) return -1;
    this.field.free();
    const dataSize = this.fileSize - this.dataStart;
    for (let i = 0; i < entries.length; i++) {
      if (this.checkEntry(entries[i], dataSize) < 0) return -1;
    }
    if (checkOverlaps(entries) < 0) return -1;
    if (!this.isShard) {
      const missing = this.session.missingMessage(false, 'the file is not a complete GPT-2 checkpoint — download it again, or choose a GPT-2 model');
      if (missing.length > 0) return fail(missing);
    }
    for (let i = 0; i < entries.length; i++) {
      if (entries[i].slot >= 0) this.plan.push(entries[i]);
    }
    this.plan.sort(byOffset);
    this.stage = STAGE_DATA;
    return 0;
  }

  private parseHeaderJson(entries: TensorEntry[]): i32 {
    // The JSON reader would quietly turn damaged bytes in a name into U+FFFD.
    const badByte = invalidUtf8At(this.field.buffer, this.field.size);
    if (badByte >= 0) {
      return fail(`the safetensors header is not valid UTF-8 (byte ${<u64>badByte + LENGTH_BYTES} of the file): the file is damaged or not a safetensors file — download it again`);
    }
    const json = new JsonReader(this.field.buffer, this.field.size);
    if (json.peek() != JsonKind.Object) {
      json.skipValue();
      if (json.failed) return syntaxError(json);
      return fail('the safetensors header is not a JSON object: this is not a safetensors file, or it is damaged — download it again');
    }
    json.beginObject();
    while (json.nextMember()) {
      const name = json.key;
      if (name == '__metadata__') {
        json.skipValue();
        continue;
      }
      const entry = new TensorEntry(name);
      if (readEntry(json, entry) < 0) return -1;
      entries.push(entry);
    }
    json.finish();
    if (json.failed) return syntaxError(json);
    return 0;
  }

  private checkEntry(entry: TensorEntry, dataSize: u64): i32 {
    if (!entry.hasOffsets || entry.dtype.length == 0) {
      return fail(`tensor ${shown(entry.name)} in the safetensors header has no ${entry.hasOffsets ? 'dtype' : 'data_offsets'}: the header is damaged — download it again`);
    }
    if (entry.begin > entry.end) {
      return fail(`tensor ${shown(entry.name)} data_offsets ${entry.offsetsText()} end before they begin: the header is damaged — download it again`);
    }
    if (entry.end > dataSize) return this.pastEnd(`tensor ${shown(entry.name)}`, <f64>(this.dataStart + entry.end));

    entry.slot = this.session.resolveTensor(entry.name, entry.shape);
    if (entry.slot == -1) return -1;
    if (entry.slot == NAME_SKIPPED) return 0;
    if (entry.dtype == 'F32') entry.sourceDtype = SOURCE_F32;
    else if (entry.dtype == 'F16') entry.sourceDtype = SOURCE_F16;
    else if (entry.dtype == 'BF16') entry.sourceDtype = SOURCE_BF16;
    else return fail(`unsupported dtype ${shown(entry.dtype)} for tensor ${shown(entry.name)}: only F32, F16 and BF16 are supported — use a copy of the checkpoint saved in one of those`);

    const byteCount = <u64>this.session.slots[entry.slot].elementCount * (entry.sourceDtype == SOURCE_F32 ? 4 : 2);
    if (entry.end - entry.begin != byteCount) {
      return fail(`tensor ${shown(entry.name)} data_offsets ${entry.offsetsText()} hold ${entry.end - entry.begin} bytes but ${shown(entry.dtype)} ${shapeText(entry.shape)} needs ${byteCount}: the header is damaged — download it again`);
    }
    return 0;
  }
}

// Reads one tensor's {"dtype", "shape", "data_offsets"} object; other keys are ignored.
function readEntry(json: JsonReader, entry: TensorEntry): i32 {
  if (json.peek() != JsonKind.Object) {
    json.skipValue();
    if (json.failed) return syntaxError(json);
    return fail(`tensor ${shown(entry.name)} in the safetensors header is not an object with dtype, shape and data_offsets: the header is damaged — download it again`);
  }
  json.beginObject();
  while (json.nextMember()) {
    const key = json.key;
    if (key == 'dtype') {
      if (json.peek() != JsonKind.String) return badField(json, entry, 'a dtype that is not a string');
      entry.dtype = json.readString();
    } else if (key == 'shape') {
      // A repeated key replaces the earlier value, as in JSON.parse and Python's json.
      entry.shape = [];
      if (!readWholeNumbers(json, entry.shape)) return badField(json, entry, 'a shape that is not a list of whole numbers');
    } else if (key == 'data_offsets') {
      const offsets: u64[] = [];
      if (!readWholeNumbers(json, offsets) || offsets.length != 2) return badField(json, entry, 'data_offsets that are not two whole numbers');
      entry.begin = offsets[0];
      entry.end = offsets[1];
      entry.hasOffsets = true;
    } else {
      json.skipValue();
    }
  }
  if (json.failed) return syntaxError(json);
  return 0;
}

// Appends an array of non-negative integers (< 2^53) to `values`; false if it is anything else.
function readWholeNumbers(json: JsonReader, values: u64[]): bool {
  if (json.peek() != JsonKind.Array) return false;
  json.beginArray();
  while (json.nextItem()) {
    if (json.peek() != JsonKind.Number) return false;
    const value = json.readNumber();
    if (!(value >= 0 && value <= MAX_SAFE_INTEGER && Math.floor(value) == value)) return false;
    values.push(<u64>value);
  }
  return !json.failed;
}

function badField(json: JsonReader, entry: TensorEntry, what: string): i32 {
  if (json.failed) return syntaxError(json);
  return fail(`tensor ${shown(entry.name)} in the safetensors header has ${what}: the header is damaged — download it again`);
}

function syntaxError(json: JsonReader): i32 {
  return fail(`the safetensors header is not valid JSON: ${json.error} at byte ${<u64>json.errorPos + LENGTH_BYTES} of the file: the file is damaged or not a safetensors file — download it again`);
}

// No two tensors may share data bytes (empty tensors occupy none).
function checkOverlaps(entries: TensorEntry[]): i32 {
  const sorted = entries.slice(0);
  sorted.sort(byOffset);
  let reach: TensorEntry | null = null; // the tensor reaching furthest so far
  for (let i = 0; i < sorted.length; i++) {
    const entry = sorted[i];
    if (entry.begin == entry.end) continue;
    if (reach != null && entry.begin < reach.end) {
      return fail(`tensor ${shown(reach.name)} data_offsets ${reach.offsetsText()} overlap tensor ${shown(entry.name)} ${entry.offsetsText()}: the header is damaged — download it again`);
    }
    if (reach == null || entry.end > reach.end) reach = entry;
  }
  return 0;
}

function byOffset(a: TensorEntry, b: TensorEntry): i32 {
  if (a.begin != b.begin) return a.begin < b.begin ? -1 : 1;
  if (a.end != b.end) return a.end < b.end ? -1 : 1;
  return 0;
}
