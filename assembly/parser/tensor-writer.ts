// Streams one tensor's source bytes into its slot: checks every value, converts the dtype and,
// for Conv1D weights, transposes. Bytes arrive in chunks of any size, so an element (or, for f16
// output, a pair of elements) split across pushes is gathered in `carry` first.
//
// Untransposed tensors leave a piece at a time through `scratch`, so WASM memory never holds a
// whole embedding table (GPT-2 XL's wte is 321 MB). A transposed tensor needs every input row
// before any output row is complete, so its output is allocated whole and each element is
// scattered straight to its place; it leaves in one piece.
import { numberText } from './config';
import { convertElements, findBadValue, scatterTransposed, sourceElementBytes, sourceValue } from './convert';
import { fail, shown } from './errors';
import { setPiece } from './output';
import { DTYPE_F16, Slot } from './slots';

const SCRATCH_BYTES: u32 = 1 << 20;

export class TensorWriter {
  private slotIndex: i32 = -1;
  private name: string = '';
  private sourceDtype: i32 = 0;
  private sourceBytes: u32 = 4; // per element
  private toF16: bool = false;
  private outputBytes: u32 = 4; // per element
  private transposed: bool = false;
  private sourceRows: u32 = 0;
  private sourceCols: u32 = 0;
  private count: u32 = 0;
  private done: u32 = 0;
  // f16 pieces hold whole u32 words (two halves) so every piece starts on a 4-byte boundary,
  // as GPU buffer writes require.
  private unitElements: u32 = 1;
  private readonly carry: usize = heap.alloc(8);
  private carryLength: u32 = 0;
  // Room for one pad half after a full piece.
  private readonly scratch: usize = heap.alloc(SCRATCH_BYTES + 4);
  private whole: usize = 0;
  private wholeBytes: u32 = 0;
  private emittedBytes: u64 = 0;

  /** Starts `name` (as the file spells it), stored as `sourceDtype`, bound for slot `slotIndex`. */
  begin(slotIndex: i32, slot: Slot, name: string, sourceDtype: i32, matrixDtype: i32): void {
    this.freeWhole();
    this.slotIndex = slotIndex;
    this.name = name;
    this.sourceDtype = sourceDtype;
    this.sourceBytes = sourceElementBytes(sourceDtype);
    this.toF16 = slot.dtype(matrixDtype) == DTYPE_F16;
    this.outputBytes = this.toF16 ? 2 : 4;
    this.transposed = slot.transposed;
    // The source is [in, out] = [cols, rows] of the slot.
    this.sourceRows = <u32>slot.cols;
    this.sourceCols = <u32>slot.rows;
    this.count = <u32>slot.elementCount;
    this.done = 0;
    this.unitElements = this.toF16 && !this.transposed ? 2 : 1;
    this.carryLength = 0;
    this.emittedBytes = 0;
    if (this.transposed) {
      this.wholeBytes = <u32>slot.byteLength(matrixDtype);
      this.whole = heap.alloc(this.wholeBytes);
      if (this.toF16 && (this.count & 1) != 0) store<u16>(this.whole + (<usize>this.count << 1), 0);
    }
  }

  get finished(): bool {
    return this.done == this.count;
  }

  /**
   * Consumes up to `length` bytes of this tensor's data (the caller never passes more than the
   * tensor has left) and sets the output piece when one is ready. Returns the bytes consumed, or
   * -1 on a bad value. Returns early when the scratch piece is full.
   */
  push(ptr: usize, length: u32): i32 {
    let consumed: u32 = 0;
    let scratchUsed: u32 = 0; // bytes of the piece being built (untransposed only)
    while (this.done < this.count && consumed < length) {
      const scratchRoom = (SCRATCH_BYTES - scratchUsed) / this.outputBytes;
      if (scratchRoom < this.unitElements) break;
      const remaining = this.count - this.done;
      const unitBytes = min(this.unitElements, remaining) * this.sourceBytes;
      let source: usize;
      let run: u32;
      if (this.carryLength > 0 || length - consumed < unitBytes) {
        const take = min(unitBytes - this.carryLength, length - consumed);
        memory.copy(this.carry + this.carryLength, ptr + consumed, take);
        this.carryLength += take;
        consumed += take;
        if (this.carryLength < unitBytes) break;
        this.carryLength = 0;
        source = this.carry;
        run = unitBytes / this.sourceBytes;
      } else {
        run = min(remaining, min((length - consumed) / this.sourceBytes, scratchRoom));
        if (run < remaining) run -= run % this.unitElements;
        source = ptr + consumed;
        consumed += run * this.sourceBytes;
      }
      const badIndex = findBadValue(source, run, this.sourceDtype, this.toF16);
      if (badIndex >= 0) return this.badValue(source, <u32>badIndex);
      convertElements(source, run, this.sourceDtype, this.scratch + scratchUsed, this.toF16);
      if (this.transposed) {
        scatterTransposed(this.scratch, run, this.outputBytes, this.whole, this.sourceRows, this.sourceCols, this.done);
      } else {
        scratchUsed += run * this.outputBytes;
      }
      this.done += run;
    }

    if (this.transposed) {
      if (this.finished) setPiece(this.slotIndex, 0, this.whole, this.wholeBytes);
    } else if (scratchUsed > 0) {
      if (this.finished && this.toF16 && (this.count & 1) != 0) {
        store<u16>(this.scratch + scratchUsed, 0);
        scratchUsed += 2;
      }
      setPiece(this.slotIndex, this.emittedBytes, this.scratch, scratchUsed);
      this.emittedBytes += scratchUsed;
    }
    return <i32>consumed;
  }

  /** Frees the transposed output once its piece has been taken (at the next push). */
  releaseFinished(): void {
    if (this.finished) this.freeWhole();
  }

  freeWhole(): void {
    if (this.whole != 0) heap.free(this.whole);
    this.whole = 0;
  }

  private badValue(source: usize, index: u32): i32 {
    const element = (this.done + index).toString();
    const value = sourceValue(source, index, this.sourceDtype);
    if (isNaN(value)) return fail(`tensor ${shown(this.name)} contains NaN at element ${element}: the checkpoint is damaged — download it again`);
    if (!isFinite(value)) {
      return fail(`tensor ${shown(this.name)} contains ${value > 0 ? 'Infinity' : '-Infinity'} at element ${element}: the checkpoint is damaged — download it again`);
    }
    return fail(`tensor ${shown(this.name)} element ${element} is ${numberText(value)}, beyond the largest f16 value (65504): load this model with f32 matrices`);
  }
}
