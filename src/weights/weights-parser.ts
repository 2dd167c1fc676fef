// Typed wrapper around the AssemblyScript weights parser (assembly/parser/index.ts): copies input
// into WASM memory, turns its negative returns into WeightsFormatError, and hands each output
// piece to a callback as a view of WASM memory.
import type { Gpt2Config } from '../model/config.ts';
import type { MatrixDtype, WeightKind, WeightSlot } from '../model/weight-layout.ts';
import { WeightsFormatError } from './weights-format-error.ts';

export { WeightsFormatError };

/** Receives one output piece; `bytes` views WASM memory and is only valid during the call. */
export type PieceHandler = (slotIndex: number, byteOffset: number, bytes: Uint8Array) => void;

interface ParserExports {
  memory: WebAssembly.Memory;
  allocBytes(size: number): number;
  freeBytes(ptr: number): void;
  errorMessagePtr(): number;
  errorMessageLength(): number;
  parseConfigJson(ptr: number, length: number): number;
  parseConfigText(ptr: number, length: number): number;
  setConfig(vocabSize: number, nCtx: number, nEmbd: number, nLayer: number, nHead: number): number;
  configVocabSize(): number;
  configNCtx(): number;
  configNEmbd(): number;
  configNLayer(): number;
  configNHead(): number;
  beginModel(matrixDtype: number): number;
  slotKind(index: number): number;
  slotLayer(index: number): number;
  slotRows(index: number): number;
  slotCols(index: number): number;
  slotDtype(index: number): number;
  slotByteLength(index: number): number;
  beginSafetensorsFile(fileSize: number, isShard: number): number;
  beginLegacyBinFile(fileSize: number): number;
  beginTensorStream(): number;
  declareTensor(ptr: number, rank: number, dtypeLength: number, nameLength: number): number;
  beginTensorData(): number;
  pushBytes(ptr: number, length: number): number;
  outputSlot(): number;
  outputByteOffset(): number;
  outputPtr(): number;
  outputLength(): number;
  endFile(): number;
  endModel(): number;
}

// Incoming chunks are copied through this much WASM memory at a time.
const INPUT_BUFFER_BYTES = 1 << 20;

const MATRIX_DTYPE_CODES: Record<MatrixDtype, number> = { f32: 0, f16: 1 };

export class WeightsParser {
  private inputView: Uint8Array;

  private constructor(
    private readonly wasm: ParserExports,
    private readonly inputPtr: number,
  ) {
    this.inputView = new Uint8Array(wasm.memory.buffer, inputPtr, INPUT_BUFFER_BYTES);
  }

