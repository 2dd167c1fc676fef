// Writes gpt2_weights.bin from a streaming safetensors checkpoint: every record's header first,
// then each tensor's data, converted to little-endian f32, at its planned offset as it streams
// past. Only one piece of one tensor is in memory at a time, whatever the file's size.
import { open } from 'node:fs/promises';
import type { Gpt2Config } from '../src/model/config.ts';
import { float16BitsToFloat32, legacyBinCount } from './model-files.ts';
import { type LegacyPlan, planLegacyWeights } from './legacy-weights-plan.ts';
import type { SafetensorsStream } from './safetensors-stream.ts';

let float16Table: Float32Array | undefined;

/** Little-endian f32 bytes for `bytes` of F32, F16 or BF16 elements. */
function float32Bytes(bytes: Uint8Array, dtype: string): Uint8Array {
  if (dtype === 'F32') return bytes;
  const input = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint8Array(bytes.length * 2);
  const output = new DataView(out.buffer);
  if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32.
    for (let i = 0; i < bytes.length / 2; i++) output.setUint32(i * 4, input.getUint16(i * 2, true) << 16, true);
    return out;
  }
  // Every f16 value is exact in f32; a table of all 65536 saves the per-element arithmetic on big files.
  float16Table ??= Float32Array.from({ length: 65536 }, (_, bits) => float16BitsToFloat32(bits));
  for (let i = 0; i < bytes.length / 2; i++) output.setFloat32(i * 4, float16Table[input.getUint16(i * 2, true)], true);
  return out;
}

/**
 * Writes the checkpoint to `path` as gpt2_weights.bin and returns what went where. Throws (leaving
 * a partial file at `path`) if the checkpoint does not match `config` or ends early.
 */
export async function writeLegacyWeights(
  checkpoint: SafetensorsStream,
  config: Gpt2Config,
  path: string,
  sourceName: string,
): Promise<LegacyPlan> {
  try {
    const plan = planLegacyWeights(checkpoint.tensors, config, sourceName);
    const recordBySource = new Map(plan.records.map((record) => [record.source, record]));
    const file = await open(path, 'w');
    try {
      await file.write(legacyBinCount(plan.records.length), 0, 4, 0);
      for (const record of plan.records) await file.write(record.header, 0, record.header.length, record.headerOffset);
      for await (const { tensor, byteOffset, bytes } of checkpoint.tensorData()) {
        const record = recordBySource.get(tensor);
        if (!record) continue;
        const floats = float32Bytes(bytes, tensor.dtype);
        await file.write(floats, 0, floats.length, record.dataOffset + (byteOffset / tensor.elementBytes) * 4);
      }
    } finally {
      await file.close();
    }
    return plan;
  } catch (error) {
    // Releases the source (an HTTP connection) when the plan or a write fails before the data is read.
    await checkpoint.close();
    throw error;
  }
}
