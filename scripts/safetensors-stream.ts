// Reads a safetensors file front to back from a stream of byte chunks (an HTTP body, a file read
// stream): first the header, then each tensor's bytes in file order, one chunk at a time, so a
// 6 GB checkpoint passes through without ever being held in memory.
// Layout: u64 little-endian header length, a JSON header { name: { dtype, shape, data_offsets } },
// then the tensor data, each tensor at data_offsets relative to the end of the header.

/** Element sizes of every dtype the safetensors format defines, so any tensor can be stepped over. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
};

// The safetensors library refuses headers over 100 MB; a larger length means this is some other file.
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  elementBytes: number;
  dataBegin: number; // byte offsets from the start of the data section
  dataEnd: number;
}

/** One piece of a tensor's data; its length is a whole number of elements. */
export interface TensorDataPiece {
  tensor: SafetensorsTensor;
  byteOffset: number; // where `bytes` starts within the tensor's data
  bytes: Uint8Array; // valid until the next piece is asked for
}

/** Hands out the bytes of an async chunk source in exact amounts, keeping at most one chunk back. */
class ChunkReader {
  private pending: Uint8Array = new Uint8Array(0);
  bytesRead = 0;

  constructor(private readonly chunks: AsyncIterator<Uint8Array>) {}

  /** Up to `maxBytes` bytes (fewer when a chunk ends first); an empty array at the end of the input. */
  async next(maxBytes: number): Promise<Uint8Array> {
    while (this.pending.length === 0) {
      const { done, value } = await this.chunks.next();
      if (done) return new Uint8Array(0);
      this.pending = value;
    }
    const piece = this.pending.subarray(0, maxBytes);
    this.pending = this.pending.subarray(piece.length);
    this.bytesRead += piece.length;
    return piece;
  }

  /** Exactly `byteCount` bytes in one array, or fewer if the input ends first. For small reads only. */
  async exactly(byteCount: number): Promise<Uint8Array> {
    const out = new Uint8Array(byteCount);
    let filled = 0;
    while (filled < byteCount) {
      const piece = await this.next(byteCount - filled);
      if (piece.length === 0) return out.subarray(0, filled);
      out.set(piece, filled);
      filled += piece.length;
    }
    return out;
  }

  /** Lets the source release what it holds (an HTTP connection) when reading stops early. */
  async close(): Promise<void> {
    await this.chunks.return?.();
  }
}

function isWholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The header's tensors in file order, each checked to be well formed and not overlapping the next. */
function parseHeader(json: unknown, notSafetensors: (why: string) => Error): SafetensorsTensor[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw notSafetensors('its header is not a JSON object');
  const tensors: SafetensorsTensor[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
    const elementBytes = typeof dtype === 'string' ? DTYPE_BYTES[dtype] : undefined;
    if (elementBytes === undefined) throw notSafetensors(`tensor ${name} has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isWholeNumber)) throw notSafetensors(`tensor ${name} has no valid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isWholeNumber)) {
      throw notSafetensors(`tensor ${name} has no valid data_offsets`);
    }
    const [dataBegin, dataEnd] = offsets as number[];
    const expectedBytes = shape.reduce((product: number, dim: number) => product * dim, 1) * elementBytes;
    if (dataEnd - dataBegin !== expectedBytes) {
      throw notSafetensors(`tensor ${name} spans ${dataEnd - dataBegin} bytes but its ${dtype} shape [${shape.join(', ')}] needs ${expectedBytes}`);
    }
    tensors.push({ name, dtype: dtype as string, shape, elementBytes, dataBegin, dataEnd });
  }
  tensors.sort((a, b) => a.dataBegin - b.dataBegin);
  tensors.forEach((tensor, i) => {
    if (i > 0 && tensor.dataBegin < tensors[i - 1].dataEnd) throw notSafetensors(`tensors ${tensors[i - 1].name} and ${tensor.name} overlap`);
  });
  return tensors;
}

