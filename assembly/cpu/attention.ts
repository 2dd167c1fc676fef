// Causal self-attention over the KV cache, for `tokens` new tokens at positions [pos0, pos0 + tokens).
//
//   qkv     [tokens, 3C]  this pass's Q | K | V (from c_attn)
//   kCache  [nHead, nCtx, headSize]  this layer's keys, head-major; vCache likewise
//   out     [tokens, C]   each head's softmax(q·kᵀ / sqrt(headSize)) · v, heads side by side
//   scores  [nHead, nCtx] scratch: each head's scores, then probabilities
//
// Heads [headStart, headEnd) only, so threads can split the heads. The new keys and values must be
// in the cache first (writeKvCache). Needs headSize % 16 == 0.
//
// The caches are head-major so that each head reads its keys, then its values, as one contiguous
// block, which the hardware prefetchers follow; position-major, a head read 256 bytes of every
// 3 KB row. 12 layers on one thread in Chromium 156, caches evicted between steps as the weights
// evict them: 2.95 ms against 3.92 at context 512, 5.03 against 7.53 at 1016, 1.09 against 1.05 at
// 128 (the best of 7).
//
// A cache holds f32, or bf16 (the "Bf16" kernels): the top half of each f32, rounded to nearest
// even, which halves the bytes attention reads at every step and the cache's memory. Each 8
// values of a head's row are stored as the halves [x0 x4 x1 x5 x2 x6 x3 x7], so that one 16-byte
// load gives x0..x3 by a shift left of each 32-bit lane and x4..x7 by masking its low half: a
// widening costs one operation per four values.
import { exp4, max4, sum4, sum4x4 } from './simd';

/** Appends this pass's keys and values to the layer's cache at positions [pos0, pos0 + tokens). */
export function writeKvCache(kCache: usize, vCache: usize, qkv: usize, tokens: i32, pos0: i32, C: i32, nHead: i32, nCtx: i32): void {
  writeKvCacheOf<f32>(kCache, vCache, qkv, tokens, pos0, C, nHead, nCtx);
}

/** writeKvCache into bf16 caches. */
export function writeKvCacheBf16(kCache: usize, vCache: usize, qkv: usize, tokens: i32, pos0: i32, C: i32, nHead: i32, nCtx: i32): void {
  writeKvCacheOf<u16>(kCache, vCache, qkv, tokens, pos0, C, nHead, nCtx);
}

export function attention(
  out: usize, qkv: usize, kCache: usize, vCache: usize, headScores: usize,
  tokens: i32, pos0: i32, C: i32, nHead: i32, nCtx: i32, headStart: i32, headEnd: i32,
): void {
  attentionOf<f32>(out, qkv, kCache, vCache, headScores, tokens, pos0, C, nHead, nCtx, headStart, headEnd);
}

/** attention over bf16 caches. */
export function attentionBf16(
  out: usize, qkv: usize, kCache: usize, vCache: usize, headScores: usize,
  tokens: i32, pos0: i32, C: i32, nHead: i32, nCtx: i32, headStart: i32, headEnd: i32,
): void {
  attentionOf<u16>(out, qkv, kCache, vCache, headScores, tokens, pos0, C, nHead, nCtx, headStart, headEnd);
}

// The cache's element, T: f32, or u16 for bf16. Both kernels are compiled from one body; each
// `sizeof<T>()` test is decided at compile time.

@inline function writeKvCacheOf<T>(kCache: usize, vCache: usize, qkv: usize, tokens: i32, pos0: i32, C: i32, nHead: i32, nCtx: i32): void {
  const rowBytes = <usize>C << 2;
  const headSize = <usize>(C / nHead);
  const headBytes = headSize << 2;
  const cachedHeadBytes = headSize * sizeof<T>();
  const headCacheBytes = <usize>nCtx * cachedHeadBytes;
  for (let t: usize = 0; t < <usize>tokens; t++) {
    const source = qkv + t * 3 * rowBytes;
    const position = (<usize>pos0 + t) * cachedHeadBytes;
    for (let h: usize = 0; h < <usize>nHead; h++) {
      const keys = source + rowBytes + h * headBytes, values = keys + rowBytes;
      const k = kCache + h * headCacheBytes + position, v = vCache + h * headCacheBytes + position;
      if (sizeof<T>() == 4) {
        memory.copy(k, keys, headBytes);
        memory.copy(v, values, headBytes);
      } else {
        for (let e: usize = 0; e < headSize; e += 8) {
          v128.store(k + (e << 1), packBf16(v128.load(keys + (e << 2)), v128.load(keys + (e << 2), 16)));
          v128.store(v + (e << 1), packBf16(v128.load(values + (e << 2)), v128.load(values + (e << 2), 16)));
        }
      }
    }
  }
}

