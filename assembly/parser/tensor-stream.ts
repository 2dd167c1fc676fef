// Tensors whose container is read in JS: PyTorch's pytorch_model.bin (src/weights/pytorch/), a zip
// or a run of pickles, which are simpler to read there. JS declares every tensor of the file (name,
// dtype, shape) in the order its bytes will come; each is matched to its slot here, as the other
// formats' tensors are. Then JS pushes the bytes of the tensors the model uses, back to back in
// that order, and they are checked and laid out like any other file's.
import { SOURCE_BF16, SOURCE_F16, SOURCE_F32 } from './convert';
import { fail, shown } from './errors';
import { FileReader } from './file-reader';
import { NAME_SKIPPED } from './names';
import { pieceSlot } from './output';
import { ModelSession } from './session';

class StreamedTensor {
  constructor(
    readonly slot: i32,
    readonly name: string,
    readonly sourceDtype: i32,
  ) {}
}

export class TensorStreamReader extends FileReader {
  private plan: StreamedTensor[] = []; // the used tensors, in the order their bytes come
  private dataStarted: bool = false;
  private next: i32 = 0; // index into plan
  private writing: bool = false;
  private tensorLeft: u64 = 0; // bytes of plan[next] still to come

  // The size is the used tensors' bytes, known once every tensor is declared.
  constructor(session: ModelSession) {
    super(0, session);
  }

  /** Claims the tensor's slot; returns it, NAME_SKIPPED for a tensor the model does not use, or -1. */
  declareTensor(name: string, dtype: string, shape: u64[]): i32 {
    if (this.dataStarted) return fail('declareTensor after beginTensorData: declare every tensor before pushing data');
    const slot = this.session.resolveTensor(name, shape);
    if (slot < 0) return slot;
    let sourceDtype = SOURCE_F32;
    if (dtype == 'F16') sourceDtype = SOURCE_F16;
    else if (dtype == 'BF16') sourceDtype = SOURCE_BF16;
    else if (dtype != 'F32') {
      return fail(`unsupported dtype ${shown(dtype)} for tensor ${shown(name)}: only F32, F16 and BF16 are supported — use a copy of the checkpoint saved in one of those`);
    }
    this.plan.push(new StreamedTensor(slot, name, sourceDtype));
    return slot;
  }

  /** Every tensor is declared: checks none is missing, then expects the used tensors' bytes. */
  startData(): i32 {
    if (this.dataStarted) return fail('beginTensorData called twice');
    // The whole model is in this one file, so what it lacks is missing for good.
    const missing = this.session.missingMessage(false, 'the file is not a complete GPT-2 checkpoint — download it again, or choose a GPT-2 model');
    if (missing.length > 0) return fail(missing);
    let size: u64 = 0;
    for (let i = 0; i < this.plan.length; i++) size += this.byteCount(this.plan[i]);
    this.fileSize = size;
    this.dataStarted = true;
    return 0;
  }

  end(): i32 {
    if (!this.dataStarted) return fail('endFile before beginTensorData: the checkpoint\'s tensors were never read');
    return super.end();
  }

  protected consume(ptr: usize, length: u32): i32 {
    if (!this.dataStarted) return fail('pushBytes before beginTensorData: declare every tensor first');
    let consumed: u32 = 0;
    while (consumed < length) {
      const tensor = this.plan[this.next];
      const writer = this.session.writer;
      if (!this.writing) {
        writer.begin(tensor.slot, this.session.slots[tensor.slot], tensor.name, tensor.sourceDtype, this.session.matrixDtype);
        this.writing = true;
        this.tensorLeft = this.byteCount(tensor);
      }
      const taken = writer.push(ptr + consumed, <u32>min(<u64>(length - consumed), this.tensorLeft));
      if (taken < 0) return -1;
      consumed += taken;
      this.position += taken;
      this.tensorLeft -= taken;
      if (writer.finished) {
        this.session.markWritten(tensor.slot);
        this.writing = false;
        this.next++;
      }
      if (pieceSlot >= 0) break;
    }
    return <i32>consumed;
  }

  private byteCount(tensor: StreamedTensor): u64 {
    return <u64>this.session.slots[tensor.slot].elementCount * (tensor.sourceDtype == SOURCE_F32 ? 4 : 2);
  }
}
