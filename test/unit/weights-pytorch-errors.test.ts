// Damaged, hostile and unusual pytorch_model.bin files: each must fail with a WeightsFormatError
// whose message says what is wrong and what to do, and leave the parser able to load the next
// file (checked after every test). The files are the real torch.save fixtures with one thing
// changed, or written by pytorch-files.ts, which first must write files that load.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WeightFile } from '../../src/weights/load-weights.ts';
import { WeightsFormatError, type WeightsParser } from '../../src/weights/weights-parser.ts';
import {
  legacyCheckpoint,
  op,
  readZip,
  stateDictOf,
  stateDictPickle,
  tensorEntry,
  writeZip,
  zipCheckpoint,
  type PickledTensor,
} from './pytorch-files.ts';
import {
  ODD_CONFIG,
  concat,
  createParser,
  differingSlots,
  expectedSlots,
  load,
  memoryFile,
  pytorchSource,
  readSafetensors,
  torchFixture,
} from './weights-helpers.ts';

let parser: WeightsParser;
beforeAll(async () => {
  parser = await createParser();
});

const config = torchFixture('odd/config.json');
const twin = readSafetensors(torchFixture('odd/model.safetensors'));
const twinSlots = expectedSlots(ODD_CONFIG, twin, 'f32');
const realZip = torchFixture('odd/pytorch_model.bin');
const realLegacy = torchFixture('odd/pytorch_model.legacy.bin');
const { pickled, storages } = stateDictOf(twin);
const legacyStorages = (entries: Map<string, Uint8Array>) => new Map([...entries].map(([key, bytes]) => [key, { numel: bytes.length / 4, bytes }]));

const loadFile = (file: Uint8Array, chunkSize?: number) => load(parser, pytorchSource(file, config, chunkSize));

async function expectLoads(file: Uint8Array, chunkSize?: number): Promise<void> {
  const { sink } = await loadFile(file, chunkSize);
  expect(sink.coverageProblems()).toEqual([]);
  expect(differingSlots(sink.data, twinSlots)).toEqual([]);
}