  static async create(wasm: WebAssembly.Module | BufferSource): Promise<WeightsParser> {
    const module = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm);
    let memory: WebAssembly.Memory | undefined;
    // AssemblyScript calls abort on a failed internal assertion: a parser bug, not a bad file.
    const abort = (message: number, file: number, line: number, column: number): never => {
      const read = (ptr: number) => (memory && ptr ? readAssemblyScriptString(memory, ptr) : '');
      throw new Error(`weights parser aborted: ${read(message)} (${read(file)}:${line}:${column})`);
    };
    const instance = await WebAssembly.instantiate(module, { env: { abort } });
    const exports = instance.exports as unknown as ParserExports;
    memory = exports.memory;
    return new WeightsParser(exports, exports.allocBytes(INPUT_BUFFER_BYTES) >>> 0);
  }

  /** Size of the parser's WASM memory, to check that it stays small. */
  get memoryBytes(): number {
    return this.wasm.memory.buffer.byteLength;
  }

  /** Reads and checks HF config.json. */
  configFromJson(bytes: Uint8Array): Gpt2Config {
    this.withBytes(bytes, (ptr, length) => this.check(this.wasm.parseConfigJson(ptr, length)));
    return this.currentConfig();
  }

  /** Reads and checks the legacy gpt2_config.txt. */
  configFromText(bytes: Uint8Array): Gpt2Config {
    this.withBytes(bytes, (ptr, length) => this.check(this.wasm.parseConfigText(ptr, length)));
    return this.currentConfig();
  }

  setConfig(config: Gpt2Config): Gpt2Config {
    this.check(this.wasm.setConfig(config.vocabSize, config.nCtx, config.nEmbd, config.nLayer, config.nHead));
    return this.currentConfig();
  }

  /** Starts a model with the current config; returns every slot, in slot-index order. */
  beginModel(matrixDtype: MatrixDtype): WeightSlot[] {
    const count = this.check(this.wasm.beginModel(MATRIX_DTYPE_CODES[matrixDtype]));
    const slots: WeightSlot[] = [];
    for (let i = 0; i < count; i++) {
      slots.push({
        kind: this.wasm.slotKind(i) as WeightKind,
        layer: this.wasm.slotLayer(i),
        rows: this.wasm.slotRows(i),
        cols: this.wasm.slotCols(i),
        dtype: this.wasm.slotDtype(i) === MATRIX_DTYPE_CODES.f16 ? 'f16' : 'f32',
        byteLength: this.wasm.slotByteLength(i),
      });
    }
    return slots;
  }

  /**
   * Starts a safetensors file of `size` bytes. With `shard`, the file is one of several, so
   * tensors it lacks are reported by endModel instead of right after its header.
   */
  beginSafetensorsFile(size: number, options: { shard?: boolean } = {}): void {
    this.check(this.wasm.beginSafetensorsFile(size, options.shard ? 1 : 0));
  }

  beginLegacyBinFile(size: number): void {
    this.check(this.wasm.beginLegacyBinFile(size));
  }

  /**
   * Starts a file whose container is read in JS (pytorch_model.bin): declare its tensors, call
   * beginTensorData, then push the bytes of the tensors the model uses, in declared order.
   */
  beginTensorStream(): void {
    this.check(this.wasm.beginTensorStream());
  }

  /**
   * Declares the stream's next tensor (`dtype` as safetensors spells it: F32, F16, BF16, …);
   * returns whether the model uses it, so whether its bytes are to be pushed. Throws if it does
   * not fit the model.
   */
  declareTensor(name: string, dtype: string, shape: readonly number[]): boolean {
    const encoder = new TextEncoder();
    const dtypeBytes = encoder.encode(dtype);
    const nameBytes = encoder.encode(name);
    const record = new Uint8Array(8 * shape.length + dtypeBytes.length + nameBytes.length);
    new Float64Array(record.buffer, 0, shape.length).set(shape);
    record.set(dtypeBytes, 8 * shape.length);
    record.set(nameBytes, 8 * shape.length + dtypeBytes.length);
    let slot = -1;
    this.withBytes(record, (ptr) => {
      slot = this.check(this.wasm.declareTensor(ptr, shape.length, dtypeBytes.length, nameBytes.length), [-2]);
    });
    return slot >= 0;
  }

  /** Every tensor is declared: throws if the model needs one the file lacks. */
  beginTensorData(): void {
    this.check(this.wasm.beginTensorData());
  }

  /** Feeds the file's next bytes (any size), calling `onPiece` for every output piece they complete. */
  push(chunk: Uint8Array, onPiece: PieceHandler): void {
    for (let start = 0; start < chunk.length; start += INPUT_BUFFER_BYTES) {
      const part = chunk.subarray(start, start + INPUT_BUFFER_BYTES);
      this.input().set(part);
      let offset = 0;
      while (offset < part.length) {
        const consumed = this.check(this.wasm.pushBytes(this.inputPtr + offset, part.length - offset));
        offset += consumed;
        const slot = this.wasm.outputSlot();
        if (slot >= 0) {
          const bytes = new Uint8Array(this.wasm.memory.buffer, this.wasm.outputPtr() >>> 0, this.wasm.outputLength() >>> 0);
          onPiece(slot, this.wasm.outputByteOffset(), bytes);
        } else if (consumed === 0) {
          throw new Error('weights parser made no progress: this is a bug in the parser');
        }
      }
    }
  }

  /** Checks the file arrived whole and closes it. */
  endFile(): void {
    this.check(this.wasm.endFile());
  }

  /** Checks every slot was written. */
  endModel(): void {
    this.check(this.wasm.endModel());
  }

  private currentConfig(): Gpt2Config {
    return {
      vocabSize: this.wasm.configVocabSize(),
      nCtx: this.wasm.configNCtx(),
      nEmbd: this.wasm.configNEmbd(),
      nLayer: this.wasm.configNLayer(),
      nHead: this.wasm.configNHead(),
    };
  }

  // Runs `use` with `bytes` copied into WASM memory: the input buffer, or a temporary one when
  // they do not fit.
  private withBytes(bytes: Uint8Array, use: (ptr: number, length: number) => void): void {
    if (bytes.length <= INPUT_BUFFER_BYTES) {
      this.input().set(bytes);
      use(this.inputPtr, bytes.length);
      return;
    }
    const ptr = this.wasm.allocBytes(bytes.length) >>> 0;
    try {
      new Uint8Array(this.wasm.memory.buffer, ptr, bytes.length).set(bytes);
      use(ptr, bytes.length);
    } finally {
      this.wasm.freeBytes(ptr);
    }
  }

  // The input buffer's view, renewed when WASM memory has grown (which detaches the old one).
  private input(): Uint8Array {
    if (this.inputView.buffer !== this.wasm.memory.buffer) {
      this.inputView = new Uint8Array(this.wasm.memory.buffer, this.inputPtr, INPUT_BUFFER_BYTES);
    }
    return this.inputView;
  }

  // `allowed`: negative results that are answers, not errors.
  private check(result: number, allowed: readonly number[] = []): number {
    if (result >= 0 || allowed.includes(result)) return result;
    const bytes = new Uint8Array(this.wasm.memory.buffer, this.wasm.errorMessagePtr() >>> 0, this.wasm.errorMessageLength() >>> 0);
    throw new WeightsFormatError(new TextDecoder().decode(bytes));
  }
}

// AssemblyScript strings are UTF-16 with their byte length in the 4 bytes before them.
function readAssemblyScriptString(memory: WebAssembly.Memory, ptr: number): string {
  const start = ptr >>> 0;
  const byteLength = new DataView(memory.buffer).getUint32(start - 4, true);
  return String.fromCharCode(...new Uint16Array(memory.buffer.slice(start, start + byteLength)));
}