export class SafetensorsStream {
  private constructor(
    private readonly reader: ChunkReader,
    private readonly sourceName: string,
    readonly tensors: readonly SafetensorsTensor[], // in file order
    readonly dataStart: number, // file offset of the data section
  ) {}

  /** Reads and checks the header; `sourceName` names the input in error messages. */
  static async open(chunks: AsyncIterable<Uint8Array>, sourceName: string): Promise<SafetensorsStream> {
    const reader = new ChunkReader(chunks[Symbol.asyncIterator]());
    const notSafetensors = (why: string) => new Error(`${sourceName} is not a safetensors file: ${why}`);
    try {
      const lengthBytes = await reader.exactly(8);
      if (lengthBytes.length < 8) throw notSafetensors(`it is only ${lengthBytes.length} bytes long`);
      const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
      if (headerLength < 2n || headerLength > BigInt(MAX_HEADER_BYTES)) {
        throw notSafetensors(`its first 8 bytes give a header length of ${headerLength}`);
      }
      const headerBytes = await reader.exactly(Number(headerLength));
      if (headerBytes.length < Number(headerLength)) {
        throw new Error(`${sourceName} ends inside its header: the file is cut short`);
      }
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
      } catch {
        throw notSafetensors('its header is not JSON');
      }
      return new SafetensorsStream(reader, sourceName, parseHeader(json, notSafetensors), 8 + Number(headerLength));
    } catch (error) {
      await reader.close();
      throw error;
    }
  }

  /** The file's size as the header describes it. */
  get byteLength(): number {
    return this.dataStart + (this.tensors.at(-1)?.dataEnd ?? 0);
  }

  /**
   * Every tensor's data in file order, in pieces of at most `maxPieceBytes` (rounded down to whole
   * elements). Throws if the input ends early. Stops reading after the last tensor.
   */
  async *tensorData(maxPieceBytes = 1 << 20): AsyncGenerator<TensorDataPiece> {
    try {
      for (const tensor of this.tensors) {
        await this.skipTo(this.dataStart + tensor.dataBegin);
        const { elementBytes } = tensor;
        const pieceLimit = Math.max(elementBytes, maxPieceBytes - (maxPieceBytes % elementBytes));
        const tensorBytes = tensor.dataEnd - tensor.dataBegin;
        let byteOffset = 0;
        while (byteOffset < tensorBytes) {
          const piece = await this.reader.next(Math.min(pieceLimit, tensorBytes - byteOffset));
          if (piece.length === 0) throw this.cutShort();
          const splitBytes = piece.length % elementBytes;
          const wholeBytes = piece.length - splitBytes;
          if (wholeBytes > 0) yield { tensor, byteOffset, bytes: piece.subarray(0, wholeBytes) };
          byteOffset += wholeBytes;
          if (splitBytes > 0) {
            // The chunk ended inside an element: complete it from the next chunk, so every piece
            // converts on its own.
            const element = new Uint8Array(elementBytes);
            element.set(piece.subarray(wholeBytes));
            const remainder = await this.reader.exactly(elementBytes - splitBytes);
            if (remainder.length < elementBytes - splitBytes) throw this.cutShort();
            element.set(remainder, splitBytes);
            yield { tensor, byteOffset, bytes: element };
            byteOffset += elementBytes;
          }
        }
      }
    } finally {
      await this.reader.close();
    }
  }

  /** Stops reading, for when the caller gives up before the end. */
  close(): Promise<void> {
    return this.reader.close();
  }

  /** Steps over bytes that belong to no tensor (safetensors allows none, but costs nothing to accept). */
  private async skipTo(fileOffset: number): Promise<void> {
    while (this.reader.bytesRead < fileOffset) {
      const piece = await this.reader.next(fileOffset - this.reader.bytesRead);
      if (piece.length === 0) throw this.cutShort();
    }
  }

  private cutShort(): Error {
    return new Error(
      `${this.sourceName} ends after ${this.reader.bytesRead} bytes, but its header says it holds ${this.byteLength}: ` +
        'the file is cut short; download it again',
    );
  }
}
