// LayerNorm over each row of x [tokens, C]: out = (x - mean) / sqrt(var + 1e-5) · weight + bias.
// Two passes (mean, then variance about it), as PyTorch computes it. Needs C % 4 == 0.
import { sum4 } from './simd';

const EPSILON: f32 = 1e-5;

export function layerNorm(out: usize, x: usize, weight: usize, bias: usize, tokens: i32, C: i32): void {
  const rowBytes = <usize>C << 2;
  for (let t: usize = 0; t < <usize>tokens; t++) {
    const xt = x + t * rowBytes;
    const ot = out + t * rowBytes;
    let sum = f32x4.splat(0);
    for (let i: usize = 0; i < rowBytes; i += 16) sum = f32x4.add(sum, v128.load(xt + i));
    const mean = f32x4.splat(sum4(sum) / <f32>C);
    let squares = f32x4.splat(0);
    for (let i: usize = 0; i < rowBytes; i += 16) {
      const centered = f32x4.sub(v128.load(xt + i), mean);
      squares = f32x4.add(squares, f32x4.mul(centered, centered));
    }
    const inverseStd = f32x4.splat(1 / Mathf.sqrt(sum4(squares) / <f32>C + EPSILON));
    for (let i: usize = 0; i < rowBytes; i += 16) {
      const normalized = f32x4.mul(f32x4.sub(v128.load(xt + i), mean), inverseStd);
      v128.store(ot + i, f32x4.add(f32x4.mul(normalized, v128.load(weight + i)), v128.load(bias + i)));
    }
  }
}
