// The legacy gpt2_weights.bin export (little-endian): u32 count, then per tensor u32 name_len,
// name (UTF-8), u32 ndims, u32 dims[ndims], f32 data[prod(dims)]; nothing after the last
// tensor. Each record is checked against the file size before its data is read. ndims 0 is a
// scalar (one f32): exports of old checkpoints write their attn.masked_bias buffers that way.
import { SOURCE_F32 } from './convert';
import { fail, shapeText, shown } from './errors';
import { FileReader } from './file-reader';
import { NAME_SKIPPED } from './names';
import { pieceSlot } from './output';
import { ModelSession } from './session';
import { isValidUtf8 } from './utf8';

const MAX_TENSORS: u32 = 100_000;
const MAX_NAME_BYTES: u32 = 1024;
const MAX_RANK: u32 = 8;
// name_len, ndims 0 and one f32: the least a tensor record (a scalar) can take.
const MIN_RECORD_BYTES: u64 = 12;

const STAGE_COUNT = 0;
const STAGE_NAME_LENGTH = 1;
const STAGE_NAME = 2;
const STAGE_RANK = 3;
const STAGE_DIMS = 4;
const STAGE_DATA = 5;
const STAGE_DONE = 6;

export class LegacyBinReader extends FileReader {
  private stage: i32 = STAGE_COUNT;
  private count: u32 = 0;
  private index: u32 = 0; // of the tensor being read
  private name: string = '';
  private slot: i32 = NAME_SKIPPED;
  private dataLeft: u64 = 0;

  constructor(fileSize: u64, session: ModelSession) {
    super(fileSize, session);
    this.field.start(4);
  }

  end(): i32 {
    if (super.end() < 0) return -1;
    if (this.stage != STAGE_DONE) {
      return fail(`the file ends after ${this.index} complete tensors but its header says it holds ${this.count}: the download is incomplete — download it again`);
    }
    // The whole model is in this one file, so what it lacks is missing for good.
    const missing = this.session.missingMessage(true, 'the file is not a complete GPT-2 checkpoint — download it again, or choose a GPT-2 model');
    if (missing.length > 0) return fail(missing);
    return 0;
  }

  protected consume(ptr: usize, length: u32): i32 {
    let consumed: u32 = 0;
    while (consumed < length) {
      if (this.stage == STAGE_DONE) {
        return fail(`the file has ${this.fileSize - this.position} bytes after its last tensor (it holds ${this.count} tensors; the extra bytes start at byte ${this.position}): it is damaged or not a gpt2_weights.bin — download it again`);
      }
      if (this.stage == STAGE_DATA) {
        const left = <u32>min(<u64>(length - consumed), this.dataLeft);
        let taken: u32 = left;
        if (this.slot >= 0) {
          const written = this.session.writer.push(ptr + consumed, left);
          if (written < 0) return -1;
          taken = <u32>written;
        }
        consumed += taken;
        this.position += taken;
        this.dataLeft -= taken;
        if (this.dataLeft == 0) {
          if (this.slot >= 0) this.session.markWritten(this.slot);
          this.startTensor(this.index + 1);
        }
        if (pieceSlot >= 0) break;
        continue;
      }
      const taken = this.field.feed(ptr + consumed, length - consumed);
      consumed += taken;
      this.position += taken;
      if (!this.field.complete) break;
      if (this.readField() < 0) return -1;
    }
    return <i32>consumed;
  }

  private startTensor(index: u32): void {
    this.index = index;
    if (index == this.count) {
      this.stage = STAGE_DONE;
    } else {
      this.stage = STAGE_NAME_LENGTH;
      this.field.start(4);
    }
  }

  // Handles a completed count, name length, name, rank or dims field.
  private readField(): i32 {
    const field = this.field.buffer;
    // Where the field just read began, for messages.
    const fieldStart = this.position - this.field.size;
    if (this.stage == STAGE_COUNT) {
      this.count = load<u32>(field);
      if (this.count > MAX_TENSORS) {
        // Four bytes of text read as a count are always over the limit.
        const text = this.textInsteadOf('a gpt2_weights.bin');
        if (text.length > 0) return fail(text);
        return fail(`gpt2_weights.bin says it holds ${this.count} tensors; a GPT-2 has a few hundred: the file is damaged or not a gpt2_weights.bin — download it again`);
      }
      if (4 + <u64>this.count * MIN_RECORD_BYTES > this.fileSize) {
        return fail(`gpt2_weights.bin says it holds ${this.count} tensors, more than its ${this.fileSize} bytes can hold: the file is damaged or not a gpt2_weights.bin — download it again`);
      }
      this.startTensor(0);
    } else if (this.stage == STAGE_NAME_LENGTH) {
      const nameLength = load<u32>(field);
      if (nameLength > MAX_NAME_BYTES) {
        return fail(`tensor #${this.index} has a name of ${nameLength} bytes (length at byte ${fieldStart}); names are at most ${MAX_NAME_BYTES}: the file is damaged — download it again`);
      }
      if (this.position + nameLength > this.fileSize) return this.pastEnd(`tensor #${this.index}'s name`, <f64>(this.position + nameLength));
      this.stage = STAGE_NAME;
      this.field.start(nameLength);
    } else if (this.stage == STAGE_NAME) {
      if (!isValidUtf8(field, this.field.size)) {
        return fail(`tensor #${this.index}'s name (at byte ${fieldStart}) is not valid UTF-8: the file is damaged or not a gpt2_weights.bin — download it again`);
      }
      this.name = String.UTF8.decodeUnsafe(field, this.field.size);
      this.stage = STAGE_RANK;
      this.field.start(4);
    } else if (this.stage == STAGE_RANK) {
      const rank = load<u32>(field);
      if (rank > MAX_RANK) {
        return fail(`tensor ${shown(this.name)} has ${rank} dimensions (at byte ${fieldStart}); expected 0 to ${MAX_RANK}: the file is damaged — download it again`);
      }
      if (rank == 0) return this.readDims(field, 0);
      if (this.position + 4 * rank > this.fileSize) return this.pastEnd(`tensor ${shown(this.name)}'s shape`, <f64>(this.position + 4 * rank));
      this.stage = STAGE_DIMS;
      this.field.start(4 * rank);
    } else {
      return this.readDims(field, this.field.size / 4);
    }
    return 0;
  }

  private readDims(field: usize, rank: u32): i32 {
    const shape: u64[] = [];
    let elements: f64 = 1;
    for (let i: u32 = 0; i < rank; i++) {
      const dim = load<u32>(field + 4 * i);
      shape.push(dim);
      elements *= <f64>dim;
    }
    if (elements == 0) return fail(`tensor ${shown(this.name)} has shape ${shapeText(shape)} with a zero dimension: the file is damaged — download it again`);
    const dataEnd = <f64>this.position + elements * 4;
    if (dataEnd > <f64>this.fileSize) return this.pastEnd(`tensor ${shown(this.name)}`, dataEnd);

    this.slot = this.session.resolveTensor(this.name, shape);
    if (this.slot == -1) return -1;
    if (this.slot >= 0) {
      this.session.writer.begin(this.slot, this.session.slots[this.slot], this.name, SOURCE_F32, this.session.matrixDtype);
    }
    this.dataLeft = <u64>elements * 4;
    this.stage = STAGE_DATA;
    return 0;
  }
}