afterEach(async () => {
  await expectLoads(realZip);
  await expectLoads(realLegacy);
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

/** The real zip fixture with its data.pkl replaced. */
function zipWithPickle(pickle: Uint8Array): Uint8Array {
  return writeZip(readZip(realZip).map((entry) => (entry.name.endsWith('/data.pkl') ? { ...entry, data: pickle } : entry)));
}

const withTensor = (change: (tensor: PickledTensor) => PickledTensor | PickledTensor[], name = 'transformer.wte.weight') =>
  pickled.flatMap((tensor) => (tensor.name === name ? change(tensor) : [tensor]));

describe('files written by pytorch-files.ts, the baseline of the damaged ones', () => {
  it('load as their twin: zip, zip64 and legacy', async () => {
    await expectLoads(zipCheckpoint(stateDictPickle(pickled, 'zip'), storages));
    await expectLoads(zipCheckpoint(stateDictPickle(pickled, 'zip'), storages, { zip64: true }), 5);
    await expectLoads(legacyCheckpoint(stateDictPickle(pickled, 'legacy'), legacyStorages(storages)), 3);
  });

  it('the real zip, rewritten as zip64, loads as its twin', async () => {
    await expectLoads(writeZip(readZip(realZip), { zip64: true }));
  });
});

describe('pickles that ask for anything but a state dict', () => {
  const refusal = /asks for the Python global (\S+) \(at byte \d+\), which a state dict of tensors never needs\. This reader runs nothing, and refuses the file: .* — do not load it with torch\.load; use the checkpoint's model\.safetensors instead/;

  it('refuses os.system, builtins.eval and torch.load, in the zip format and the legacy one', async () => {
    for (const [module, name] of [['os', 'system'], ['posix', 'system'], ['builtins', 'eval'], ['torch', 'load']]) {
      // What a malicious checkpoint's pickle does: call a global with arguments of its choosing.
      const hostile = concat([op.proto(2), op.global(module, name), op.tuple(op.string('touch /tmp/pwned')), op.reduce, op.stop]);
      await expectFormatError(loadFile(zipWithPickle(hostile)), `pytorch_model.bin's data.pkl asks for the Python global ${module}.${name} (at byte 2)`);
      await expectFormatError(loadFile(legacyCheckpoint(hostile, legacyStorages(storages))), refusal);
    }
  });

  it('refuses a global hidden inside a tensor, and one named by STACK_GLOBAL (protocol 4)', async () => {
    const inside = stateDictPickle(pickled, 'zip', (tensor, format) =>
      tensor.name.endsWith('h.1.ln_2.bias') ? concat([op.string(tensor.name), op.global('subprocess', 'Popen'), op.tuple(op.string('sh')), op.reduce]) : tensorEntry(tensor, format));
    await expectFormatError(loadFile(zipWithPickle(inside)), /asks for the Python global subprocess\.Popen/);
    const stackGlobal = concat([op.proto(4), Uint8Array.of(0x8c, 2), new TextEncoder().encode('os'), Uint8Array.of(0x8c, 6), new TextEncoder().encode('system'), Uint8Array.of(0x93), op.stop]);
    await expectFormatError(loadFile(zipWithPickle(stackGlobal)), refusal);
  });

  it('refuses opcodes a state dict never uses, and REDUCE on anything but its functions', async () => {
    // INST builds an object by calling a class named inline.
    const inst = concat([op.proto(2), op.mark, new TextEncoder().encode('ios\nsystem\n'), op.stop]);
    await expectFormatError(loadFile(zipWithPickle(inst)),
      "pytorch_model.bin's data.pkl uses the pickle opcode 'i' (0x69) at byte 3, which a saved state dict never uses: the file holds more than a state dict of tensors, or is damaged — use the checkpoint's model.safetensors, or save model.state_dict() alone with torch.save",
    );
    const reduceStorage = concat([op.proto(2), op.global('torch', 'FloatStorage'), op.emptyTuple, op.reduce, op.stop]);
    await expectFormatError(loadFile(zipWithPickle(reduceStorage)), /REDUCE calls the global torch\.FloatStorage, which is not a function a state dict calls/);
  });

  it('refuses a checkpoint that holds more than tensors', async () => {
    const epoch = stateDictPickle(pickled, 'zip', (tensor, format) => (tensor.name.endsWith('ln_f.bias') ? concat([tensorEntry(tensor, format), op.string('epoch'), op.int(3)]) : tensorEntry(tensor, format)));
    await expectFormatError(loadFile(zipWithPickle(epoch)),
      'pytorch_model.bin\'s data.pkl\'s entry "epoch" is a number, not a tensor: the file is not a plain state dict — use the checkpoint\'s model.safetensors, or save model.state_dict() alone with torch.save',
    );
  });
});

describe('damaged zips', () => {
  it('says a zip cut short was cut short, wherever it was cut', async () => {
    for (const length of [4, 100, realZip.length >> 1, realZip.length - 1]) {
      await expectFormatError(loadFile(realZip.slice(0, length)),
        "pytorch_model.bin is a zip (PyTorch's format since 1.6) but its end holds no zip directory: the file was cut short — download it again",
      );
    }
  });

  it('says a stream that stops short of the size it was given was cut short', async () => {
    const stopsShort: WeightFile = { ...memoryFile('pytorch_model.bin', realZip), stream: () => memoryFile('', realZip.slice(0, 5000)).stream() };
    await expectFormatError(load(parser, { format: 'pytorch-bin', config: { format: 'json', bytes: config }, files: [stopsShort] }),
      /pytorch_model\.bin ended before its entry archive\/data\/\d+ was complete|ended before its entry pytorch_model\/data\/\d+ was complete/,
    );
  });

  it('refuses compressed entries, the pickle or a storage, before reading any tensor', async () => {
    const compress = (suffix: string) => writeZip(readZip(realZip).map((entry) => (entry.name.endsWith(suffix) ? { ...entry, method: 8 } : entry)));
    await expectFormatError(loadFile(compress('/data.pkl')),
      "pytorch_model.bin's entry pytorch_model/data.pkl is compressed (zip method 8), which PyTorch never does: the file was re-zipped by another tool — use the file as torch.save wrote it, or the checkpoint's model.safetensors",
    );
    await expectFormatError(loadFile(compress('/data/3')), "pytorch_model.bin's entry pytorch_model/data/3 is compressed (zip method 8)");
  });

  it('refuses a zip without data.pkl, one with data.pkl after the storages, and a big-endian one', async () => {
    const entries = readZip(realZip);
    await expectFormatError(loadFile(writeZip(entries.filter((entry) => !entry.name.endsWith('data.pkl')))), 'pytorch_model.bin is a zip without a data.pkl, so it is not a PyTorch checkpoint');
    const pickleLast = [...entries.filter((entry) => !entry.name.endsWith('data.pkl')), entries.find((entry) => entry.name.endsWith('data.pkl'))!];
    await expectFormatError(loadFile(writeZip(pickleLast)), "pytorch_model.bin puts its data.pkl after the tensors' data, which torch.save never does");
    const bigEndian = writeZip([entries[0], { name: 'pytorch_model/byteorder', data: new TextEncoder().encode('big') }, ...entries.slice(1)]);
    await expectFormatError(loadFile(bigEndian), 'pytorch_model.bin was saved on a big-endian machine (byteorder "big"), and this reader takes little-endian storages only');
    const littleEndian = writeZip([entries[0], { name: 'pytorch_model/byteorder', data: new TextEncoder().encode('little') }, ...entries.slice(1)]);
    await expectLoads(littleEndian);
  });

  it('refuses local headers that disagree with the directory', async () => {
    const damaged = realZip.slice();
    const at = damaged.indexOf(0x50, 4000); // a local header after data.pkl's: find the next "PK\3\4"
    const next = findLocalHeader(damaged, at);
    damaged[next + 30] ^= 0x20; // a letter of its name
    await expectFormatError(loadFile(damaged), /pytorch_model\.bin is not a valid zip \(entry pytorch_model\/data\/\d+ has a local header named/);
  });
});

describe('storages that do not hold their tensors', () => {
  it('refuses a zip storage shorter than data.pkl says', async () => {
    const short = writeZip(readZip(realZip).map((entry) => (entry.name.endsWith('/data/0') ? { ...entry, data: entry.data.slice(0, -4) } : entry)));
    await expectFormatError(loadFile(short), /pytorch_model\.bin: storage 0 holds \d+ bytes but data\.pkl says it has \d+ F32 elements \(\d+ bytes\): the file is damaged — download it again/);
  });

  it('refuses a tensor that runs past the end of its storage, in both formats', async () => {
    const pastEnd = withTensor((tensor) => ({ ...tensor, offset: 1 }));
    const message = 'pytorch_model.bin: tensor transformer.wte.weight (shape [37, 9] at offset 1) needs element 333 of storage 0, which holds only 333: the file is damaged — download it again';
    await expectFormatError(loadFile(zipCheckpoint(stateDictPickle(pastEnd, 'zip'), storages)), message);
    await expectFormatError(loadFile(legacyCheckpoint(stateDictPickle(pastEnd, 'legacy'), legacyStorages(storages))), message);
  });

  it('refuses a legacy storage whose element count differs from the state dict', async () => {
    const counts = legacyStorages(storages);
    counts.set('0', { ...counts.get('0')!, numel: 332 });
    await expectFormatError(loadFile(legacyCheckpoint(stateDictPickle(pickled, 'legacy'), counts)),
      /pytorch_model\.bin: storage 0 \(at byte \d+\) has 332 elements where the state dict says 333: the file is damaged — download it again/,
    );
  });

  it('says a legacy file cut short was cut short, in its pickles or its storages', async () => {
    await expectFormatError(loadFile(realLegacy.slice(0, 100)), /pytorch_model\.bin ends in its (system information|state dict) pickle \(from byte \d+\): the file was cut short — download it again/);
    await expectFormatError(loadFile(realLegacy.slice(0, 3000)), /pytorch_model\.bin ends in its state dict pickle/);
    await expectFormatError(loadFile(realLegacy.slice(0, -10)), /pytorch_model\.bin ends in storage \d+ \(after \d+ bytes\): the file was cut short — download it again/);
    await expectFormatError(loadFile(concat([realLegacy, new Uint8Array(3)])), `pytorch_model.bin has 3 bytes after its last storage (from byte ${realLegacy.length})`);
  });
});

describe('tensors the model cannot take as they are', () => {
  it('refuses a used tensor stored as a rearranged view, or sharing bytes with another', async () => {
    const transposed = withTensor((tensor) => ({ ...tensor, shape: [9, 9], stride: [1, 9] }), 'transformer.h.0.attn.c_proj.weight');
    await expectFormatError(loadFile(zipCheckpoint(stateDictPickle(transposed, 'zip'), storages)),
      "pytorch_model.bin: tensor transformer.h.0.attn.c_proj.weight has strides [1, 9] for shape [9, 9], so it is a rearranged view of its storage, which this reader does not undo — re-save the state dict after calling .contiguous() on every tensor, or use the checkpoint's model.safetensors",
    );
    const shared = withTensor((tensor) => ({ ...tensor, key: '0', numel: 333 }), 'transformer.ln_f.bias');
    await expectFormatError(loadFile(zipCheckpoint(stateDictPickle(shared, 'zip'), storages)), 'pytorch_model.bin: tensors transformer.ln_f.bias and transformer.wte.weight share bytes of storage 0, and each weight needs its own');
  });

  it('skips unused tensors whatever they are, and views into a shared storage that do not overlap', async () => {
    // ln_f.bias as the last 9 elements of a storage it shares with a scalar mask buffer.
    const lnBias = twin.find((tensor) => tensor.name === 'transformer.ln_f.bias')!;
    const sharedStorage = concat([new Uint8Array(Float32Array.of(-1e4).buffer), lnBias.bytes]);
    const withViews = [
      ...withTensor((tensor) => ({ ...tensor, key: 'shared', numel: 10, offset: 1 }), 'transformer.ln_f.bias'),
      { name: 'transformer.h.0.attn.masked_bias', key: 'shared', storageType: 'FloatStorage', numel: 10, offset: 0, shape: [], stride: [] },
      { name: 'transformer.h.0.attn.bias', key: 'mask', storageType: 'ByteStorage', numel: 49, offset: 0, shape: [1, 1, 7, 7], stride: [49, 49, 7, 1] },
    ];
    const withStorages = new Map([...storages, ['shared', sharedStorage], ['mask', new Uint8Array(49)]]);
    await expectLoads(zipCheckpoint(stateDictPickle(withViews, 'zip'), withStorages), 13);
  });

  it('refuses a used tensor of a dtype the parser does not read, and reports missing tensors', async () => {
    const double = withTensor((tensor) => ({ ...tensor, key: 'double', storageType: 'DoubleStorage' }), 'transformer.ln_f.weight');
    const withDouble = new Map([...storages, ['double', new Uint8Array(8 * 9)]]);
    await expectFormatError(loadFile(zipCheckpoint(stateDictPickle(double, 'zip'), withDouble)),
      'unsupported dtype F64 for tensor transformer.ln_f.weight: only F32, F16 and BF16 are supported — use a copy of the checkpoint saved in one of those',
    );
    const missing = pickled.filter((tensor) => !tensor.name.endsWith('h.1.mlp.c_fc.bias'));
    await expectFormatError(loadFile(zipCheckpoint(stateDictPickle(missing, 'zip'), storages)),
      'missing tensors: h.1.mlp.c_fc.bias: the file is not a complete GPT-2 checkpoint — download it again, or choose a GPT-2 model',
    );
  });

  it('refuses a text file saved in the checkpoint\'s place, and files of neither format', async () => {
    const pointer = new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 548118077\n');
    await expectFormatError(loadFile(pointer),
      'pytorch_model.bin starts with the text "version https://git-lfs.github.com/spec/v1 oid sha256:abc size 5…", so it is not a PyTorch checkpoint: it is probably a web page, an error message or a Git LFS pointer saved in its place — download the file again',
    );
    await expectFormatError(loadFile(torchFixture('odd/model.safetensors')), "pytorch_model.bin is neither of torch.save's formats");
    await expectFormatError(loadFile(concat([op.proto(2), op.int(7), op.stop, new Uint8Array(8)])), "pytorch_model.bin starts with a pickle but not with PyTorch's magic number");
  });

  it('refuses a legacy file from a big-endian machine', async () => {
    await expectFormatError(loadFile(legacyCheckpoint(stateDictPickle(pickled, 'legacy'), legacyStorages(storages), { littleEndian: false })),
      'pytorch_model.bin was saved on a big-endian machine, and this reader takes little-endian storages only',
    );
  });
});

// The next "PK\3\4" at or after `from`.
function findLocalHeader(file: Uint8Array, from: number): number {
  for (let at = from; at + 4 <= file.length; at++) {
    if (file[at] === 0x50 && file[at + 1] === 0x4b && file[at + 2] === 3 && file[at + 3] === 4) return at;
  }
  throw new Error('no local header');
}
