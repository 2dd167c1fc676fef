// Damaged, truncated and mismatched weight files: each must fail with a message that says what
// is wrong, where, and what to do.
import { beforeAll, describe, expect, it } from 'vitest';
import type { MatrixDtype } from '../../src/model/weight-layout.ts';
import type { WeightFile } from '../../src/worker/load-weights.ts';
import { WeightsFormatError, type WeightsParser } from '../../src/worker/weights-parser.ts';
import {
  MemorySink,
  ODD_CONFIG,
  TINY_CONFIG,
  type RawTensor,
  concat,
  createParser,
  encodeLegacyBin,
  encodeSafetensors,
  encodeValues,
  fixture,
  legacyConfigText,
  load,
  memoryFile,
  randomTensors,
  safetensorsSource,
  u32,
  withHeader,
} from './weights-helpers.ts';
import { loadWeights } from '../../src/worker/load-weights.ts';

let parser: WeightsParser;
beforeAll(async () => {
  parser = await createParser();
});

const tensors = randomTensors(ODD_CONFIG, 'F32');
const byName = (name: string) => tensors.find((tensor) => tensor.name === `transformer.${name}`)!;
const without = (...names: string[]) => tensors.filter((tensor) => !names.includes(tensor.name.replace('transformer.', '')));

function loadSafetensors(file: Uint8Array | WeightFile, matrixDtype: MatrixDtype = 'f32') {
  const weightFile = file instanceof Uint8Array ? memoryFile('model.safetensors', file) : file;
  return load(parser, safetensorsSource(ODD_CONFIG, [weightFile]), matrixDtype);
}

function loadLegacy(file: Uint8Array, config = ODD_CONFIG) {
  return load(parser, { format: 'legacy-bin', config: { format: 'text', bytes: legacyConfigText(config) }, files: [memoryFile('gpt2_weights.bin', file)] });
}

/** A file that claims `size` bytes but only ever yields `bytes`, then waits forever. */
function hugeFile(bytes: Uint8Array, size: number): WeightFile {
  return {
    name: 'model.safetensors',
    size,
    stream: () => new ReadableStream({ start: (controller) => controller.enqueue(bytes) }),
  };
}

function withFloat(tensor: RawTensor, index: number, value: number): RawTensor {
  const values = new Float32Array(tensor.bytes.slice().buffer);
  values[index] = value;
  return { ...tensor, bytes: new Uint8Array(values.buffer) };
}

function replaced(tensor: RawTensor): RawTensor[] {
  return tensors.map((each) => (each.name === tensor.name ? tensor : each));
}

