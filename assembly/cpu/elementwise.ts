// Element-wise kernels on f32 arrays; `count` is a multiple of 4.
import { tanh4 } from './simd';

/** The residual connection: x += y. */
export function addInPlace(x: usize, y: usize, count: i32): void {
  for (let i: usize = 0; i < <usize>count << 2; i += 16) v128.store(x + i, f32x4.add(v128.load(x + i), v128.load(y + i)));
}

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

/**
 * GPT-2's gelu_new, in place: 0.5 · x · (1 + tanh(sqrt(2/π) · (x + 0.044715 · x³))). The cube is
 * x · x · x: a pow() would be wrong for negative x on some platforms.
 */
export function geluInPlace(x: usize, count: i32): void {
  for (let i: usize = 0; i < <usize>count << 2; i += 16) {
    const v = v128.load(x + i);
    const cube = f32x4.mul(f32x4.mul(v, v), v);
    const u = f32x4.mul(f32x4.splat(SQRT_2_OVER_PI), f32x4.add(v, f32x4.mul(f32x4.splat(0.044715), cube)));
    v128.store(x + i, f32x4.mul(f32x4.mul(f32x4.splat(0.5), v), f32x4.add(f32x4.splat(1), tanh4(u))));
  }
}
