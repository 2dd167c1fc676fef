// A reader for the pickles in PyTorch checkpoints that runs nothing. A pickle is a program for a
// small stack machine whose GLOBAL and REDUCE opcodes import and call any Python function: that is
// how a malicious checkpoint runs code on torch.load. Here a pickle may name only the globals its
// caller allows (a state dict needs a handful), each of which is TypeScript that builds a plain
// value; any other global, and any opcode a saved state dict never uses, stops the reading with a
// message saying so.
import { WeightsFormatError } from '../weights-format-error.ts';

export class PickleTuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** A dict or OrderedDict (the order of insertion is kept either way). */
export class PickleDict {
  readonly entries = new Map<PickleKey, unknown>();
}

export type PickleKey = string | number | bigint | boolean | null;

/** A Python global the caller allows; REDUCE calls `call`, if it has one, with the argument tuple's items. */
export class PickleGlobal {
  constructor(
    readonly name: string,
    readonly call?: (args: readonly unknown[]) => unknown,
  ) {}
}

export interface PickleOptions {
  /** What holds the pickle, to begin messages with ("pytorch_model.bin's data.pkl"). */
  what: string;
  /** The allowed globals, by "module.name". */
  globals: ReadonlyMap<string, PickleGlobal>;
  /** Turns a persistent id (BINPERSID) into a value, or throws; left out, persistent ids are refused. */
  persistentLoad?(id: unknown): unknown;
}

/** The bytes end before the pickle does; a reader of a stream can try again with more. */
export class PickleTruncatedError extends WeightsFormatError {
  override name = 'PickleTruncatedError';
}

// Far above a state dict's pickle (GPT-2 XL's is about 100 KB); a damaged length stops here
// rather than waiting for gigabytes.
export const MAX_PICKLE_BYTES = 64 << 20;
const MAX_GLOBAL_NAME = 256;
const HIGHEST_PROTOCOL = 5;

/** Reads one pickle from the start of `bytes`: its value, and how many bytes it took. */
export function readPickle(bytes: Uint8Array, options: PickleOptions): { value: unknown; length: number } {
  return new PickleMachine(bytes, options).run();
}

/** A value's kind as a message names it. */
export function describe(value: unknown): string {
  if (value === null) return 'None';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number' || typeof value === 'bigint') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof PickleTuple) return 'a tuple';
  if (value instanceof PickleDict) return 'a dict';
  if (value instanceof Uint8Array) return 'bytes';
  if (value instanceof PickleGlobal) return `the global ${value.name}`;
  return 'an object';
}

