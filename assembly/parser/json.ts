// A minimal JSON reader for safetensors headers and config.json: a cursor the caller walks
// (objects, arrays, strings, numbers) instead of a document tree, so a large header costs only
// the entries the caller keeps. Errors are sticky: after the first one every read returns an
// empty value and `failed` stays true, so callers check once at the end.

export const enum JsonKind {
  End,
  Object,
  Array,
  String,
  Number,
  Literal, // true, false, null
  Invalid,
}

// Deep enough for any real header; stops a hostile file from exhausting the stack in skipValue.
const MAX_DEPTH = 64;

export class JsonReader {
  pos: u32 = 0;
  /** What went wrong, without position; empty while all is well. */
  error: string = '';
  /** Byte offset (from the start of the JSON text) where the error was found. */
  errorPos: u32 = 0;
  /** The key read by the last successful nextMember(). */
  key: string = '';
  private firstInContainer: bool[] = [];

  constructor(private start: usize, private length: u32) {}

  get failed(): bool {
    return this.error.length > 0;
  }

  peek(): JsonKind {
    this.skipWhitespace();
    if (this.failed || this.pos >= this.length) return JsonKind.End;
    const c = this.byteAt(this.pos);
    if (c == 0x7b) return JsonKind.Object; // {
    if (c == 0x5b) return JsonKind.Array; // [
    if (c == 0x22) return JsonKind.String; // "
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return JsonKind.Number;
    if (c == 0x74 || c == 0x66 || c == 0x6e) return JsonKind.Literal; // t f n
    return JsonKind.Invalid;
  }

  /** Consumes `{`; false (with an error) if the next value is not an object. */
  beginObject(): bool {
    return this.beginContainer(0x7b, 'an object');
  }

  /**
   * Moves to the next member of the object being read: consumes the separator, the key and the
   * colon, and sets `key`. Returns false after consuming the closing `}`, or on error.
   */
  nextMember(): bool {
    if (!this.nextInContainer(0x7d)) return false;
    if (this.peek() != JsonKind.String) {
      this.fail('expected a quoted key');
      return false;
    }
    this.key = this.readString();
    this.skipWhitespace();
    if (!this.consume(0x3a)) {
      this.fail("expected ':' after the key");
      return false;
    }
    return !this.failed;
  }

  /** Consumes `[`; false (with an error) if the next value is not an array. */
  beginArray(): bool {
    return this.beginContainer(0x5b, 'an array');
  }

  /** Moves to the next array item; false after consuming the closing `]`, or on error. */
  nextItem(): bool {
    return this.nextInContainer(0x5d);
  }

  readString(): string {
    return this.scanString(true);
  }

  readNumber(): f64 {
    this.skipWhitespace();
    const begin = this.pos;
    this.consume(0x2d);
    // JSON allows a lone 0 or digits without a leading zero.
    if (!this.consume(0x30) && !this.consumeDigits()) {
      this.fail('expected a number');
      return 0;
    }
    if (this.consume(0x2e) && !this.consumeDigits()) {
      this.fail('expected a digit after the decimal point');
      return 0;
    }
    if (this.consume(0x65) || this.consume(0x45)) {
      if (!this.consume(0x2b)) this.consume(0x2d);
      if (!this.consumeDigits()) {
        this.fail('expected a digit in the exponent');
        return 0;
      }
    }
    return parseFloat(String.UTF8.decodeUnsafe(this.start + begin, this.pos - begin));
  }

  /** Skips one value of any kind, checking its syntax. */
  skipValue(): void {
    switch (this.peek()) {
      case JsonKind.Object:
        if (this.beginObject()) while (this.nextMember()) this.skipValue();
        break;
      case JsonKind.Array:
        if (this.beginArray()) while (this.nextItem()) this.skipValue();
        break;
      case JsonKind.String:
        this.scanString(false);
        break;
      case JsonKind.Number:
        this.readNumber();
        break;
      case JsonKind.Literal:
        if (!this.consumeWord('true') && !this.consumeWord('false') && !this.consumeWord('null')) {
          this.fail('unexpected word');
        }
        break;
      case JsonKind.End:
        this.fail('unexpected end of the text');
        break;
      default:
        this.fail('unexpected character ' + this.describeByte());
    }
  }

  /** Checks that nothing but whitespace follows the top-level value. */
  finish(): void {
    this.skipWhitespace();
    if (!this.failed && this.pos < this.length) this.fail('unexpected ' + this.describeByte() + ' after the end of the JSON value');
  }

  fail(what: string): void {
    if (this.failed) return;
    this.error = what;
    this.errorPos = this.pos;
  }

