// The weights parser's WASM interface, wrapped by src/weights/weights-parser.ts. Exports take and
// return plain numbers (u64 values as f64). A fallible export returns a negative number and
// leaves a message at errorMessagePtr()/errorMessageLength() (UTF-8).
//
// Call order: a config (parseConfigJson, parseConfigText or setConfig); beginModel; for each
// file beginSafetensorsFile or beginLegacyBinFile, pushBytes until all its bytes are consumed
// (taking the output piece after every call), endFile; finally endModel. A file whose container
// JS reads (pytorch_model.bin) is a tensor stream instead: beginTensorStream, declareTensor for
// every tensor, beginTensorData, then pushBytes with the used tensors' bytes, and endFile.
import { currentConfig, numberText, setModelConfig } from './config';
import { fail, lastMessageLength, lastMessagePtr } from './errors';
import { FileReader } from './file-reader';
import { LegacyBinReader } from './legacy-bin';
import { clearPiece, pieceByteOffset, pieceLength, piecePtr, pieceSlot } from './output';
import { SafetensorsReader } from './safetensors';
import { ModelSession } from './session';
import { DTYPE_F16, DTYPE_F32, Slot } from './slots';
import { TensorStreamReader } from './tensor-stream';
import { TensorWriter } from './tensor-writer';

export { parseConfigJson, parseConfigText } from './config';

// One writer for the module's lifetime, so its 1 MiB scratch buffer is allocated once.
const writer = new TensorWriter();
let session: ModelSession | null = null;
let file: FileReader | null = null;
// The open file again when it is a tensor stream, for the calls only it takes.
let tensorStream: TensorStreamReader | null = null;
// Set when pushBytes fails; the file's later calls keep failing with that first message.
let fileFailed = false;

const MAX_SAFE_INTEGER: f64 = 9007199254740991;

// Raw buffers for JS to copy input into.

export function allocBytes(size: u32): usize {
  return heap.alloc(size);
}

export function freeBytes(ptr: usize): void {
  heap.free(ptr);
}

export function errorMessagePtr(): usize {
  return lastMessagePtr();
}

export function errorMessageLength(): u32 {
  return lastMessageLength();
}

// Config.

/** Sizes as f64 so that negative, fractional and huge values reach validation intact. */
export function setConfig(vocabSize: f64, nCtx: f64, nEmbd: f64, nLayer: f64, nHead: f64): i32 {
  return setModelConfig(vocabSize, nCtx, nEmbd, nLayer, nHead, 'setConfig', ['vocabSize', 'nCtx', 'nEmbd', 'nLayer', 'nHead']);
}

// The getters return 0 while no valid config is set.

export function configVocabSize(): i32 {
  const config = currentConfig();
  return config ? config.vocabSize : 0;
}

export function configNCtx(): i32 {
  const config = currentConfig();
  return config ? config.nCtx : 0;
}

export function configNEmbd(): i32 {
  const config = currentConfig();
  return config ? config.nEmbd : 0;
}

export function configNLayer(): i32 {
  const config = currentConfig();
  return config ? config.nLayer : 0;
}

export function configNHead(): i32 {
  const config = currentConfig();
  return config ? config.nHead : 0;
}

// Model session.

/** Starts loading a model with the current config; returns the slot count. Drops any earlier session. */
export function beginModel(matrixDtype: i32): i32 {
  closeFile();
  session = null;
  const config = currentConfig();
  if (config == null) return fail('no model config: read config.json or gpt2_config.txt (or call setConfig) before loading weights');
  if (matrixDtype != DTYPE_F32 && matrixDtype != DTYPE_F16) return fail(`matrix dtype ${matrixDtype} is not 0 (f32) or 1 (f16)`);
  const started = new ModelSession(config, matrixDtype, writer);
  session = started;
  return started.slots.length;
}

// The slot table; every getter returns -1 for an index outside it.

export function slotKind(index: i32): i32 {
  const slot = slotAt(index);
  return slot ? slot.kind : -1;
}

export function slotLayer(index: i32): i32 {
  const slot = slotAt(index);
  return slot ? slot.layer : -1;
}

export function slotRows(index: i32): i32 {
  const slot = slotAt(index);
  return slot ? slot.rows : -1;
}

export function slotCols(index: i32): i32 {
  const slot = slotAt(index);
  return slot ? slot.cols : -1;
}

/** 0 for f32, 1 for f16. */
export function slotDtype(index: i32): i32 {
  const slot = slotAt(index);
  return slot ? slot.dtype(session!.matrixDtype) : -1;
}

export function slotByteLength(index: i32): f64 {
  const slot = slotAt(index);
  return slot ? <f64>slot.byteLength(session!.matrixDtype) : -1;
}

function slotAt(index: i32): Slot | null {
  if (session == null || index < 0 || index >= session!.slots.length) return null;
  return session!.slots[index];
}

// Files.

/**
 * Starts a safetensors file of `fileSize` bytes. `isShard` (0/1): the file is one of a sharded
 * checkpoint, so tensors it lacks are reported by endModel rather than after its header.
 */
export function beginSafetensorsFile(fileSize: f64, isShard: i32): i32 {
  const size = checkNewFile(fileSize, 8, 'a safetensors file (8-byte header length)');
  if (size < 0) return -1;
  file = new SafetensorsReader(<u64>size, session!, isShard != 0);
  return 0;
}

