// The summary of one row of logits [count] (the next-token distribution after one position),
// computed where the logits are, so only k ids and log-probabilities leave WASM memory:
//
//   logSumExp(logits)  log Σ exp(logits), the softmax's normaliser
//   topTokens          the k largest logits, most likely first, as ids [k] u32 and
//                      logprobs [k] f32 = logit − logSumExp(logits)
//
// Both read the row four (logSumExp) or sixteen (topTokens) logits at a time; `count` need not be a
// multiple of either: the tail past the last whole vector is read one logit at a time.
import { exp4, max4 } from './simd';

/**
 * log Σ exp(logits[0 .. count)), by the max-shifted sum (no overflow) in f64 lanes (no loss over
 * 50257 terms). A row that is not a distribution says so rather than giving a plausible number:
 * NaN if any logit is NaN, +∞ if any is +∞, −∞ if every logit is −∞ (the sum is 0).
 */
export function logSumExp(logits: usize, count: i32): f32 {
  const vectorEnd = <usize>(count & ~3) << 2;
  const end = <usize>count << 2;
  // f32x4.max and max() return NaN if either side is NaN, so a NaN anywhere reaches `largest`.
  let largest4 = f32x4.splat(-Infinity);
  for (let i: usize = 0; i < vectorEnd; i += 16) largest4 = f32x4.max(largest4, v128.load(logits + i));
  let largest = max4(largest4);
  for (let i = vectorEnd; i < end; i += 4) largest = max(largest, load<f32>(logits + i));
  if (!isFinite(largest)) return largest;

  const shift = f32x4.splat(largest);
  let sumLow = f64x2.splat(0); // lanes 0 and 1 of every exp vector
  let sumHigh = f64x2.splat(0); // lanes 2 and 3
  for (let i: usize = 0; i < vectorEnd; i += 16) {
    const e = exp4(f32x4.sub(v128.load(logits + i), shift));
    sumLow = f64x2.add(sumLow, f64x2.promote_low_f32x4(e));
    sumHigh = f64x2.add(sumHigh, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
  }
  const sums = f64x2.add(sumLow, sumHigh);
  let sum = f64x2.extract_lane(sums, 0) + f64x2.extract_lane(sums, 1);
  for (let i = vectorEnd; i < end; i += 4) sum += Math.exp(<f64>(load<f32>(logits + i) - largest));
  return <f32>(<f64>largest + Math.log(sum));
}

/**
 * Writes the `k` largest of logits[0 .. count) to ids / logprobs, most likely first, equal logits
 * in id order (so ids[0] is `argmax`'s answer), and returns how many it wrote: k (at least 1), or fewer
 * when fewer than k logits are numbers. A NaN logit is never listed (no order places it); the
 * logprobs are then all NaN, as logSumExp is.
 */
export function topTokens(logits: usize, count: i32, k: i32, ids: usize, logprobs: usize): i32 {
  // The list is kept sorted in ids / logprobs (holding logits until the end).
  let listed = 0;
  let i = 0;
  for (; i < count && listed < k; i++) {
    const logit = load<f32>(logits + (<usize>i << 2));
    if (logit != logit) continue;
    insert(ids, logprobs, listed, i, logit);
    listed++;
  }
  if (listed == k) {
    // From here a logit enters only if it beats the k-th strictly: an equal one has a larger id.
    // Most blocks of 16 hold nothing that does, and cost one compare per vector to skip.
    let kth = load<f32>(logprobs + (<usize>(k - 1) << 2));
    for (; i + 16 <= count; i += 16) {
      const block = logits + (<usize>i << 2);
      const bar = f32x4.splat(kth);
      const above = v128.or(
        v128.or(f32x4.gt(v128.load(block), bar), f32x4.gt(v128.load(block, 16), bar)),
        v128.or(f32x4.gt(v128.load(block, 32), bar), f32x4.gt(v128.load(block, 48), bar)),
      );
      if (!v128.any_true(above)) continue;
      for (let j = i; j < i + 16; j++) kth = offer(ids, logprobs, k, j, load<f32>(logits + (<usize>j << 2)), kth);
    }
    for (; i < count; i++) kth = offer(ids, logprobs, k, i, load<f32>(logits + (<usize>i << 2)), kth);
  }
  const normaliser = logSumExp(logits, count);
  for (let j = 0; j < listed; j++) {
    const at = logprobs + (<usize>j << 2);
    store<f32>(at, load<f32>(at) - normaliser);
  }
  return listed;
}

/** Puts (logit, id) into a full list of k if it beats the k-th (NaN never does); returns the new k-th logit. */
@inline function offer(ids: usize, logits: usize, k: i32, id: i32, logit: f32, kth: f32): f32 {
  if (!(logit > kth)) return kth;
  insert(ids, logits, k - 1, id, logit);
  return load<f32>(logits + (<usize>(k - 1) << 2));
}

/** Inserts (logit, id) into the sorted list's first `length` entries, after every entry with a logit ≥ it (they have lower ids). */
function insert(ids: usize, logits: usize, length: i32, id: i32, logit: f32): void {
  let at = length;
  for (; at > 0; at--) {
    const above = load<f32>(logits + (<usize>(at - 1) << 2));
    if (above >= logit) break;
    store<f32>(logits + (<usize>at << 2), above);
    store<u32>(ids + (<usize>at << 2), load<u32>(ids + (<usize>(at - 1) << 2)));
  }
  store<f32>(logits + (<usize>at << 2), logit);
  store<u32>(ids + (<usize>at << 2), id);
}
