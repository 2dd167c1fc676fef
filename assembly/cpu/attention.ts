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
import { exp4, max4, sum4, sum4x4 } from './simd';

/** Appends this pass's keys and values to the layer's cache at positions [pos0, pos0 + tokens). */
export function writeKvCache(kCache: usize, vCache: usize, qkv: usize, tokens: i32, pos0: i32, C: i32, nHead: i32, nCtx: i32): void {
  const rowBytes = <usize>C << 2;
  const headBytes = rowBytes / <usize>nHead;
  const headCacheBytes = <usize>nCtx * headBytes;
  for (let t: usize = 0; t < <usize>tokens; t++) {
    const source = qkv + t * 3 * rowBytes;
    const position = (<usize>pos0 + t) * headBytes;
    for (let h: usize = 0; h < <usize>nHead; h++) {
      memory.copy(kCache + h * headCacheBytes + position, source + rowBytes + h * headBytes, headBytes);
      memory.copy(vCache + h * headCacheBytes + position, source + 2 * rowBytes + h * headBytes, headBytes);
    }
  }
}

export function attention(
  out: usize, qkv: usize, kCache: usize, vCache: usize, headScores: usize,
  tokens: i32, pos0: i32, C: i32, nHead: i32, nCtx: i32, headStart: i32, headEnd: i32,
): void {
  const headSize = C / nHead;
  const headBytes = <usize>headSize << 2;
  const rowBytes = <usize>C << 2;
  const scale: f32 = 1 / Mathf.sqrt(<f32>headSize);
  for (let t = 0; t < tokens; t++) {
    const visible = pos0 + t + 1; // causal: this token sees itself and everything before it
    for (let h = headStart; h < headEnd; h++) {
      const headOffset = <usize>h * headBytes;
      const q = qkv + <usize>t * 3 * rowBytes + headOffset;
      const keys = kCache + <usize>h * <usize>nCtx * headBytes;
      const values = vCache + <usize>h * <usize>nCtx * headBytes;
      const scores = headScores + <usize>h * (<usize>nCtx << 2);
      // Scores four keys at a time: each slice of q loaded once for the four, and the four sums
      // reduced together (sum4x4) instead of one horizontal sum per key.
      let largest4 = f32x4.splat(-Infinity);
      let j = 0;
      for (; j + 4 <= visible; j += 4) {
        const k0 = keys + <usize>j * headBytes;
        const k1 = k0 + headBytes, k2 = k1 + headBytes, k3 = k2 + headBytes;
        let d0 = f32x4.splat(0), d1 = f32x4.splat(0), d2 = f32x4.splat(0), d3 = f32x4.splat(0);
        for (let i: usize = 0; i < headBytes; i += 16) {
          const qi = v128.load(q + i);
          d0 = f32x4.add(d0, f32x4.mul(qi, v128.load(k0 + i)));
          d1 = f32x4.add(d1, f32x4.mul(qi, v128.load(k1 + i)));
          d2 = f32x4.add(d2, f32x4.mul(qi, v128.load(k2 + i)));
          d3 = f32x4.add(d3, f32x4.mul(qi, v128.load(k3 + i)));
        }
        const four = f32x4.mul(sum4x4(d0, d1, d2, d3), f32x4.splat(scale));
        v128.store(scores + (<usize>j << 2), four);
        largest4 = f32x4.max(largest4, four);
      }
      let largest = max4(largest4);
      for (; j < visible; j++) {
        const k = keys + <usize>j * headBytes;
        let dot = f32x4.splat(0);
        for (let i: usize = 0; i < headBytes; i += 16) dot = f32x4.add(dot, f32x4.mul(v128.load(q + i), v128.load(k + i)));
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
      let i: usize = 0;
      for (; i + 128 <= headBytes; i += 128) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
        let v = values + i;
        for (let j = 0; j < visible; j++) {
          const p = f32x4.splat(load<f32>(scores + (<usize>j << 2)));
          a0 = f32x4.add(a0, f32x4.mul(p, v128.load(v)));
          a1 = f32x4.add(a1, f32x4.mul(p, v128.load(v, 16)));
          a2 = f32x4.add(a2, f32x4.mul(p, v128.load(v, 32)));
          a3 = f32x4.add(a3, f32x4.mul(p, v128.load(v, 48)));
          a4 = f32x4.add(a4, f32x4.mul(p, v128.load(v, 64)));
          a5 = f32x4.add(a5, f32x4.mul(p, v128.load(v, 80)));
          a6 = f32x4.add(a6, f32x4.mul(p, v128.load(v, 96)));
          a7 = f32x4.add(a7, f32x4.mul(p, v128.load(v, 112)));
          v += headBytes;
        }
        storeScaled4(o + i, a0, a1, a2, a3, norm);
        storeScaled4(o + i + 64, a4, a5, a6, a7, norm);
      }
      if (i < headBytes) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let v = values + i;
        for (let j = 0; j < visible; j++) {
          const p = f32x4.splat(load<f32>(scores + (<usize>j << 2)));
          a0 = f32x4.add(a0, f32x4.mul(p, v128.load(v)));
          a1 = f32x4.add(a1, f32x4.mul(p, v128.load(v, 16)));
          a2 = f32x4.add(a2, f32x4.mul(p, v128.load(v, 32)));
          a3 = f32x4.add(a3, f32x4.mul(p, v128.load(v, 48)));
          v += headBytes;
        }
        storeScaled4(o + i, a0, a1, a2, a3, norm);
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
