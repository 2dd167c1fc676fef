// Damaged, truncated and mismatched weight files: each must fail with a WeightsFormatError whose
// message says what is wrong, where, and what to do, and leave the parser able to load the next
// file (checked after every test).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MatrixDtype } from '../../src/model/weight-layout.ts';
import type { WeightFile } from '../../src/weights/load-weights.ts';
import { WeightsFormatError, type WeightsParser } from '../../src/weights/weights-parser.ts';
import {
  MemorySink,
  ODD_CONFIG,
  TINY_CONFIG,
  type RawTensor,
  concat,
  createParser,
  differingSlots,
  encodeLegacyBin,
  encodeSafetensors,
  encodeValues,
  expectedSlots,
  fixture,
  legacyConfigText,
  load,
  memoryFile,
  randomTensors,
  randomValues,
  safetensorsSource,
  u32,
  withHeader,
} from './weights-helpers.ts';
import { loadWeights } from '../../src/weights/load-weights.ts';

let parser: WeightsParser;
beforeAll(async () => {
  parser = await createParser();
});

const tensors = randomTensors(ODD_CONFIG, 'F32');
const byName = (name: string) => tensors.find((tensor) => tensor.name === `transformer.${name}`)!;
const without = (...names: string[]) => tensors.filter((tensor) => !names.includes(tensor.name.replace('transformer.', '')));

// Whatever a test fed the parser, it must then load good files of both formats exactly.
const goodSafetensors = encodeSafetensors(tensors);
const goodLegacy = encodeLegacyBin(tensors);
const goodSlots = expectedSlots(ODD_CONFIG, tensors, 'f32');
afterEach(async () => {
  for (const { sink } of [await loadSafetensors(goodSafetensors), await loadLegacy(goodLegacy)]) {
    expect(sink.coverageProblems()).toEqual([]);
    expect(differingSlots(sink.data, goodSlots)).toEqual([]);
  }
});