  private beginContainer(open: u8, description: string): bool {
    if (this.peek() != (open == 0x7b ? JsonKind.Object : JsonKind.Array)) {
      this.fail('expected ' + description);
      return false;
    }
    if (this.firstInContainer.length >= MAX_DEPTH) {
      this.fail('nesting deeper than ' + MAX_DEPTH.toString() + ' levels');
      return false;
    }
    this.pos++;
    this.firstInContainer.push(true);
    return true;
  }

  private nextInContainer(close: u8): bool {
    if (this.failed) return false;
    this.skipWhitespace();
    const first = this.firstInContainer[this.firstInContainer.length - 1];
    if (this.consume(close)) {
      this.firstInContainer.pop();
      return false;
    }
    if (!first && !this.consume(0x2c)) {
      this.fail(this.pos >= this.length ? 'unexpected end of the text' : "expected ',' or '" + String.fromCharCode(close) + "'");
      return false;
    }
    this.firstInContainer[this.firstInContainer.length - 1] = false;
    return true;
  }

  // Reads a string; when `build` is false only checks it, which is cheaper.
  private scanString(build: bool): string {
    this.skipWhitespace();
    if (!this.consume(0x22)) {
      this.fail('expected a string');
      return '';
    }
    let text = '';
    let runStart = this.pos;
    while (true) {
      if (this.pos >= this.length) {
        this.fail('unterminated string');
        return '';
      }
      const c = this.byteAt(this.pos);
      if (c == 0x22) break;
      if (c < 0x20) {
        this.fail('control character inside a string');
        return '';
      }
      if (c != 0x5c) {
        this.pos++;
        continue;
      }
      if (build) text += String.UTF8.decodeUnsafe(this.start + runStart, this.pos - runStart);
      this.pos++;
      const code = this.readEscape();
      if (code < 0) return '';
      if (build) text += String.fromCodePoint(code);
      runStart = this.pos;
    }
    if (build) text += String.UTF8.decodeUnsafe(this.start + runStart, this.pos - runStart);
    this.pos++;
    return text;
  }

  // Reads what follows a backslash; returns the code point, or -1 on error.
  private readEscape(): i32 {
    if (this.pos >= this.length) {
      this.fail('unterminated string');
      return -1;
    }
    const c = this.byteAt(this.pos++);
    if (c == 0x22 || c == 0x5c || c == 0x2f) return c;
    if (c == 0x62) return 0x08;
    if (c == 0x66) return 0x0c;
    if (c == 0x6e) return 0x0a;
    if (c == 0x72) return 0x0d;
    if (c == 0x74) return 0x09;
    if (c != 0x75) {
      this.pos--;
      this.fail('invalid escape sequence');
      return -1;
    }
    const unit = this.readHex4();
    if (unit < 0) return -1;
    const isHighSurrogate = unit >= 0xd800 && unit <= 0xdbff;
    if (isHighSurrogate && this.consumeWord('\\u')) {
      const low = this.readHex4();
      if (low < 0) return -1;
      if (low >= 0xdc00 && low <= 0xdfff) return 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
      this.fail('unpaired surrogate in \\u escape');
      return -1;
    }
    if (isHighSurrogate || (unit >= 0xdc00 && unit <= 0xdfff)) {
      this.fail('unpaired surrogate in \\u escape');
      return -1;
    }
    return unit;
  }

  private readHex4(): i32 {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.pos < this.length ? this.byteAt(this.pos) : 0;
      let digit: i32 = -1;
      if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) digit = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) digit = c - 0x41 + 10;
      if (digit < 0) {
        this.fail('expected four hex digits after \\u');
        return -1;
      }
      value = (value << 4) | digit;
      this.pos++;
    }
    return value;
  }

  private consumeDigits(): bool {
    const begin = this.pos;
    while (this.pos < this.length) {
      const c = this.byteAt(this.pos);
      if (c < 0x30 || c > 0x39) break;
      this.pos++;
    }
    return this.pos > begin;
  }

  private consumeWord(word: string): bool {
    const n = <u32>word.length;
    if (this.pos + n > this.length) return false;
    for (let i: u32 = 0; i < n; i++) {
      if (<u32>this.byteAt(this.pos + i) != <u32>word.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }

  private consume(c: u8): bool {
    if (this.pos < this.length && this.byteAt(this.pos) == c) {
      this.pos++;
      return true;
    }
    return false;
  }

  private skipWhitespace(): void {
    while (this.pos < this.length) {
      const c = this.byteAt(this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.pos++;
    }
  }

  private describeByte(): string {
    const c = this.byteAt(this.pos);
    return c >= 0x20 && c < 0x7f ? "'" + String.fromCharCode(c) + "'" : 'byte 0x' + (<u32>c).toString(16);
  }

  @inline private byteAt(offset: u32): u8 {
    return load<u8>(this.start + offset);
  }
}
