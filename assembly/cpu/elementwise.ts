// Element-wise kernels on f32 matrices [tokens, width], over the columns [start, end) only: a
// linear layer's thread runs them on the outputs it computed itself, in the same wake-up (the
// epilogue of KernelSplitter.run), so GELU and the residual add cost no pass of their own.
// `start` is a multiple of 4; a tail of fewer than 4 columns is done one value at a time.
import { tanh4 } from './simd';

/** The residual connection: x[t, c] += y[t, c]. */
export function addColumns(x: usize, y: usize, tokens: i32, width: i32, start: i32, end: i32): void {
  const rowBytes = <usize>width << 2;
  const vectorEnd = <usize>(start + ((end - start) & ~3)) << 2;
  for (let t: usize = 0; t < <usize>tokens; t++) {
    const xt = x + t * rowBytes, yt = y + t * rowBytes;
    let i = <usize>start << 2;
    for (; i < vectorEnd; i += 16) v128.store(xt + i, f32x4.add(v128.load(xt + i), v128.load(yt + i)));
    for (; i < <usize>end << 2; i += 4) store<f32>(xt + i, load<f32>(xt + i) + load<f32>(yt + i));
  }
}

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_CUBE: f32 = 0.044715;

/**
 * GPT-2's gelu_new, in place: 0.5 · x · (1 + tanh(sqrt(2/π) · (x + 0.044715 · x³))). The cube is
 * x · x · x: a pow() would be wrong for negative x on some platforms.
 */
export function geluColumns(x: usize, tokens: i32, width: i32, start: i32, end: i32): void {
  const rowBytes = <usize>width << 2;
  const vectorEnd = <usize>(start + ((end - start) & ~3)) << 2;
  for (let t: usize = 0; t < <usize>tokens; t++) {
    const xt = x + t * rowBytes;
    let i = <usize>start << 2;
    for (; i < vectorEnd; i += 16) {
      const v = v128.load(xt + i);
      const cube = f32x4.mul(f32x4.mul(v, v), v);
      const u = f32x4.mul(f32x4.splat(SQRT_2_OVER_PI), f32x4.add(v, f32x4.mul(f32x4.splat(GELU_CUBE), cube)));
      v128.store(xt + i, f32x4.mul(f32x4.mul(f32x4.splat(0.5), v), f32x4.add(f32x4.splat(1), tanh4(u))));
    }
    for (; i < <usize>end << 2; i += 4) {
      const v = load<f32>(xt + i);
      store<f32>(xt + i, 0.5 * v * (1 + Mathf.tanh(SQRT_2_OVER_PI * (v + GELU_CUBE * v * v * v))));
    }
  }
}
