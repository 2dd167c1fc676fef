// Strict UTF-8 validation: String.UTF8.decode would quietly turn a damaged name into U+FFFD.

/** True if `length` bytes at `ptr` are well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
export function isValidUtf8(ptr: usize, length: u32): bool {
  return invalidUtf8At(ptr, length) < 0;
}

/** The offset of the first byte that does not start a well-formed UTF-8 character, or -1. */
export function invalidUtf8At(ptr: usize, length: u32): i64 {
  let i: u32 = 0;
  while (i < length) {
    const lead = <u32>load<u8>(ptr + i);
    if (lead < 0x80) {
      i++;
      continue;
    }
    let size: u32;
    let min: u32;
    let codePoint: u32;
    if ((lead & 0xe0) == 0xc0) {
      size = 2;
      min = 0x80;
      codePoint = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      size = 3;
      min = 0x800;
      codePoint = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      size = 4;
      min = 0x10000;
      codePoint = lead & 0x07;
    } else {
      return i;
    }
    if (i + size > length) return i;
    for (let k: u32 = 1; k < size; k++) {
      const next = <u32>load<u8>(ptr + i + k);
      if ((next & 0xc0) != 0x80) return i;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return i;
    i += size;
  }
  return -1;
}