/** Eight f32s, x0..x3 in `low` and x4..x7 in `high`, as bf16 halves [x0 x4 x1 x5 x2 x6 x3 x7]. */
@inline function packBf16(low: v128, high: v128): v128 {
  return v128.or(i32x4.shr_u(roundToBf16(low), 16), v128.and(roundToBf16(high), i32x4.splat(0xffff0000)));
}

/** f32 bits rounded to nearest even at bit 16, so that the top half is the nearest bf16. */
@inline function roundToBf16(x: v128): v128 {
  const lowestKept = v128.and(i32x4.shr_u(x, 16), i32x4.splat(1));
  return i32x4.add(x, i32x4.add(i32x4.splat(0x7fff), lowestKept));
}

/** Values 0..3 of the eight cached at `p` (a head's row from a multiple of 8), as f32s. */
@inline function cachedLow<T>(p: usize): v128 {
  if (sizeof<T>() == 4) return v128.load(p);
  return i32x4.shl(v128.load(p), 16);
}

/** Values 4..7 of the same eight. */
@inline function cachedHigh<T>(p: usize): v128 {
  if (sizeof<T>() == 4) return v128.load(p, 16);
  return v128.and(v128.load(p), i32x4.splat(0xffff0000));
}

@inline function attentionOf<T>(
  out: usize, qkv: usize, kCache: usize, vCache: usize, headScores: usize,
  tokens: i32, pos0: i32, C: i32, nHead: i32, nCtx: i32, headStart: i32, headEnd: i32,
): void {
  const headSize = <usize>(C / nHead);
  const headBytes = headSize << 2;
  const cachedHeadBytes = headSize * sizeof<T>(); // one position of one head in the cache
  const rowBytes = <usize>C << 2;
  const scale: f32 = 1 / Mathf.sqrt(<f32>headSize);
  for (let t = 0; t < tokens; t++) {
    const visible = pos0 + t + 1; // causal: this token sees itself and everything before it
    for (let h = headStart; h < headEnd; h++) {
      const headOffset = <usize>h * headBytes;
      const q = qkv + <usize>t * 3 * rowBytes + headOffset;
      const keys = kCache + <usize>h * <usize>nCtx * cachedHeadBytes;
      const values = vCache + <usize>h * <usize>nCtx * cachedHeadBytes;
      const scores = headScores + <usize>h * (<usize>nCtx << 2);
      // Scores four keys at a time: each slice of q loaded once for the four, and the four sums
      // reduced together (sum4x4) instead of one horizontal sum per key.
      let largest4 = f32x4.splat(-Infinity);
      let j = 0;
      for (; j + 4 <= visible; j += 4) {
        const k0 = keys + <usize>j * cachedHeadBytes;
        const k1 = k0 + cachedHeadBytes, k2 = k1 + cachedHeadBytes, k3 = k2 + cachedHeadBytes;
        let d0 = f32x4.splat(0), d1 = f32x4.splat(0), d2 = f32x4.splat(0), d3 = f32x4.splat(0);
        for (let e: usize = 0; e < headSize; e += 8) {
          const qLow = v128.load(q + (e << 2)), qHigh = v128.load(q + (e << 2), 16);
          const c = e * sizeof<T>();
          d0 = f32x4.add(f32x4.add(d0, f32x4.mul(qLow, cachedLow<T>(k0 + c))), f32x4.mul(qHigh, cachedHigh<T>(k0 + c)));
          d1 = f32x4.add(f32x4.add(d1, f32x4.mul(qLow, cachedLow<T>(k1 + c))), f32x4.mul(qHigh, cachedHigh<T>(k1 + c)));
          d2 = f32x4.add(f32x4.add(d2, f32x4.mul(qLow, cachedLow<T>(k2 + c))), f32x4.mul(qHigh, cachedHigh<T>(k2 + c)));
          d3 = f32x4.add(f32x4.add(d3, f32x4.mul(qLow, cachedLow<T>(k3 + c))), f32x4.mul(qHigh, cachedHigh<T>(k3 + c)));
        }
        const four = f32x4.mul(sum4x4(d0, d1, d2, d3), f32x4.splat(scale));
        v128.store(scores + (<usize>j << 2), four);
        largest4 = f32x4.max(largest4, four);
      }
      let largest = max4(largest4);
      for (; j < visible; j++) {
        const k = keys + <usize>j * cachedHeadBytes;
        let dot = f32x4.splat(0);
        for (let e: usize = 0; e < headSize; e += 8) {
          const c = e * sizeof<T>();
          dot = f32x4.add(f32x4.add(dot, f32x4.mul(v128.load(q + (e << 2)), cachedLow<T>(k + c))), f32x4.mul(v128.load(q + (e << 2), 16), cachedHigh<T>(k + c)));
        }
        const score = sum4(dot) * scale;
        store<f32>(scores + (<usize>j << 2), score);
        largest = max(largest, score);
      }
      // Softmax, four scores at a time; the tail past `visible` is scratch and not used.
      const shift = f32x4.splat(largest);
      let total = f32x4.splat(0);
      const tail = visible & ~3;
      for (let j = 0; j < tail; j += 4) {
        const p = exp4(f32x4.sub(v128.load(scores + (<usize>j << 2)), shift));
        v128.store(scores + (<usize>j << 2), p);
        total = f32x4.add(total, p);
      }
      let tailTotal: f32 = 0;
      for (let j = tail; j < visible; j++) {
        const p = Mathf.exp(load<f32>(scores + (<usize>j << 2)) - largest);
        store<f32>(scores + (<usize>j << 2), p);
        tailTotal += p;
      }
      const inverseTotal: f32 = <f32>1 / (sum4(total) + tailTotal);
      // out = Σ p_j v_j, thirty-two outputs a pass (the last sixteen alone when the head size is an
      // odd multiple of 16), so that their sums stay in registers while each pass reads two
      // adjacent cache lines of every position's values. At context 1016, 12 layers' attention on
      // one thread (Chromium 156, position-major caches in memory) took 3.7 ms against 4.5 with
      // sixteen outputs a pass (one line a position); with all 64 at once the sums no longer fit
      // the registers (4.0).
      const o = out + <usize>t * rowBytes + headOffset;
      const norm = f32x4.splat(inverseTotal);
      const eight = 8 * sizeof<T>(); // bytes of eight cached values
      let e: usize = 0;
      for (; e + 32 <= headSize; e += 32) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
        let v = values + e * sizeof<T>();
        for (let j = 0; j < visible; j++) {
          const p = f32x4.splat(load<f32>(scores + (<usize>j << 2)));
          a0 = f32x4.add(a0, f32x4.mul(p, cachedLow<T>(v)));
          a1 = f32x4.add(a1, f32x4.mul(p, cachedHigh<T>(v)));
          a2 = f32x4.add(a2, f32x4.mul(p, cachedLow<T>(v + eight)));
          a3 = f32x4.add(a3, f32x4.mul(p, cachedHigh<T>(v + eight)));
          a4 = f32x4.add(a4, f32x4.mul(p, cachedLow<T>(v + 2 * eight)));
          a5 = f32x4.add(a5, f32x4.mul(p, cachedHigh<T>(v + 2 * eight)));
          a6 = f32x4.add(a6, f32x4.mul(p, cachedLow<T>(v + 3 * eight)));
          a7 = f32x4.add(a7, f32x4.mul(p, cachedHigh<T>(v + 3 * eight)));
          v += cachedHeadBytes;
        }
        storeScaled4(o + (e << 2), a0, a1, a2, a3, norm);
        storeScaled4(o + (e << 2) + 64, a4, a5, a6, a7, norm);
      }
      if (e < headSize) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let v = values + e * sizeof<T>();
        for (let j = 0; j < visible; j++) {
          const p = f32x4.splat(load<f32>(scores + (<usize>j << 2)));
          a0 = f32x4.add(a0, f32x4.mul(p, cachedLow<T>(v)));
          a1 = f32x4.add(a1, f32x4.mul(p, cachedHigh<T>(v)));
          a2 = f32x4.add(a2, f32x4.mul(p, cachedLow<T>(v + eight)));
          a3 = f32x4.add(a3, f32x4.mul(p, cachedHigh<T>(v + eight)));
          v += cachedHeadBytes;
        }
        storeScaled4(o + (e << 2), a0, a1, a2, a3, norm);
      }
    }
  }
}

/** Sixteen floats at `o`: a0..a3 times `norm`. */
@inline function storeScaled4(o: usize, a0: v128, a1: v128, a2: v128, a3: v128, norm: v128): void {
  v128.store(o, f32x4.mul(a0, norm));
  v128.store(o, f32x4.mul(a1, norm), 16);
  v128.store(o, f32x4.mul(a2, norm), 32);
  v128.store(o, f32x4.mul(a3, norm), 48);
}
