// The linear kernels' float64 CPU reference and a helper that runs one pass of a kernel, shared
// by the browser tests (every variant, f32 and f16 storage) and the dawn tests (f16 arithmetic).
import { Epilogue, type LinearKernel, type LinearShape } from '../../src/gpu/kernels.ts';
import { readFloats, runPass, stepBuffer, storageBuffer } from './gpu-harness.ts';

export function geluNew(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

export function referenceLinear(shape: LinearShape, rows: number, input: Float32Array, weight: Float32Array,
  bias: Float32Array, initialOut: Float32Array): Float64Array {
  const { inFeatures: K, outFeatures: N } = shape;
  const out = Float64Array.from(initialOut);
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      let y = shape.hasBias ? bias[n] : 0;
      for (let k = 0; k < K; k++) y += input[r * K + k] * weight[n * K + k];
      if (shape.epilogue === Epilogue.gelu) y = geluNew(y);
      out[r * N + n] = shape.epilogue === Epilogue.residualAdd ? out[r * N + n] + y : y;
    }
  }
  return out;
}

export interface LinearInputs {
  input: Float32Array<ArrayBuffer>;
  weight: Float32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>; // as the parser lays it out (matrixData)
  bias: Float32Array<ArrayBuffer>;
  initialOut: Float32Array<ArrayBuffer>; // what the residual-add epilogue adds to
}

/** One pass of `kernel` over `rows` rows, every variant compiled first; returns out. */
export async function runLinearKernel(device: GPUDevice, kernel: LinearKernel, rows: number,
  { input, weight, bias, initialOut }: LinearInputs): Promise<Float32Array> {
  await kernel.ready();
  const out = storageBuffer(device, initialOut);
  const bindGroup = kernel.bind(device, stepBuffer(device, rows), storageBuffer(device, input), storageBuffer(device, weight),
    storageBuffer(device, bias), out);
  await runPass(device, (pass) => kernel.dispatch(pass, bindGroup, rows));
  return readFloats(device, out, rows * kernel.shape.outFeatures);
}