describe('safetensors header', () => {
  it('rejects a header length larger than the file', async () => {
    const file = fixture('model.safetensors');
    new DataView(file.buffer).setBigUint64(0, BigInt(file.length), true);
    await expect(load(parser, { format: 'safetensors', config: { format: 'json', bytes: fixture('config.json') }, files: [memoryFile('model.safetensors', file)] })).rejects.toThrow(
      'safetensors header length 13301712 is larger than the file (13301712 bytes): this is not a safetensors file, or it was cut short — download it again',
    );
  });

  it('rejects an absurd header length without allocating it', async () => {
    const before = parser.memoryBytes;
    const file = encodeSafetensors(tensors);
    new DataView(file.buffer).setBigUint64(0, 2n ** 62n, true);
    await expect(loadSafetensors(file)).rejects.toThrow(`safetensors header length 4611686018427387904 is larger than the file (${file.length} bytes)`);
    const inFile = hugeFile(concat([new Uint8Array(new BigUint64Array([150_000_000n]).buffer)]), 200_000_000);
    await expect(loadSafetensors(inFile)).rejects.toThrow('safetensors header length 150000000 is over the 100000000 byte limit');
    expect(parser.memoryBytes - before).toBeLessThan(1 << 20);
  });

  it('reports invalid JSON with its byte position in the file', async () => {
    await expect(loadSafetensors(withHeader('{"__metadata__": {},}', new Uint8Array()))).rejects.toThrow(
      'the safetensors header is not valid JSON: expected a quoted key at byte 28 of the file',
    );
    await expect(loadSafetensors(withHeader('{"a": {"dtype": "F32"', new Uint8Array()))).rejects.toThrow(
      'the safetensors header is not valid JSON: unexpected end of the text at byte 29 of the file',
    );
    await expect(loadSafetensors(withHeader('[1, 2]', new Uint8Array()))).rejects.toThrow('the safetensors header is not a JSON object');
  });

  it('rejects data_offsets past the end of the file', async () => {
    const file = encodeSafetensors(tensors, { 'transformer.ln_f.bias': { dtype: 'F32', shape: [9], data_offsets: [100_000, 100_036] } });
    const dataStart = file.length - tensors.reduce((sum, tensor) => sum + tensor.bytes.length, 0);
    await expect(loadSafetensors(file)).rejects.toThrow(
      `file ends at byte ${file.length} but tensor transformer.ln_f.bias needs bytes up to ${dataStart + 100_036}: the download is incomplete or the file is damaged — download it again`,
    );
  });

  it('rejects overlapping tensors, naming both', async () => {
    const file = encodeSafetensors(tensors, { 'transformer.wpe.weight': { dtype: 'F32', shape: [7, 9], data_offsets: [1000, 1252] } });
    await expect(loadSafetensors(file)).rejects.toThrow(
      'tensor transformer.wte.weight data_offsets [0, 1332] overlap tensor transformer.wpe.weight [1000, 1252]',
    );
  });

  it('rejects data_offsets that disagree with dtype and shape', async () => {
    const file = encodeSafetensors(tensors, { 'transformer.wte.weight': { dtype: 'F16', shape: [37, 9], data_offsets: [0, 1332] } });
    await expect(loadSafetensors(file)).rejects.toThrow(
      'tensor transformer.wte.weight data_offsets [0, 1332] hold 1332 bytes but F16 [37, 9] needs 666',
    );
  });

  it('rejects an unsupported dtype', async () => {
    const file = encodeSafetensors(replaced({ ...byName('wte.weight'), dtype: 'I64' }));
    await expect(loadSafetensors(file)).rejects.toThrow(
      'unsupported dtype I64 for tensor transformer.wte.weight: only F32, F16 and BF16 are supported',
    );
  });

  it('reports missing tensors right after the header, before writing anything', async () => {
    const sink = new MemorySink();
    let writes = 0;
    sink.write = () => void writes++;
    const file = memoryFile('model.safetensors', encodeSafetensors(without('h.1.mlp.c_fc.weight', 'ln_f.bias')), 512);
    await expect(loadWeights(parser, safetensorsSource(ODD_CONFIG, [file]), sink, { matrixDtype: 'f32' })).rejects.toThrow(
      'missing tensors: ln_f.bias, h.1.mlp.c_fc.weight (the file is not a complete GPT-2 checkpoint)',
    );
    expect(writes).toBe(0);
  });

  it('rejects a shape that disagrees with the config', async () => {
    const file = encodeSafetensors(replaced({ ...byName('h.0.attn.c_attn.weight'), shape: [27, 9] }));
    await expect(loadSafetensors(file)).rejects.toThrow(
      'tensor transformer.h.0.attn.c_attn.weight has shape [27, 9] but the config (n_embd 9) needs [9, 27]: the config does not belong to this checkpoint',
    );
    const wrongConfig = { ...TINY_CONFIG, nEmbd: 32 };
    const source = { format: 'safetensors' as const, config: { format: 'text' as const, bytes: legacyConfigText(wrongConfig) }, files: [memoryFile('model.safetensors', fixture('model.safetensors'))] };
    await expect(load(parser, source)).rejects.toThrow(
      'tensor transformer.wte.weight has shape [50257, 64] but the config (vocab_size 50257, n_embd 32) needs [50257, 32]',
    );
  });

  it('rejects a tied lm_head of the wrong shape', async () => {
    const file = encodeSafetensors([...tensors, { name: 'lm_head.weight', dtype: 'F32', shape: [9, 37], bytes: new Uint8Array(1332) }]);
    await expect(loadSafetensors(file)).rejects.toThrow('tensor lm_head.weight has shape [9, 37] but it is tied to wte');
  });

  it('rejects two tensors for one weight and layers the config lacks', async () => {
    const duplicate = encodeSafetensors([...tensors, { ...byName('h.0.ln_1.weight'), name: 'h.0.ln_1.weight' }]);
    await expect(loadSafetensors(duplicate)).rejects.toThrow(
      'tensors transformer.h.0.ln_1.weight and h.0.ln_1.weight are both h.0.ln_1.weight: a checkpoint must hold each weight once',
    );
    const extraLayer = encodeSafetensors([...tensors, { ...byName('h.0.ln_1.weight'), name: 'h.2.ln_1.weight' }]);
    await expect(loadSafetensors(extraLayer)).rejects.toThrow(
      'tensor h.2.ln_1.weight is for a layer this model does not have (the config says n_layer 2)',
    );
  });

  it('rejects entries without data_offsets or dtype', async () => {
    const file = encodeSafetensors(tensors, { 'transformer.ln_f.bias': { dtype: 'F32', shape: [9] } });
    await expect(loadSafetensors(file)).rejects.toThrow('tensor transformer.ln_f.bias in the safetensors header has no data_offsets');
    const badShape = encodeSafetensors(tensors, { 'transformer.ln_f.bias': { dtype: 'F32', shape: [-9], data_offsets: [0, 0] } });
    await expect(loadSafetensors(badShape)).rejects.toThrow('tensor transformer.ln_f.bias in the safetensors header has a shape that is not a list of whole numbers');
  });
});

