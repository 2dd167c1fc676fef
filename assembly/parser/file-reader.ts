// What every file format shares: the file's declared size, how far into it we are, and the checks
// that the bytes pushed match that size.
import { ByteCollector } from './byte-collector';
import { numberText } from './config';
import { fail } from './errors';
import { ModelSession } from './session';

export abstract class FileReader {
  /** Bytes of the file consumed so far; subclasses advance it as they consume. */
  protected position: u64 = 0;
  /** Gathers the fixed-size fields (lengths, names, the safetensors header) between data. */
  protected readonly field: ByteCollector = new ByteCollector();

  constructor(
    // Fixed for a file; a tensor stream learns its size once its tensors are declared.
    protected fileSize: u64,
    protected readonly session: ModelSession,
  ) {}

  /** Consumes bytes in file order; returns how many, or -1 on error. */
  push(ptr: usize, length: u32): i32 {
    if (this.position + <u64>length > this.fileSize) {
      return fail(`received more than the ${this.fileSize} bytes the file was said to have: the file changed while loading, or its size was given wrong — load it again`);
    }
    return this.consume(ptr, length);
  }

  /** Checks the whole file arrived and every tensor in it was complete. */
  end(): i32 {
    if (this.position < this.fileSize) {
      return fail(`the file ended after ${this.position} of its ${this.fileSize} bytes: the download was cut short — download it again`);
    }
    return 0;
  }

  /** The error for a tensor (or name) whose bytes would run past the end of the file. */
  protected pastEnd(what: string, end: f64): i32 {
    return fail(`file ends at byte ${this.fileSize} but ${what} needs bytes up to ${numberText(end)}: the download is incomplete or the file is damaged — download it again`);
  }

  /**
   * For a file whose first field makes no sense: if its first bytes are plain text, as when a web
   * page, a server's error message or a Git LFS pointer was saved under the weights' name, the
   * message that says so; else ''.
   */
  protected textInsteadOf(format: string): string {
    const start = this.field.buffer;
    const size = this.field.size;
    let text = '';
    for (let i: u32 = 0; i < size; i++) {
      const c = <i32>load<u8>(start + i);
      const isSpace = c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
      if (!isSpace && (c < 0x21 || c > 0x7e)) return '';
      text += isSpace ? ' ' : String.fromCharCode(c);
    }
    const shown = text.trim();
    const quoted = shown.length > 0 ? ` "${shown}…"` : '';
    return `the file starts with the text${quoted}, so it is not ${format}: it is probably a web page, an error message or a Git LFS pointer saved in its place — download the file again`;
  }

  /** Frees the field buffer; called when the file is closed, whether or not it succeeded. */
  release(): void {
    this.field.free();
  }

  protected abstract consume(ptr: usize, length: u32): i32;
}