class PickleMachine {
  private position = 0;
  private opcodeAt = 0;
  private readonly stack: unknown[] = [];
  // Stack heights at each MARK still open.
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: PickleOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): { value: unknown; length: number } {
    for (;;) {
      this.opcodeAt = this.position;
      const opcode = this.u8();
      if (opcode === 0x2e) return { value: this.stop(), length: this.position }; // STOP '.'
      this.step(opcode);
    }
  }

  private step(opcode: number): void {
    switch (opcode) {
      case 0x80: { // PROTO
        const protocol = this.u8();
        if (protocol > HIGHEST_PROTOCOL) this.damaged(`pickle protocol ${protocol}, newer than any Python writes`);
        return;
      }
      case 0x95: this.take(8); return; // FRAME: a length the reading does not need
      case 0x28: this.marks.push(this.stack.length); return; // MARK '('
      case 0x29: this.push(new PickleTuple([])); return; // EMPTY_TUPLE ')'
      case 0x74: this.push(new PickleTuple(this.popMark())); return; // TUPLE 't'
      case 0x85: this.push(new PickleTuple(this.popN(1))); return; // TUPLE1
      case 0x86: this.push(new PickleTuple(this.popN(2))); return; // TUPLE2
      case 0x87: this.push(new PickleTuple(this.popN(3))); return; // TUPLE3
      case 0x5d: this.push([]); return; // EMPTY_LIST ']'
      case 0x6c: this.push(this.popMark()); return; // LIST 'l'
      case 0x61: { // APPEND 'a'
        const value = this.pop();
        this.topList().push(value);
        return;
      }
      case 0x65: { // APPENDS 'e'
        const values = this.popMark();
        this.topList().push(...values);
        return;
      }
      case 0x7d: this.push(new PickleDict()); return; // EMPTY_DICT '}'
      case 0x64: { // DICT 'd'
        const dict = new PickleDict();
        this.setItems(dict, this.popMark());
        this.push(dict);
        return;
      }
      case 0x73: { // SETITEM 's'
        const pair = this.popN(2);
        this.setItems(this.topDict(), pair);
        return;
      }
      case 0x75: { // SETITEMS 'u'
        const pairs = this.popMark();
        this.setItems(this.topDict(), pairs);
        return;
      }
      case 0x4a: this.push(this.view.getInt32(this.take(4), true)); return; // BININT 'J'
      case 0x4b: this.push(this.u8()); return; // BININT1 'K'
      case 0x4d: this.push(this.view.getUint16(this.take(2), true)); return; // BININT2 'M'
      case 0x8a: this.push(this.long(this.u8())); return; // LONG1
      case 0x4e: this.push(null); return; // NONE 'N'
      case 0x88: this.push(true); return; // NEWTRUE
      case 0x89: this.push(false); return; // NEWFALSE
      case 0x47: this.push(this.view.getFloat64(this.take(8), false)); return; // BINFLOAT 'G'
      case 0x8c: this.push(this.text(this.u8())); return; // SHORT_BINUNICODE
      case 0x58: this.push(this.text(this.view.getUint32(this.take(4), true))); return; // BINUNICODE 'X'
      case 0x8d: this.push(this.text(this.u64())); return; // BINUNICODE8
      // Python 2's str, in checkpoints saved from Python 2: names are ASCII either way.
      case 0x55: this.push(this.text(this.u8())); return; // SHORT_BINSTRING 'U'
      case 0x54: this.push(this.text(this.view.getInt32(this.take(4), true))); return; // BINSTRING 'T'
      case 0x71: this.memo.set(this.u8(), this.top()); return; // BINPUT 'q'
      case 0x72: this.memo.set(this.view.getUint32(this.take(4), true), this.top()); return; // LONG_BINPUT 'r'
      case 0x94: this.memo.set(this.memo.size, this.top()); return; // MEMOIZE
      case 0x68: this.push(this.recall(this.u8())); return; // BINGET 'h'
      case 0x6a: this.push(this.recall(this.view.getUint32(this.take(4), true))); return; // LONG_BINGET 'j'
      case 0x63: { // GLOBAL 'c'
        const module = this.line();
        this.push(this.global(module, this.line()));
        return;
      }
      case 0x93: { // STACK_GLOBAL
        const [module, name] = this.popN(2);
        if (typeof module !== 'string' || typeof name !== 'string') this.damaged('STACK_GLOBAL on values that are not names');
        this.push(this.global(module, name));
        return;
      }
      case 0x52: this.reduce(); return; // REDUCE 'R'
      case 0x62: this.build(); return; // BUILD 'b'
      case 0x51: this.persistentLoad(); return; // BINPERSID 'Q'
      case 0x30: this.pop(); return; // POP '0'
      case 0x31: this.popMark(); return; // POP_MARK '1'
      case 0x32: this.push(this.top()); return; // DUP '2'
      default: {
        const shown = opcode >= 0x21 && opcode <= 0x7e ? `'${String.fromCharCode(opcode)}' (0x${hex(opcode)})` : `0x${hex(opcode)}`;
        throw new WeightsFormatError(
          `${this.options.what} uses the pickle opcode ${shown} at byte ${this.opcodeAt}, which a saved state dict never uses: ` +
            'the file holds more than a state dict of tensors, or is damaged — use the checkpoint\'s model.safetensors, ' +
            'or save model.state_dict() alone with torch.save',
        );
      }
    }
  }

  private stop(): unknown {
    if (this.stack.length !== 1 || this.marks.length > 0) this.damaged(`STOP with ${this.stack.length} values on the stack`);
    return this.stack[0];
  }

  private global(module: string, name: string): PickleGlobal {
    const allowed = this.options.globals.get(`${module}.${name}`);
    if (allowed) return allowed;
    throw new WeightsFormatError(
      `${this.options.what} asks for the Python global ${shownName(`${module}.${name}`)} (at byte ${this.opcodeAt}), which a state dict ` +
        'of tensors never needs. This reader runs nothing, and refuses the file: it holds more than weights, is damaged, or was made ' +
        'to run code when loaded — do not load it with torch.load; use the checkpoint\'s model.safetensors instead',
    );
  }

  private reduce(): void {
    const args = this.pop();
    const callable = this.pop();
    if (!(callable instanceof PickleGlobal) || !callable.call) {
      this.damaged(`REDUCE calls ${describe(callable)}, which is not a function a state dict calls`);
    }
    if (!(args instanceof PickleTuple)) this.damaged(`REDUCE with ${describe(args)} for arguments`);
    this.push(callable.call(args.items));
  }

  // torch.save pickles a state dict's OrderedDict with its attributes (its `_metadata`: module
  // versions) as BUILD state, which a reader of tensors does not need.
  private build(): void {
    const state = this.pop();
    const target = this.top();
    if (!(target instanceof PickleDict) || !(state instanceof PickleDict)) {
      this.damaged(`BUILD on ${describe(target)} with ${describe(state)}, which a state dict never has`);
    }
  }

  private persistentLoad(): void {
    const id = this.pop();
    if (!this.options.persistentLoad) this.damaged('a persistent id where none belongs');
    this.push(this.options.persistentLoad(id));
  }

  private setItems(dict: PickleDict, items: unknown[]): void {
    if (items.length % 2 !== 0) this.damaged('a dict with a key and no value');
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (key !== null && !['string', 'number', 'bigint', 'boolean'].includes(typeof key)) this.damaged(`a dict key that is ${describe(key)}`);
      dict.entries.set(key as PickleKey, items[i + 1]);
    }
  }

  private recall(index: number): unknown {
    if (!this.memo.has(index)) this.damaged(`a reference to memo entry ${index}, which was never stored`);
    return this.memo.get(index);
  }

  private push(value: unknown): void {
    this.stack.push(value);
  }

  private floor(): number {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
  }

  private pop(): unknown {
    if (this.stack.length <= this.floor()) this.damaged('an opcode that takes a value from an empty stack');
    return this.stack.pop();
  }

  private popN(count: number): unknown[] {
    if (this.stack.length - this.floor() < count) this.damaged(`an opcode that takes ${count} values from a stack with fewer`);
    return this.stack.splice(this.stack.length - count, count);
  }

  private top(): unknown {
    if (this.stack.length <= this.floor()) this.damaged('an opcode that needs a value on an empty stack');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): unknown[] {
    const height = this.marks.pop();
    if (height === undefined) this.damaged('an opcode that needs a MARK, with none open');
    return this.stack.splice(height, this.stack.length - height);
  }

  private topList(): unknown[] {
    const list = this.top();
    if (!Array.isArray(list)) this.damaged(`APPEND to ${describe(list)}`);
    return list;
  }

  private topDict(): PickleDict {
    const dict = this.top();
    if (!(dict instanceof PickleDict)) this.damaged(`SETITEM on ${describe(dict)}`);
    return dict;
  }

  private u8(): number {
    if (this.position >= this.bytes.length) this.truncated();
    return this.bytes[this.position++];
  }

  private u64(): number {
    const at = this.take(8);
    const high = this.view.getUint32(at + 4, true);
    // Beyond 2^53, the length is damage whatever it is; take() refuses it as too long.
    return high >= 0x200000 ? Number.MAX_SAFE_INTEGER : high * 2 ** 32 + this.view.getUint32(at, true);
  }

  /** Skips `count` bytes; returns where they begin. */
  private take(count: number): number {
    if (count < 0 || count > MAX_PICKLE_BYTES) this.damaged(`a field of ${count} bytes`);
    if (this.position + count > this.bytes.length) this.truncated();
    const at = this.position;
    this.position += count;
    return at;
  }

  private text(length: number): string {
    const at = this.take(length);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(at, at + length));
    } catch {
      return this.damaged('a string that is not valid UTF-8');
    }
  }

  // A little-endian two's-complement integer of `length` bytes.
  private long(length: number): number | bigint {
    const at = this.take(length);
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(this.bytes[at + i]);
    if (length > 0 && this.bytes[at + length - 1] >= 0x80) value -= 1n << BigInt(8 * length);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  // A newline-ended name, for GLOBAL.
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.position);
    if (end < 0) {
      if (this.bytes.length - this.position > MAX_GLOBAL_NAME) this.damaged('a GLOBAL name with no end');
      this.truncated();
    }
    if (end - this.position > MAX_GLOBAL_NAME) this.damaged('a GLOBAL name longer than any Python name');
    return this.text(end - this.position + 1).slice(0, -1);
  }

  private truncated(): never {
    throw new PickleTruncatedError(
      `${this.options.what} ends in the middle of its pickle (at byte ${this.bytes.length}): the file was cut short — download it again`,
    );
  }

  private damaged(what: string): never {
    throw new WeightsFormatError(
      `${this.options.what} is not a valid pickle (${what}, at byte ${this.opcodeAt}): the file is damaged — download it again`,
    );
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

// A name from the file, as a message shows it: control characters escaped, cut if very long.
function shownName(name: string): string {
  const escaped = name.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${hex(c.charCodeAt(0))}`);
  return escaped.length > 120 ? `${escaped.slice(0, 120)}…` : escaped;
}
