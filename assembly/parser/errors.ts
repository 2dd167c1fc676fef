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

/** "[64, 192]", the way shapes are written in safetensors headers and PyTorch. */
export function shapeText(dims: u64[]): string {
  let text = '[';
  for (let i = 0; i < dims.length; i++) {
    if (i > 0) text += ', ';
    text += dims[i].toString();
  }
  return text + ']';
}