describe('safetensors data', () => {
  it('rejects a file cut short inside the data', async () => {
    const full = fixture('model.safetensors');
    const file = full.slice(0, 13_200_000);
    const source = { format: 'safetensors' as const, config: { format: 'json' as const, bytes: fixture('config.json') }, files: [memoryFile('model.safetensors', file)] };
    await expect(load(parser, source)).rejects.toThrow(
      'file ends at byte 13200000 but tensor transformer.h.1.mlp.c_fc.weight needs bytes up to 13234384: the download is incomplete',
    );
  });

  it('rejects a stream shorter or longer than the size it was given', async () => {
    const file = encodeSafetensors(tensors);
    const short = { ...memoryFile('model.safetensors', file.slice(0, file.length - 10)), size: file.length };
    await expect(loadSafetensors(short)).rejects.toThrow(
      `the file ended after ${file.length - 10} of its ${file.length} bytes: the download was cut short — download it again`,
    );
    const long = { ...memoryFile('model.safetensors', concat([file, new Uint8Array(5)])), size: file.length };
    await expect(loadSafetensors(long)).rejects.toThrow(`received more than the ${file.length} bytes the file was said to have`);
  });

  it('rejects NaN and infinite weights, naming tensor and element', async () => {
    await expect(loadSafetensors(encodeSafetensors(replaced(withFloat(byName('h.1.ln_1.weight'), 5, NaN))))).rejects.toThrow(
      'tensor transformer.h.1.ln_1.weight contains NaN at element 5: the checkpoint is damaged — download it again',
    );
    await expect(loadSafetensors(encodeSafetensors(replaced(withFloat(byName('h.0.mlp.c_fc.weight'), 300, -Infinity))), 'f16')).rejects.toThrow(
      'tensor transformer.h.0.mlp.c_fc.weight contains -Infinity at element 300',
    );
    const halves = { ...byName('wte.weight'), dtype: 'F16', bytes: encodeValues([...Array(333).keys()].map((i) => (i === 17 ? Infinity : 0.5)), 'F16') };
    await expect(loadSafetensors(encodeSafetensors(replaced(halves)))).rejects.toThrow('tensor transformer.wte.weight contains Infinity at element 17');
  });

  it('rejects values too large for f16 only when converting to f16', async () => {
    const file = encodeSafetensors(replaced(withFloat(byName('wpe.weight'), 40, 70000)));
    await expect(loadSafetensors(file, 'f16')).rejects.toThrow(
      'tensor transformer.wpe.weight element 40 is 70000, beyond the largest f16 value (65504): load this model with f32 matrices',
    );
    await expect(loadSafetensors(file, 'f32')).resolves.toBeDefined();
  });
});

