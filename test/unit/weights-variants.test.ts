// Checkpoint variations the parser must accept: chunking down to single bytes, F16/BF16 sources,
// exact f16 rounding, name styles, tied and buffer tensors, and sharded checkpoints.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpt2Config } from '../../src/model/config.ts';
import type { MatrixDtype } from '../../src/model/weight-layout.ts';
import type { WeightsParser } from '../../src/weights/weights-parser.ts';
import {
  ODD_CONFIG,
  type RawTensor,
  type SourceDtype,
  createParser,
  differingSlots,
  encodeSafetensors,
  encodeValues,
  expectedSlots,
  floatToHalf,
  halfToFloat,
  load,
  memoryFile,
  randomTensors,
  safetensorsSource,
  splitSafetensors,
  withHeader,
} from './weights-helpers.ts';

let parser: WeightsParser;
beforeAll(async () => {
  parser = await createParser();
});

async function loadTensors(config: Gpt2Config, tensors: RawTensor[], matrixDtype: MatrixDtype, chunkSize = 65536) {
  const file = memoryFile('model.safetensors', encodeSafetensors(tensors), chunkSize);
  const { sink } = await load(parser, safetensorsSource(config, [file]), matrixDtype);
  expect(sink.coverageProblems()).toEqual([]);
  return sink;
}

describe.each(['F32', 'F16', 'BF16'] as SourceDtype[])('%s source', (sourceDtype) => {
  const tensors = randomTensors(ODD_CONFIG, sourceDtype);

  it.each(['f32', 'f16'] as MatrixDtype[])('loads into %s matrices identically for 1-byte, 7-byte and 1 MiB chunks', async (matrixDtype) => {
    const expected = expectedSlots(ODD_CONFIG, tensors, matrixDtype);
    for (const chunkSize of [1, 7, 1 << 20]) {
      const sink = await loadTensors(ODD_CONFIG, tensors, matrixDtype, chunkSize);
      expect(differingSlots(sink.data, expected), `chunk size ${chunkSize}`).toEqual([]);
    }
  });
});

it('transposes matrices larger than the parser scratch buffer (1 MiB) from large chunks', async () => {
  // c_fc is 264 x 1056 = 278784 elements: more f32s than 1 MiB holds, and one 1 MiB F16 chunk
  // carries more elements than that, so the scratch buffer is reused within one push.
  const config: Gpt2Config = { vocabSize: 11, nCtx: 3, nEmbd: 264, nLayer: 1, nHead: 4 };
  const tensors = randomTensors(config, 'F16', 9);
  const file = encodeSafetensors(tensors);
  const expected = expectedSlots(config, tensors, 'f32');
  for (const chunkSize of [1 << 20, file.length]) {
    const sink = await loadTensors(config, tensors, 'f32', chunkSize);
    expect(differingSlots(sink.data, expected), `chunk size ${chunkSize}`).toEqual([]);
  }
});

describe('f16 conversion', () => {
  // 7936 x 8 = 63488: exactly the number of finite halves, so wte can hold each one.
  const config: Gpt2Config = { vocabSize: 7936, nCtx: 4, nEmbd: 8, nLayer: 1, nHead: 2 };
  const finiteHalves = Uint16Array.from({ length: 65536 }, (_, bits) => bits).filter((bits) => (bits & 0x7c00) !== 0x7c00);

  function withWte(values: Uint8Array, dtype: SourceDtype): RawTensor[] {
    const tensors = randomTensors(config, 'F32');
    tensors[0] = { name: 'transformer.wte.weight', dtype, shape: [config.vocabSize, config.nEmbd], bytes: values };
    return tensors;
  }

  it('widens every finite half exactly (subnormals and -0 included) and copies it unchanged', async () => {
    const tensors = withWte(new Uint8Array(finiteHalves.buffer), 'F16');
    const wideSink = await loadTensors(config, tensors, 'f32');
    const wide = new Float32Array(wideSink.data[0].buffer);
    finiteHalves.forEach((bits, i) => {
      if (!Object.is(wide[i], Math.fround(halfToFloat(bits)))) throw new Error(`half 0x${bits.toString(16)} widened to ${wide[i]}`);
    });
    const narrowSink = await loadTensors(config, tensors, 'f16');
    expect(new Uint16Array(narrowSink.data[0].buffer)).toEqual(finiteHalves);
  });

  it('rounds f32 to the nearest half, ties to even, including subnormal results', async () => {
    // Every midpoint between neighbouring positive halves (the hard cases), mirrored negative.
    const values = new Float32Array(finiteHalves.length);
    for (let i = 0; i < values.length; i++) {
      const bits = i % 0x7bff;
      const midpoint = (halfToFloat(bits) + halfToFloat(bits + 1)) / 2;
      values[i] = i < 0x7bff ? midpoint : -midpoint;
    }
    values.set([0, -0, 1, 65504, 65519.99, 2 ** -25, 3 * 2 ** -25, 2 ** -14 - 2 ** -26, 1e-10, -1e-10, 1 + 2 ** -11, 1 + 3 * 2 ** -11]);
    const sink = await loadTensors(config, withWte(encodeValues(values, 'F32'), 'F32'), 'f16');
    const halves = new Uint16Array(sink.data[0].buffer);
    values.forEach((value, i) => {
      if (halves[i] !== floatToHalf(value)) throw new Error(`${value} rounded to 0x${halves[i].toString(16)}, expected 0x${floatToHalf(value).toString(16)}`);
    });
    expect([...halves.subarray(0, 12)]).toEqual([0, 0x8000, 0x3c00, 0x7bff, 0x7bff, 0, 2, 0x400, 0, 0x8000, 0x3c00, 0x3c02]);
  });

  it('rounds BF16 to f16 once, like its exact f32 value', async () => {
    const tensors = randomTensors(ODD_CONFIG, 'BF16', 7);
    const sink = await loadTensors(ODD_CONFIG, tensors, 'f16');
    expect(differingSlots(sink.data, expectedSlots(ODD_CONFIG, tensors, 'f16'))).toEqual([]);
  });
});

