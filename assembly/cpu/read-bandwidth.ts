// The memory read bandwidth one thread reaches: a sum over a large buffer, read once with 16-byte
// loads into eight independent accumulators (so the adds never wait on each other). The bench
// compares decoding's weight bandwidth with this.

/** Sum of the f32s in [start, end) of `ptr`-based memory; `end - start` is a multiple of 32 floats. */
export function sumF32(ptr: usize, start: i32, end: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  const last = ptr + (<usize>end << 2);
  for (let p = ptr + (<usize>start << 2); p < last; p += 128) {
    a0 = f32x4.add(a0, v128.load(p, 0));
    a1 = f32x4.add(a1, v128.load(p, 16));
    a2 = f32x4.add(a2, v128.load(p, 32));
    a3 = f32x4.add(a3, v128.load(p, 48));
    a4 = f32x4.add(a4, v128.load(p, 64));
    a5 = f32x4.add(a5, v128.load(p, 80));
    a6 = f32x4.add(a6, v128.load(p, 96));
    a7 = f32x4.add(a7, v128.load(p, 112));
  }
  const sum = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(sum, 0) + f32x4.extract_lane(sum, 1) + f32x4.extract_lane(sum, 2) + f32x4.extract_lane(sum, 3);
}
