// The output piece pushBytes hands to JS: bytes for one slot at one byte offset. It points into
// WASM memory and is valid until the next pushBytes call.

export let pieceSlot: i32 = -1;
export let pieceByteOffset: u64 = 0;
export let piecePtr: usize = 0;
export let pieceLength: u32 = 0;

export function setPiece(slot: i32, byteOffset: u64, ptr: usize, length: u32): void {
  pieceSlot = slot;
  pieceByteOffset = byteOffset;
  piecePtr = ptr;
  pieceLength = length;
}

export function clearPiece(): void {
  setPiece(-1, 0, 0, 0);
}