describe('tensor names', () => {
  const prefixed = randomTensors(ODD_CONFIG, 'F32', 3);
  let expected: Uint8Array[];
  beforeAll(() => {
    expected = expectedSlots(ODD_CONFIG, prefixed, 'f32');
  });

  it('accepts names without the transformer. prefix', async () => {
    const sink = await loadTensors(ODD_CONFIG, randomTensors(ODD_CONFIG, 'F32', 3, ''), 'f32');
    expect(differingSlots(sink.data, expected)).toEqual([]);
  });

  it('skips a tied lm_head, the attention-mask buffers and unknown tensors', async () => {
    const { vocabSize, nEmbd, nCtx } = ODD_CONFIG;
    const extra: RawTensor[] = [
      { name: 'lm_head.weight', dtype: 'F32', shape: [vocabSize, nEmbd], bytes: new Uint8Array(vocabSize * nEmbd * 4) },
      { name: 'transformer.h.0.attn.bias', dtype: 'BOOL', shape: [1, 1, nCtx, nCtx], bytes: new Uint8Array(nCtx * nCtx).fill(1) },
      { name: 'transformer.h.1.attn.masked_bias', dtype: 'F32', shape: [], bytes: encodeValues([-1e4], 'F32') },
      { name: 'h.7.attn.bias', dtype: 'U8', shape: [1], bytes: new Uint8Array(1) },
      { name: 'score.weight', dtype: 'I64', shape: [2], bytes: new Uint8Array(16) },
    ];
    // Mixed in between the weights, so the data section has gaps to skip.
    const tensors = [...prefixed.slice(0, 3), ...extra.slice(0, 2), ...prefixed.slice(3, 20), ...extra.slice(2), ...prefixed.slice(20)];
    const sink = await loadTensors(ODD_CONFIG, tensors, 'f32', 5);
    expect(differingSlots(sink.data, expected)).toEqual([]);
  });
});

it('takes the last of a repeated key in a header entry, as JSON.parse does', async () => {
  const tensors = randomTensors(ODD_CONFIG, 'F32', 4);
  const file = encodeSafetensors(tensors);
  const { header, data } = splitSafetensors(file);
  // Before the fix the two shapes were joined into [9, 9, 9].
  const text = JSON.stringify(header).replace('"shape":[9]', '"shape":[9, 9],"shape":[9]');
  const sink = (await load(parser, safetensorsSource(ODD_CONFIG, [memoryFile('model.safetensors', withHeader(text, data))]))).sink;
  expect(differingSlots(sink.data, expectedSlots(ODD_CONFIG, tensors, 'f32'))).toEqual([]);
});

describe('sharded checkpoints', () => {
  const tensors = randomTensors(ODD_CONFIG, 'F16', 5);
  const shards = [tensors.slice(0, 2), tensors.slice(2, 15), tensors.slice(15)].map((part, i) =>
    memoryFile(`model-0000${i + 1}-of-00003.safetensors`, encodeSafetensors(part), 7),
  );

  it('loads shards given in any order like one file', async () => {
    for (const matrixDtype of ['f32', 'f16'] as const) {
      const { sink } = await load(parser, safetensorsSource(ODD_CONFIG, [shards[2], shards[0], shards[1]]), matrixDtype);
      expect(sink.coverageProblems()).toEqual([]);
      expect(differingSlots(sink.data, expectedSlots(ODD_CONFIG, tensors, matrixDtype))).toEqual([]);
    }
  });

  it('reports tensors no shard holds once every shard is read', async () => {
    await expect(load(parser, safetensorsSource(ODD_CONFIG, [shards[0], shards[2]]))).rejects.toThrow(
      /^missing tensors: ln_f\.weight, ln_f\.bias, h\.0\.ln_1\.weight, .* and 5 more: the files are not a complete GPT-2 checkpoint — check that every shard was given, or download them again$/,
    );
  });

  it('rejects a tensor held by two shards, naming the shard', async () => {
    const duplicate = memoryFile('extra.safetensors', encodeSafetensors([{ ...tensors[3], name: 'h.0.ln_1.bias' }]));
    await expect(load(parser, safetensorsSource(ODD_CONFIG, [...shards, duplicate]))).rejects.toThrow(
      'extra.safetensors: tensors transformer.h.0.ln_1.bias and h.0.ln_1.bias are both h.0.ln_1.bias: a checkpoint must hold each weight once — check that the files all come from one checkpoint',
    );
  });
});
