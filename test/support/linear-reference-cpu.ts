// The float64 reference of a linear layer and the error measure the CPU kernels' tests hold
// their results to.

/** out[t, r] = x[t] · W[r] + b[r], in float64. */
export function linearReference(x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>, tokens: number, rows: number, cols: number): Float64Array {
  const out = new Float64Array(tokens * rows);
  for (let t = 0; t < tokens; t++) {
    for (let r = 0; r < rows; r++) {
      let sum = bias[r];
      for (let c = 0; c < cols; c++) sum += x[t * cols + c] * weight[r * cols + c];
      out[t * rows + r] = sum;
    }
  }
  return out;
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i] - b[i]));
  return largest;
}
