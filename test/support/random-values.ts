// Seeded test data for the kernel tests: the same values on every run, without a dependency.

/** Seeded values in [-scale, scale). */
export function randomValues(count: number, seed: number, scale = 1): Float32Array {
  let state = seed >>> 0 || 1;
  return Float32Array.from({ length: count }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 2 ** 32 * 2 - 1) * scale;
  });
}
