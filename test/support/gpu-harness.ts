// Helpers for running single kernels in browser tests: upload arrays, run one pass, read back.
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../scripts/model-files.ts';
import { createGpuContext } from '../../src/gpu/device.ts';
import { STEP_UNIFORM_SIZE } from '../../src/gpu/kernels.ts';
import type { MatrixDtype } from '../../src/model/weight-layout.ts';

let devicePromise: Promise<GPUDevice> | undefined;

/** One device shared by a test file; WebGPU validation errors fail the test that caused them. */
export function testDevice(): Promise<GPUDevice> {
  devicePromise ??= createGpuContext().then(({ device }) => device);
  return devicePromise;
}

export function storageBuffer(device: GPUDevice, data: Float32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.max(16, data.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, data);
  return buffer;
}

export function stepBuffer(device: GPUDevice, rows: number, pos0 = 0): GPUBuffer {
  const buffer = device.createBuffer({ size: STEP_UNIFORM_SIZE, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, new Uint32Array([rows, pos0, 0, 0]));
  return buffer;
}

/** Records `encode` into one compute pass, submits it, and fails on any validation error. */
export async function runPass(device: GPUDevice, encode: (pass: GPUComputePassEncoder) => void): Promise<void> {
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  encode(pass);
  pass.end();
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  if (error) throw new Error(`WebGPU validation error: ${error.message}`);
  await device.queue.onSubmittedWorkDone();
}

export async function readFloats(device: GPUDevice, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  return new Float32Array(await readBytes(device, buffer, count * 4));
}

export async function readUints(device: GPUDevice, buffer: GPUBuffer, count: number): Promise<Uint32Array> {
  return new Uint32Array(await readBytes(device, buffer, count * 4));
}

async function readBytes(device: GPUDevice, buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const copy = staging.getMappedRange().slice(0);
  staging.destroy();
  return copy;
}

/**
 * A weight matrix as the parser lays it out for `dtype` (f32, or f16 packed two per u32 with the
 * even element in the low half), and the values the GPU will read from it, for the CPU reference.
 */
export function matrixData(values: Float32Array<ArrayBuffer>, dtype: MatrixDtype):
  { data: Float32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>; values: Float32Array<ArrayBuffer> } {
  if (dtype === 'f32') return { data: values, values };
  const packed = new Uint32Array(Math.ceil(values.length / 2));
  const rounded = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const bits = float32ToFloat16Bits(values[i]);
    rounded[i] = float16BitsToFloat32(bits);
    packed[i >> 1] |= bits << ((i & 1) * 16);
  }
  return { data: packed, values: rounded };
}

/** Deterministic values in [-scale, scale): every kernel test feeds negative inputs. */
export function signedRandom(count: number, seed: number, scale = 1): Float32Array<ArrayBuffer> {
  let state = seed >>> 0 || 1;
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = ((state >>> 0) / 2 ** 32 * 2 - 1) * scale;
  }
  return values;
}

export function maxAbsDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let max = 0;
  for (let i = 0; i < actual.length; i++) {
    const difference = Math.abs(actual[i] - expected[i]);
    max = Number.isNaN(difference) ? Infinity : Math.max(max, difference);
  }
  return max;
}
