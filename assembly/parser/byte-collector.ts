// Gathers a field of known size (a length, a name, a whole safetensors header) whose bytes may
// arrive split across any number of pushes.

export class ByteCollector {
  buffer: usize = 0;
  size: u32 = 0;
  private capacity: u32 = 0;
  private filled: u32 = 0;

  /** Starts a new field of `size` bytes, growing the buffer if needed. */
  start(size: u32): void {
    if (size > this.capacity) {
      this.free();
      this.buffer = heap.alloc(size);
      this.capacity = size;
    }
    this.size = size;
    this.filled = 0;
  }

  get complete(): bool {
    return this.filled == this.size;
  }

  /** Copies what the field still needs from `length` bytes at `ptr`; returns the bytes taken. */
  feed(ptr: usize, length: u32): u32 {
    const take = min(length, this.size - this.filled);
    memory.copy(this.buffer + this.filled, ptr, take);
    this.filled += take;
    return take;
  }

  free(): void {
    if (this.buffer != 0) heap.free(this.buffer);
    this.buffer = 0;
    this.capacity = 0;
  }
}
