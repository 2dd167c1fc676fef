// The last error message. AssemblyScript has no exceptions, so a failing function records why
// here and returns a negative number; JS reads the message as UTF-8 and throws it.

let lastMessage: ArrayBuffer = new ArrayBuffer(0);

/** Records `message` as the current error and returns -1, for `return fail(...)`. */
export function fail(message: string): i32 {
  lastMessage = String.UTF8.encode(message);
  return -1;
}

export function lastMessagePtr(): usize {
  return changetype<usize>(lastMessage);
}

export function lastMessageLength(): u32 {
  return <u32>lastMessage.byteLength;
}

// Longer names are cut in messages: a damaged header can hold a "name" of megabytes.
const MAX_SHOWN_CHARS = 120;

/**
 * A name or dtype from the file as a message shows it: control characters escaped (a damaged
 * name can hold newlines), an empty one as "", a very long one cut short.
 */
export function shown(text: string): string {
  if (text.length == 0) return '""';
  let end = min(text.length, MAX_SHOWN_CHARS);
  // Never split a surrogate pair.
  if (end < text.length && (text.charCodeAt(end - 1) & 0xfc00) == 0xd800) end--;
  let result = '';
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c != 0x7f) result += String.fromCharCode(c);
    else result += '\\x' + (c < 0x10 ? '0' : '') + c.toString(16);
  }
  if (end < text.length) result += `… (${text.length} characters)`;
  return result;
}

/** "[64, 192]", the way shapes are written in safetensors headers and PyTorch. */
export function shapeText(dims: u64[]): string {
  let text = '[';
  for (let i = 0; i < dims.length; i++) {
    if (i > 0) text += ', ';
    text += dims[i].toString();
  }
  return text + ']';
}