/** Starts a legacy gpt2_weights.bin of `fileSize` bytes. */
export function beginLegacyBinFile(fileSize: f64): i32 {
  const size = checkNewFile(fileSize, 4, 'a gpt2_weights.bin (4-byte tensor count)');
  if (size < 0) return -1;
  file = new LegacyBinReader(<u64>size, session!);
  return 0;
}

/** Starts a tensor stream: a file whose container JS reads, handing over its tensors. */
export function beginTensorStream(): i32 {
  if (checkNewFile(0, 0, '') < 0) return -1;
  const stream = new TensorStreamReader(session!);
  file = stream;
  tensorStream = stream;
  return 0;
}

/**
 * Declares the stream's next tensor: `rank` dims as f64 at `ptr`, then `dtypeLength` bytes of its
 * safetensors-style dtype ("F32", "F16", "BF16", or another that is refused if the model uses the
 * tensor), then `nameLength` bytes of its name, all UTF-8. Returns its slot, -2 when the model
 * does not use it, or -1 on error.
 */
export function declareTensor(ptr: usize, rank: u32, dtypeLength: u32, nameLength: u32): i32 {
  if (tensorStream == null) return fail('declareTensor needs an open tensor stream: call beginTensorStream first');
  if (fileFailed) return -1;
  const shape: u64[] = [];
  for (let i: u32 = 0; i < rank; i++) {
    const dim = load<f64>(ptr + 8 * i);
    if (!(dim >= 0 && dim <= MAX_SAFE_INTEGER && Math.floor(dim) == dim)) return fail(`dimension ${numberText(dim)} is not a whole number: this is a bug in the checkpoint reader`);
    shape.push(<u64>dim);
  }
  const dtype = String.UTF8.decodeUnsafe(ptr + 8 * rank, dtypeLength);
  const name = String.UTF8.decodeUnsafe(ptr + 8 * rank + dtypeLength, nameLength);
  const slot = tensorStream!.declareTensor(name, dtype, shape);
  if (slot == -1) fileFailed = true;
  return slot;
}

/** Every tensor is declared: checks that none the model needs is missing, and opens the data. */
export function beginTensorData(): i32 {
  if (tensorStream == null) return fail('beginTensorData needs an open tensor stream: call beginTensorStream first');
  if (fileFailed) return -1;
  const result = tensorStream!.startData();
  if (result < 0) fileFailed = true;
  return result;
}

/**
 * Consumes the file's next bytes (any chunk size); returns how many it took, or negative on
 * error. It returns early, with bytes left over, as soon as an output piece is ready: read the
 * piece, then push the rest.
 */
export function pushBytes(ptr: usize, length: u32): i32 {
  clearPiece();
  // The previous piece may have been a transposed matrix; JS has copied it by now.
  writer.releaseFinished();
  if (file == null) return fail('pushBytes needs an open file: call beginSafetensorsFile or beginLegacyBinFile first');
  if (fileFailed) return -1;
  const consumed = file!.push(ptr, length);
  if (consumed < 0) fileFailed = true;
  return consumed;
}

/** The slot the current piece belongs to, or -1 if the last pushBytes produced none. */
export function outputSlot(): i32 {
  return pieceSlot;
}

/** Where the piece goes inside its slot, in bytes. */
export function outputByteOffset(): f64 {
  return <f64>pieceByteOffset;
}

export function outputPtr(): usize {
  return piecePtr;
}

export function outputLength(): u32 {
  return pieceLength;
}

/** Checks the file was complete (no missing bytes; for gpt2_weights.bin, no extra ones) and closes it. */
export function endFile(): i32 {
  if (file == null) return fail('endFile needs an open file');
  const result = fileFailed ? -1 : file!.end();
  closeFile();
  return result;
}

/** Checks every slot was written; the error lists the missing tensors by HF name. */
export function endModel(): i32 {
  if (session == null) return fail('endModel needs a model: call beginModel first');
  if (file != null) return fail('endModel called with a file still open: call endFile first');
  const missing = session!.missingMessage(true, 'the files are not a complete GPT-2 checkpoint — check that every shard was given, or download them again');
  session = null;
  if (missing.length > 0) return fail(missing);
  return 0;
}

// Returns the size as f64, or -1 with an error.
function checkNewFile(fileSize: f64, minimumSize: f64, what: string): f64 {
  if (session == null) return fail('no model: call beginModel before starting a file');
  if (file != null) return fail('a file is still open: call endFile before starting the next');
  if (!(fileSize >= 0 && fileSize <= MAX_SAFE_INTEGER && Math.floor(fileSize) == fileSize)) {
    return fail(`file size ${numberText(fileSize)} is not a whole number of bytes: the file's size was read wrong — load it again`);
  }
  if (fileSize < minimumSize) return fail(`the file is ${<u64>fileSize} bytes, too short to be ${what}: it is empty or cut short — download it again`);
  fileFailed = false;
  return fileSize;
}

function closeFile(): void {
  if (file != null) file!.release();
  file = null;
  tensorStream = null;
  fileFailed = false;
  writer.freeWhole();
}
