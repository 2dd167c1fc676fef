// Linear layer with f16 weights, converted to f32 in SIMD as they are read:
// out[t, r] = x[t, :] · W[r, :] + b[r] for rows [rowStart, rowEnd) of W [rows, cols].
//
// W holds two halves per u32 (the even element in the low half). A 16-byte load is 8 elements;
// shifting left by 16 exposes the even ones (0, 2, 4, 6), masking the top half the odd ones, each
// ready for halvesHighToF32. So x is given "split": each block of 8 as [x0 x2 x4 x6 x1 x3 x5 x7]
// (splitEvenOdd makes it), and the dot product pairs even weights with even inputs. As in
// linear-f32.ts, one row at a time; a prompt's tokens four at a time, so each weight is converted
// once per four tokens. Needs cols % 16 == 0.
import { halvesHighToF32, sum4 } from './simd';

/** Rearranges each block of 8 floats of `src` [count] into [even four, odd four] in `dst`. */
export function splitEvenOdd(dst: usize, src: usize, count: i32): void {
  for (let i: usize = 0; i < <usize>count << 2; i += 32) {
    const a = v128.load(src + i);
    const b = v128.load(src + i, 16);
    v128.store(dst + i, v128.shuffle<f32>(a, b, 0, 2, 4, 6));
    v128.store(dst + i, v128.shuffle<f32>(a, b, 1, 3, 5, 7), 16);
  }
}

@inline function evenHalves(packed: v128): v128 {
  return halvesHighToF32(i32x4.shl(packed, 16));
}

@inline function oddHalves(packed: v128): v128 {
  return halvesHighToF32(v128.and(packed, i32x4.splat(0xffff0000)));
}

export function linearF16(
  out: usize, xSplit: usize, weight: usize, bias: usize,
  tokens: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32,
): void {
  const rowBytes = <usize>cols << 1;
  const xRowBytes = <usize>cols << 2;
  const outStride = <usize>rows << 2;
  for (let row = rowStart; row < rowEnd; row++) {
    const w = weight + <usize>row * rowBytes;
    const b = load<f32>(bias + (<usize>row << 2));
    const o = out + (<usize>row << 2);
    let t = 0;
    for (; t + 4 <= tokens; t += 4) {
      let x0 = xSplit + <usize>t * xRowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let i: usize = 0; i < rowBytes; i += 16) {
        const packed = v128.load(w + i);
        const even = evenHalves(packed);
        const odd = oddHalves(packed);
        a0 = f32x4.add(a0, f32x4.add(f32x4.mul(even, v128.load(x0)), f32x4.mul(odd, v128.load(x0, 16))));
        const x1 = x0 + xRowBytes;
        a1 = f32x4.add(a1, f32x4.add(f32x4.mul(even, v128.load(x1)), f32x4.mul(odd, v128.load(x1, 16))));
        const x2 = x1 + xRowBytes;
        a2 = f32x4.add(a2, f32x4.add(f32x4.mul(even, v128.load(x2)), f32x4.mul(odd, v128.load(x2, 16))));
        const x3 = x2 + xRowBytes;
        a3 = f32x4.add(a3, f32x4.add(f32x4.mul(even, v128.load(x3)), f32x4.mul(odd, v128.load(x3, 16))));
        x0 += 32;
      }
      const ot = o + <usize>t * outStride;
      store<f32>(ot, sum4(a0) + b);
      store<f32>(ot + outStride, sum4(a1) + b);
      store<f32>(ot + 2 * outStride, sum4(a2) + b);
      store<f32>(ot + 3 * outStride, sum4(a3) + b);
    }
    for (; t < tokens; t++) {
      let xt = xSplit + <usize>t * xRowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let i: usize = 0; i < rowBytes; i += 32) {
        const p = v128.load(w + i);
        const q = v128.load(w + i, 16);
        a0 = f32x4.add(a0, f32x4.mul(evenHalves(p), v128.load(xt)));
        a1 = f32x4.add(a1, f32x4.mul(oddHalves(p), v128.load(xt, 16)));
        a2 = f32x4.add(a2, f32x4.mul(evenHalves(q), v128.load(xt, 32)));
        a3 = f32x4.add(a3, f32x4.mul(oddHalves(q), v128.load(xt, 48)));
        xt += 64;
      }
      store<f32>(o + <usize>t * outStride, sum4(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3))) + b);
    }
  }
}