/** Awaits a load that must fail with a WeightsFormatError whose message contains (or matches) `message`. */
async function expectFormatError(loading: Promise<unknown>, message: string | RegExp): Promise<void> {
  const error = await loading.then(
    () => new Error('the load succeeded'),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(WeightsFormatError);
  expect((error as Error).message).toMatch(message);
}

const text = (value: string) => new TextEncoder().encode(value);
/** Seeded random bytes. */
const randomBytes = (count: number, seed: number) => Uint8Array.from(randomValues(count, seed), (value) => Math.floor((value + 1) * 128));

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

describe('not a safetensors file', () => {
  it('rejects files too short for the header length, or cut short inside the header', async () => {
    for (const size of [0, 5]) {
      await expectFormatError(loadSafetensors(new Uint8Array(size)),
        `the file is ${size} bytes, too short to be a safetensors file (8-byte header length): it is empty or cut short — download it again`,
      );
    }
    const headerLength = Number(new DataView(goodSafetensors.buffer).getBigUint64(0, true));
    await expectFormatError(loadSafetensors(goodSafetensors.slice(0, 100)),
      `safetensors header length ${headerLength} is larger than the file (100 bytes): this is not a safetensors file, or it was cut short — download it again`,
    );
    const stopsInHeader = { ...memoryFile('model.safetensors', goodSafetensors.slice(0, 100)), size: goodSafetensors.length };
    await expectFormatError(loadSafetensors(stopsInHeader),
      `the file ended after 100 of its ${goodSafetensors.length} bytes: the download was cut short — download it again`,
    );
  });

  it('says so when the file is a web page, an error message or a Git LFS pointer', async () => {
    const advice = 'it is probably a web page, an error message or a Git LFS pointer saved in its place — download the file again';
    const page = text('<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n');
    await expectFormatError(loadSafetensors(page), `the file starts with the text "<!DOCTYP…", so it is not a safetensors file: ${advice}`);
    await expectFormatError(loadSafetensors(text('Entry not found')), `the file starts with the text "Entry no…", so it is not a safetensors file: ${advice}`);
    const pointer = text('version https://git-lfs.github.com/spec/v1\noid sha256:248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707\nsize 548105171\n');
    await expectFormatError(loadSafetensors(pointer), `the file starts with the text "version…", so it is not a safetensors file: ${advice}`);
  });

  it('rejects random bytes, whatever their first eight say', async () => {
    const noise = randomBytes(4096, 11);
    const length = new DataView(noise.buffer).getBigUint64(0, true);
    await expectFormatError(loadSafetensors(noise),
      `safetensors header length ${length} is larger than the file (4096 bytes): this is not a safetensors file, or it was cut short — download it again`,
    );
    // A plausible length, then noise where the JSON should be: bytes, then printable characters.
    new DataView(noise.buffer).setBigUint64(0, 1000n, true);
    await expectFormatError(loadSafetensors(noise),
      /^the safetensors header is not valid UTF-8 \(byte \d+ of the file\): the file is damaged or not a safetensors file — download it again$/,
    );
    for (let i = 8; i < noise.length; i++) noise[i] = 0x20 + (noise[i] % 95);
    await expectFormatError(loadSafetensors(noise),
      /^the safetensors header is not valid JSON: .* at byte 8 of the file: the file is damaged or not a safetensors file — download it again$/,
    );
  });
});

describe('safetensors header', () => {
  it('rejects a header length larger than the file', async () => {
    const file = fixture('model.safetensors');
    new DataView(file.buffer).setBigUint64(0, BigInt(file.length), true);
    await expectFormatError(load(parser, { format: 'safetensors', config: { format: 'json', bytes: fixture('config.json') }, files: [memoryFile('model.safetensors', file)] }),
      'safetensors header length 13301712 is larger than the file (13301712 bytes): this is not a safetensors file, or it was cut short — download it again',
    );
  });

  it('rejects an absurd header length without allocating it', async () => {
    const before = parser.memoryBytes;
    const file = encodeSafetensors(tensors);
    for (const length of [2n ** 60n, 2n ** 64n - 1n]) {
      new DataView(file.buffer).setBigUint64(0, length, true);
      await expectFormatError(loadSafetensors(file), `safetensors header length ${length} is larger than the file (${file.length} bytes)`);
    }
    const inFile = hugeFile(concat([new Uint8Array(new BigUint64Array([150_000_000n]).buffer)]), 200_000_000);
    await expectFormatError(loadSafetensors(inFile),
      'safetensors header length 150000000 is over the 100000000 byte limit: this is not a safetensors file, or it is damaged — download it again',
    );
    expect(parser.memoryBytes - before).toBeLessThan(1 << 20);
  });

  it('reports invalid JSON with its byte position in the file', async () => {
    await expectFormatError(loadSafetensors(withHeader('{"__metadata__": {},}', new Uint8Array())),
      'the safetensors header is not valid JSON: expected a quoted key at byte 28 of the file: the file is damaged or not a safetensors file — download it again',
    );
    await expectFormatError(loadSafetensors(withHeader('{"a": {"dtype": "F32"', new Uint8Array())),
      'the safetensors header is not valid JSON: unexpected end of the text at byte 29 of the file',
    );
    await expectFormatError(loadSafetensors(withHeader('[1, 2]', new Uint8Array())),
      'the safetensors header is not a JSON object: this is not a safetensors file, or it is damaged — download it again',
    );
  });

  it('rejects data_offsets past the end of the file', async () => {
    const file = encodeSafetensors(tensors, { 'transformer.ln_f.bias': { dtype: 'F32', shape: [9], data_offsets: [100_000, 100_036] } });
    const dataStart = file.length - tensors.reduce((sum, tensor) => sum + tensor.bytes.length, 0);
    await expectFormatError(loadSafetensors(file),
      `file ends at byte ${file.length} but tensor transformer.ln_f.bias needs bytes up to ${dataStart + 100_036}: the download is incomplete or the file is damaged — download it again`,
    );
  });

  it('rejects data_offsets that end before they begin', async () => {
    const file = encodeSafetensors(tensors, { 'transformer.ln_f.bias': { dtype: 'F32', shape: [9], data_offsets: [136, 100] } });
    await expectFormatError(loadSafetensors(file),
      'tensor transformer.ln_f.bias data_offsets [136, 100] end before they begin: the header is damaged — download it again',
    );
  });

  it('rejects overlapping tensors, naming both', async () => {
    const file = encodeSafetensors(tensors, { 'transformer.wpe.weight': { dtype: 'F32', shape: [7, 9], data_offsets: [1000, 1252] } });
    await expectFormatError(loadSafetensors(file),
      'tensor transformer.wte.weight data_offsets [0, 1332] overlap tensor transformer.wpe.weight [1000, 1252]: the header is damaged — download it again',
    );
  });

  it('rejects data_offsets that disagree with dtype and shape', async () => {
    const file = encodeSafetensors(tensors, { 'transformer.wte.weight': { dtype: 'F16', shape: [37, 9], data_offsets: [0, 1332] } });
    await expectFormatError(loadSafetensors(file),
      'tensor transformer.wte.weight data_offsets [0, 1332] hold 1332 bytes but F16 [37, 9] needs 666: the header is damaged — download it again',
    );
  });

  it('rejects an unsupported dtype', async () => {
    const file = encodeSafetensors(replaced({ ...byName('wte.weight'), dtype: 'I64' }));
    await expectFormatError(loadSafetensors(file),
      'unsupported dtype I64 for tensor transformer.wte.weight: only F32, F16 and BF16 are supported — use a copy of the checkpoint saved in one of those',
    );
  });

  it('reports missing tensors right after the header, before writing anything', async () => {
    const sink = new MemorySink();
    let writes = 0;
    sink.write = () => void writes++;
    const file = memoryFile('model.safetensors', encodeSafetensors(without('h.1.mlp.c_fc.weight', 'ln_f.bias')), 512);
    await expectFormatError(loadWeights(parser, safetensorsSource(ODD_CONFIG, [file]), sink, { matrixDtype: 'f32' }),
      'missing tensors: ln_f.bias, h.1.mlp.c_fc.weight: the file is not a complete GPT-2 checkpoint — download it again, or choose a GPT-2 model',
    );
    expect(writes).toBe(0);
  });

  it('rejects a shape that disagrees with the config', async () => {
    const file = encodeSafetensors(replaced({ ...byName('h.0.attn.c_attn.weight'), shape: [27, 9] }));
    await expectFormatError(loadSafetensors(file),
      'tensor transformer.h.0.attn.c_attn.weight has shape [27, 9] but the config (n_embd 9) needs [9, 27]: the config does not belong to this checkpoint — use the config file that came with it',
    );
    const wrongConfig = { ...TINY_CONFIG, nEmbd: 32 };
    const source = { format: 'safetensors' as const, config: { format: 'text' as const, bytes: legacyConfigText(wrongConfig) }, files: [memoryFile('model.safetensors', fixture('model.safetensors'))] };
    await expectFormatError(load(parser, source),
      'tensor transformer.wte.weight has shape [50257, 64] but the config (vocab_size 50257, n_embd 32) needs [50257, 32]',
    );
  });

  it('rejects a tied lm_head of the wrong shape', async () => {
    const file = encodeSafetensors([...tensors, { name: 'lm_head.weight', dtype: 'F32', shape: [9, 37], bytes: new Uint8Array(1332) }]);
    await expectFormatError(loadSafetensors(file),
      'tensor lm_head.weight has shape [9, 37] but it is tied to wte, which the config (vocab_size 37, n_embd 9) makes [37, 9]: the config does not belong to this checkpoint',
    );
  });

  it('rejects two tensors for one weight and layers the config lacks', async () => {
    const duplicate = encodeSafetensors([...tensors, { ...byName('h.0.ln_1.weight'), name: 'h.0.ln_1.weight' }]);
    await expectFormatError(loadSafetensors(duplicate),
      'tensors transformer.h.0.ln_1.weight and h.0.ln_1.weight are both h.0.ln_1.weight: a checkpoint must hold each weight once — check that the files all come from one checkpoint',
    );
    const extraLayer = encodeSafetensors([...tensors, { ...byName('h.0.ln_1.weight'), name: 'h.2.ln_1.weight' }]);
    await expectFormatError(loadSafetensors(extraLayer),
      'tensor h.2.ln_1.weight is for a layer this model does not have (the config says n_layer 2): the config does not belong to this checkpoint — use the config file that came with it',
    );
  });

  it('rejects a header that is not UTF-8, rather than reading damaged names as U+FFFD', async () => {
    const file = encodeSafetensors(tensors);
    const at = new TextDecoder('latin1').decode(file).indexOf('wpe.weight');
    file[at + 1] = 0xff;
    await expectFormatError(loadSafetensors(file),
      `the safetensors header is not valid UTF-8 (byte ${at + 1} of the file): the file is damaged or not a safetensors file — download it again`,
    );
  });

  it('shows names with control characters escaped, and very long names cut short', async () => {
    const newline = encodeSafetensors(tensors, { 'bad\nname\u0000': { dtype: 'F32', shape: [9] } });
    await expectFormatError(loadSafetensors(newline), 'tensor bad\\x0aname\\x00 in the safetensors header has no data_offsets');
    const long = encodeSafetensors(tensors, { ['x'.repeat(5000)]: { dtype: 'F32', shape: [9] } });
    await expectFormatError(loadSafetensors(long), `tensor ${'x'.repeat(120)}… (5000 characters) in the safetensors header has no data_offsets`);
    const empty = encodeSafetensors(tensors, { '': { dtype: 'F32', shape: [9] } });
    await expectFormatError(loadSafetensors(empty), 'tensor "" in the safetensors header has no data_offsets');
  });

  it('rejects entries without data_offsets or dtype', async () => {
    const file = encodeSafetensors(tensors, { 'transformer.ln_f.bias': { dtype: 'F32', shape: [9] } });
    await expectFormatError(loadSafetensors(file), 'tensor transformer.ln_f.bias in the safetensors header has no data_offsets: the header is damaged — download it again');
    const badShape = encodeSafetensors(tensors, { 'transformer.ln_f.bias': { dtype: 'F32', shape: [-9], data_offsets: [0, 0] } });
    await expectFormatError(loadSafetensors(badShape), 'tensor transformer.ln_f.bias in the safetensors header has a shape that is not a list of whole numbers');
  });
});

describe('safetensors data', () => {
  it('rejects a file cut short inside the data', async () => {
    const full = fixture('model.safetensors');
    const file = full.slice(0, 13_200_000);
    const source = { format: 'safetensors' as const, config: { format: 'json' as const, bytes: fixture('config.json') }, files: [memoryFile('model.safetensors', file)] };
    await expectFormatError(load(parser, source),
      'file ends at byte 13200000 but tensor transformer.h.1.mlp.c_fc.weight needs bytes up to 13234384: the download is incomplete',
    );
  });

  it('rejects a stream shorter or longer than the size it was given', async () => {
    const file = encodeSafetensors(tensors);
    const short = { ...memoryFile('model.safetensors', file.slice(0, file.length - 10)), size: file.length };
    await expectFormatError(loadSafetensors(short),
      `the file ended after ${file.length - 10} of its ${file.length} bytes: the download was cut short — download it again`,
    );
    const long = { ...memoryFile('model.safetensors', concat([file, new Uint8Array(5)])), size: file.length };
    await expectFormatError(loadSafetensors(long), `received more than the ${file.length} bytes the file was said to have`);
    // Found by the fuzzer: a negative size was reported as "-130.0", with no advice.
    for (const size of [-130, 1.5, NaN]) {
      await expectFormatError(loadSafetensors({ ...memoryFile('model.safetensors', file), size }),
        `file size ${size} is not a whole number of bytes: the file's size was read wrong — load it again`,
      );
    }
  });

  it('rejects NaN and infinite weights, naming tensor and element', async () => {
    await expectFormatError(loadSafetensors(encodeSafetensors(replaced(withFloat(byName('h.1.ln_1.weight'), 5, NaN)))),
      'tensor transformer.h.1.ln_1.weight contains NaN at element 5: the checkpoint is damaged — download it again',
    );
    await expectFormatError(loadSafetensors(encodeSafetensors(replaced(withFloat(byName('h.0.mlp.c_fc.weight'), 300, -Infinity))), 'f16'),
      'tensor transformer.h.0.mlp.c_fc.weight contains -Infinity at element 300',
    );
    const halves = { ...byName('wte.weight'), dtype: 'F16', bytes: encodeValues([...Array(333).keys()].map((i) => (i === 17 ? Infinity : 0.5)), 'F16') };
    await expectFormatError(loadSafetensors(encodeSafetensors(replaced(halves))), 'tensor transformer.wte.weight contains Infinity at element 17');
    const halfNaN = { ...byName('wpe.weight'), dtype: 'F16', bytes: encodeValues([...Array(63).keys()].map((i) => (i === 62 ? NaN : 0.5)), 'F16') };
    await expectFormatError(loadSafetensors(encodeSafetensors(replaced(halfNaN)), 'f16'), 'tensor transformer.wpe.weight contains NaN at element 62: the checkpoint is damaged — download it again');
  });

  it('rejects NaN and infinite BF16 weights, into f32 and f16 slots', async () => {
    const bf16 = (name: string, index: number, value: number) => {
      const tensor = byName(name);
      const values = Array.from(new Float32Array(tensor.bytes.slice().buffer), (each, i) => (i === index ? value : each));
      return { ...tensor, dtype: 'BF16', bytes: encodeValues(values, 'BF16') };
    };
    for (const matrixDtype of ['f32', 'f16'] as const) {
      await expectFormatError(loadSafetensors(encodeSafetensors(replaced(bf16('h.1.attn.c_proj.weight', 80, NaN))), matrixDtype),
        'tensor transformer.h.1.attn.c_proj.weight contains NaN at element 80: the checkpoint is damaged — download it again',
      );
      await expectFormatError(loadSafetensors(encodeSafetensors(replaced(bf16('ln_f.bias', 8, -Infinity))), matrixDtype),
        'tensor transformer.ln_f.bias contains -Infinity at element 8: the checkpoint is damaged — download it again',
      );
    }
  });

  it('rejects values too large for f16 only when converting to f16', async () => {
    const file = encodeSafetensors(replaced(withFloat(byName('wpe.weight'), 40, 70000)));
    await expectFormatError(loadSafetensors(file, 'f16'),
      'tensor transformer.wpe.weight element 40 is 70000, beyond the largest f16 value (65504): load this model with f32 matrices',
    );
    await expect(loadSafetensors(file, 'f32')).resolves.toBeDefined();
  });
});

describe('legacy gpt2_weights.bin', () => {
  const legacyTensors = tensors.map(({ name, shape, bytes }) => ({ name, shape, bytes }));
  const validFile = encodeLegacyBin(legacyTensors);

  it('rejects files too short for the count, web pages and random bytes', async () => {
    await expectFormatError(loadLegacy(new Uint8Array(3)),
      'the file is 3 bytes, too short to be a gpt2_weights.bin (4-byte tensor count): it is empty or cut short — download it again',
    );
    await expectFormatError(loadLegacy(text('<!DOCTYPE html>\n<html><body>Not Found</body></html>\n')),
      'the file starts with the text "<!DO…", so it is not a gpt2_weights.bin: it is probably a web page, an error message or a Git LFS pointer saved in its place — download the file again',
    );
    const noise = randomBytes(4096, 12);
    await expectFormatError(loadLegacy(noise),
      `gpt2_weights.bin says it holds ${new DataView(noise.buffer).getUint32(0, true)} tensors; a GPT-2 has a few hundred: the file is damaged or not a gpt2_weights.bin — download it again`,
    );
  });

  it('rejects a tensor count the file cannot hold', async () => {
    await expectFormatError(loadLegacy(concat([u32(1000), validFile.subarray(4)])),
      `gpt2_weights.bin says it holds 1000 tensors, more than its ${validFile.length} bytes can hold: the file is damaged or not a gpt2_weights.bin — download it again`,
    );
    await expectFormatError(loadLegacy(concat([u32(200_000), validFile.subarray(4)])),
      'gpt2_weights.bin says it holds 200000 tensors; a GPT-2 has a few hundred',
    );
  });

  it('rejects a name running past the end, too long, or not UTF-8', async () => {
    await expectFormatError(loadLegacy(concat([u32(1), u32(100), new Uint8Array(20)])),
      "file ends at byte 28 but tensor #0's name needs bytes up to 108: the download is incomplete or the file is damaged — download it again",
    );
    await expectFormatError(loadLegacy(concat([u32(1), u32(5000), new Uint8Array(6000)])),
      'tensor #0 has a name of 5000 bytes (length at byte 4); names are at most 1024: the file is damaged — download it again',
    );
    await expectFormatError(loadLegacy(concat([u32(1), u32(2), new Uint8Array([0xc3, 0x28]), u32(1), u32(1), new Uint8Array(4)])),
      "tensor #0's name (at byte 8) is not valid UTF-8: the file is damaged or not a gpt2_weights.bin — download it again",
    );
  });

  it('reports missing tensors when the file ends, as a single file', async () => {
    const file = encodeLegacyBin(legacyTensors.filter((tensor) => !tensor.name.endsWith('h.1.ln_2.bias')));
    await expectFormatError(loadLegacy(file),
      'missing tensors: h.1.ln_2.bias: the file is not a complete GPT-2 checkpoint — download it again, or choose a GPT-2 model',
    );
  });

  it('rejects bad ranks, zero dimensions, scalars where a weight belongs and dims running past the end', async () => {
    const name = new TextEncoder().encode('wte.weight');
    const record = (...fields: Uint8Array[]) => concat([u32(1), u32(name.length), name, ...fields]);
    await expectFormatError(loadLegacy(record(u32(9), new Uint8Array(40))), 'tensor wte.weight has 9 dimensions (at byte 18); expected 0 to 8: the file is damaged — download it again');
    await expectFormatError(loadLegacy(record(u32(0), new Uint8Array(4))),
      'tensor wte.weight has shape [] but the config (vocab_size 37, n_embd 9) needs [37, 9]: the config does not belong to this checkpoint — use the config file that came with it',
    );
    await expectFormatError(loadLegacy(record(u32(2), u32(37), u32(0), new Uint8Array(4))), 'tensor wte.weight has shape [37, 0] with a zero dimension: the file is damaged — download it again');
    await expectFormatError(loadLegacy(record(u32(8), u32(1), new Uint8Array(4))), "file ends at byte 30 but tensor wte.weight's shape needs bytes up to 54");
    // A scalar takes one f32: the other four bytes are past the last tensor.
    const tab = text('h.0\tln');
    await expectFormatError(loadLegacy(concat([u32(1), u32(tab.length), tab, u32(0), new Uint8Array(8)])), 'the file has 4 bytes after its last tensor (it holds 1 tensors; the extra bytes start at byte 22)');
    await expectFormatError(loadLegacy(concat([u32(1), u32(tab.length), tab, u32(0), new Uint8Array(2)])), 'file ends at byte 20 but tensor h.0\\x09ln needs bytes up to 22');
  });

  it('rejects data running past the end of the file', async () => {
    const file = fixture('gpt2_weights.bin').slice(0, 13_200_000);
    await expectFormatError(loadLegacy(file, TINY_CONFIG),
      'file ends at byte 13200000 but tensor transformer.h.1.mlp.c_fc.weight needs bytes up to',
    );
  });

  it('rejects bytes after the last tensor and files with fewer tensors than their count', async () => {
    await expectFormatError(loadLegacy(concat([validFile, new Uint8Array(3)])),
      `the file has 3 bytes after its last tensor (it holds ${tensors.length} tensors; the extra bytes start at byte ${validFile.length}): it is damaged or not a gpt2_weights.bin — download it again`,
    );
    const countTooHigh = concat([u32(tensors.length + 1), validFile.subarray(4)]);
    await expectFormatError(loadLegacy(countTooHigh),
      `the file ends after ${tensors.length} complete tensors but its header says it holds ${tensors.length + 1}: the download is incomplete`,
    );
  });

  it('rejects NaN weights', async () => {
    const damaged = legacyTensors.map((tensor) => (tensor.name.endsWith('h.0.attn.c_attn.weight') ? withFloat({ ...tensor, dtype: 'F32' }, 100, NaN) : tensor));
    await expectFormatError(loadLegacy(encodeLegacyBin(damaged)), 'tensor transformer.h.0.attn.c_attn.weight contains NaN at element 100: the checkpoint is damaged — download it again');
  });
});

describe('loadWeights', () => {
  it('throws WeightsFormatError, and the parser loads the next model normally', async () => {
    const error = await loadSafetensors(withHeader('{', new Uint8Array())).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WeightsFormatError);
    await expect(loadSafetensors(encodeSafetensors(tensors))).resolves.toBeDefined();
  });

  it('rejects no files, and several files for a legacy checkpoint', async () => {
    await expectFormatError(load(parser, safetensorsSource(ODD_CONFIG, [])), 'no weights file was given: choose the checkpoint file (or every shard of it)');
    const file = memoryFile('gpt2_weights.bin', encodeLegacyBin([]));
    await expectFormatError(load(parser, { format: 'legacy-bin', config: { format: 'text', bytes: legacyConfigText(ODD_CONFIG) }, files: [file, file] }),
      'gpt2_weights.bin is a single file, but 2 files were given: choose only the gpt2_weights.bin',
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