describe('legacy gpt2_weights.bin', () => {
  const legacyTensors = tensors.map(({ name, shape, bytes }) => ({ name, shape, bytes }));
  const validFile = encodeLegacyBin(legacyTensors);

  it('rejects a tensor count the file cannot hold', async () => {
    await expect(loadLegacy(concat([u32(1000), validFile.subarray(4)]))).rejects.toThrow(
      `gpt2_weights.bin says it holds 1000 tensors, more than its ${validFile.length} bytes can hold`,
    );
    await expect(loadLegacy(concat([u32(200_000), validFile.subarray(4)]))).rejects.toThrow(
      'gpt2_weights.bin says it holds 200000 tensors; a GPT-2 has a few hundred',
    );
  });

  it('rejects a name running past the end, too long, or not UTF-8', async () => {
    await expect(loadLegacy(concat([u32(1), u32(100), new Uint8Array(20)]))).rejects.toThrow(
      "file ends at byte 28 but tensor #0's name needs bytes up to 108",
    );
    await expect(loadLegacy(concat([u32(1), u32(5000), new Uint8Array(6000)]))).rejects.toThrow(
      'tensor #0 has a name of 5000 bytes (length at byte 4); names are at most 1024',
    );
    await expect(loadLegacy(concat([u32(1), u32(2), new Uint8Array([0xc3, 0x28]), u32(1), u32(1), new Uint8Array(4)]))).rejects.toThrow(
      "tensor #0's name (at byte 8) is not valid UTF-8",
    );
  });

  it('rejects bad ranks, zero dimensions and dims running past the end', async () => {
    const name = new TextEncoder().encode('wte.weight');
    const record = (...fields: Uint8Array[]) => concat([u32(1), u32(name.length), name, ...fields]);
    await expect(loadLegacy(record(u32(9), new Uint8Array(40)))).rejects.toThrow('tensor wte.weight has 9 dimensions (at byte 18); expected 1 to 8');
    await expect(loadLegacy(record(u32(0), new Uint8Array(8)))).rejects.toThrow('tensor wte.weight has 0 dimensions');
    await expect(loadLegacy(record(u32(2), u32(37), u32(0), new Uint8Array(4)))).rejects.toThrow('tensor wte.weight has shape [37, 0] with a zero dimension');
    await expect(loadLegacy(record(u32(8), u32(1), new Uint8Array(4)))).rejects.toThrow("file ends at byte 30 but tensor wte.weight's shape needs bytes up to 54");
  });

  it('rejects data running past the end of the file', async () => {
    const file = fixture('gpt2_weights.bin').slice(0, 13_200_000);
    await expect(loadLegacy(file, TINY_CONFIG)).rejects.toThrow(
      'file ends at byte 13200000 but tensor transformer.h.1.mlp.c_fc.weight needs bytes up to',
    );
  });

  it('rejects bytes after the last tensor and files with fewer tensors than their count', async () => {
    await expect(loadLegacy(concat([validFile, new Uint8Array(3)]))).rejects.toThrow(
      `the file has 3 bytes after its last tensor (it holds ${tensors.length} tensors; the extra bytes start at byte ${validFile.length})`,
    );
    const countTooHigh = concat([u32(tensors.length + 1), validFile.subarray(4)]);
    await expect(loadLegacy(countTooHigh)).rejects.toThrow(
      `the file ends after ${tensors.length} complete tensors but its header says it holds ${tensors.length + 1}: the download is incomplete`,
    );
  });

  it('rejects NaN weights', async () => {
    const damaged = legacyTensors.map((tensor) => (tensor.name.endsWith('h.0.attn.c_attn.weight') ? withFloat({ ...tensor, dtype: 'F32' }, 100, NaN) : tensor));
    await expect(loadLegacy(encodeLegacyBin(damaged))).rejects.toThrow('tensor transformer.h.0.attn.c_attn.weight contains NaN at element 100');
  });
});

describe('loadWeights', () => {
  it('throws WeightsFormatError, and the parser loads the next model normally', async () => {
    const error = await loadSafetensors(withHeader('{', new Uint8Array())).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WeightsFormatError);
    await expect(loadSafetensors(encodeSafetensors(tensors))).resolves.toBeDefined();
  });

  it('rejects no files, and several files for a legacy checkpoint', async () => {
    await expect(load(parser, safetensorsSource(ODD_CONFIG, []))).rejects.toThrow('no weights file was given');
    const file = memoryFile('gpt2_weights.bin', encodeLegacyBin([]));
    await expect(load(parser, { format: 'legacy-bin', config: { format: 'text', bytes: legacyConfigText(ODD_CONFIG) }, files: [file, file] })).rejects.toThrow(
      'gpt2_weights.bin is a single file, but 2 files were given',
    );
  });

  it('stops at an abort, cancelling a read that is still waiting', async () => {
    const controller = new AbortController();
    let cancelled = false;
    const stalled: WeightFile = {
      name: 'model.safetensors',
      size: 1000,
      stream: () => new ReadableStream({ start: (c) => c.enqueue(new Uint8Array(4)), cancel: () => void (cancelled = true) }),
    };
    const loading = loadWeights(parser, safetensorsSource(ODD_CONFIG, [stalled]), new MemorySink(), { matrixDtype: 'f32', signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(loading).rejects.toThrow(/abort/i);
    expect(cancelled).toBe(true);
  });
});
