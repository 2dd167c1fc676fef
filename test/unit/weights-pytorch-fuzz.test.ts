// Fuzzes the pytorch_model.bin readers through loadWeights, the way the app drives them: thousands
// of damaged torch.save files (zip: bit flips in data.pkl, local headers and the central directory,
// zip fields set to edge values, pickle opcodes and arguments replaced, bytes inserted and removed,
// cuts, misstated sizes, NaNs; the legacy format likewise), each streamed in random chunk sizes;
// and the pickle reader alone on random opcode soup. Every case must either load completely or
// throw a WeightsFormatError whose message says what to do: never another error, a write outside
// its slot, or a slow case. Seeds and scale as in weights-fuzz.test.ts (fuzz-harness.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import type { MatrixDtype } from '../../src/model/weight-layout.ts';
import { loadWeights, type WeightsSource } from '../../src/weights/load-weights.ts';
import { WeightsFormatError, type WeightsParser } from '../../src/weights/weights-parser.ts';
import { readStateDict } from '../../src/weights/pytorch/state-dict.ts';
import { ADVICE, Random, SCALE, SEED, chunkSizes, chunkedFile, newFuzzStats, pickWeighted, recordFuzzCase, splicedBytes, type FuzzStats } from './fuzz-harness.ts';
import { readZip, writeZip } from './pytorch-files.ts';
import { MemorySink, createParser, differingSlots, torchFixture } from './weights-helpers.ts';

console.log(`pytorch_model.bin fuzz seed ${SEED} (replay with WEIGHTS_FUZZ_SEED=${SEED})`);

// --- The inputs ---

type Range = [number, number];

/** One torch.save file, with where its parts are: where damage is done. */
interface Corpus {
  name: string;
  bytes: Uint8Array;
  pickle: Range[]; // data.pkl, or the legacy file's five pickles
  structure: Range[]; // local headers, the central directory and end records; the legacy storages' counts are in `data`
  data: Range[]; // storage bytes
  /** Where fields of local headers and directory entries start, for the zip mutations. */
  localHeaders: number[];
  directoryEntries: number[];
}

const config: WeightsSource['config'] = { format: 'json', bytes: torchFixture('odd/config.json') };

function zipCorpus(name: string, bytes: Uint8Array): Corpus {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const endAt = bytes.length - 22;
  const directoryStart = view.getUint32(endAt + 16, true);
  const corpus: Corpus = { name, bytes, pickle: [], structure: [[directoryStart, bytes.length]], data: [], localHeaders: [], directoryEntries: [] };
  let at = directoryStart;
  for (let i = view.getUint16(endAt + 10, true); i > 0; i--) {
    const nameLength = view.getUint16(at + 28, true);
    const entryName = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const size = view.getUint32(at + 24, true);
    const headerOffset = view.getUint32(at + 42, true);
    const dataAt = headerOffset + 30 + view.getUint16(headerOffset + 26, true) + view.getUint16(headerOffset + 28, true);
    corpus.localHeaders.push(headerOffset);
    corpus.directoryEntries.push(at);
    corpus.structure.push([headerOffset, dataAt]);
    (entryName.endsWith('/data.pkl') ? corpus.pickle : corpus.data).push([dataAt, dataAt + size]);
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  return corpus;
}

// The legacy odd file (GPT2Model.state_dict()): a storage per weight, and per layer a uint8 7x7
// attn.bias and a scalar f32 attn.masked_bias; each storage is 8 bytes of count, then its bytes.
function legacyCorpus(name: string, bytes: Uint8Array, weightBytes: number, weightCount: number, layers: number): Corpus {
  const storageBytes = weightBytes + layers * (49 + 4) + 8 * (weightCount + 2 * layers);
  const pickleEnd = bytes.length - storageBytes;
  if (bytes[pickleEnd - 1] !== 0x2e) throw new Error('the legacy corpus is not laid out as expected: its pickles do not end with STOP');
  return { name, bytes, pickle: [[0, pickleEnd]], structure: [], data: [[pickleEnd, bytes.length]], localHeaders: [], directoryEntries: [] };
}

function buildCorpora(): { zip: Corpus[]; legacy: Corpus[] } {
  const zip = torchFixture('odd/pytorch_model.bin');
  const twin = torchFixture('odd/model.safetensors');
  const headerLength = Number(new DataView(twin.buffer, twin.byteOffset).getBigUint64(0, true));
  const weightCount = Object.keys(JSON.parse(new TextDecoder().decode(twin.subarray(8, 8 + headerLength)))).filter((key) => key !== '__metadata__').length;
  return {
    zip: [
      zipCorpus('odd zip F32', zip),
      zipCorpus('odd zip BF16', torchFixture('odd/pytorch_model.bf16.bin')),
      // With zip64 records, as a file beyond 4 GB has; its parts are not worked out, so it is damaged anywhere.
      { name: 'odd zip64 F32', bytes: writeZip(readZip(zip), { zip64: true }), pickle: [], structure: [], data: [], localHeaders: [], directoryEntries: [] },
    ],
    legacy: [legacyCorpus('odd legacy F32', torchFixture('odd/pytorch_model.legacy.bin'), twin.length - 8 - headerLength, weightCount, 2)],
  };
}

// --- Mutations ---

interface FuzzCase {
  bytes: Uint8Array;
  size: number;
  steps: string[];
}

type Mutation = (random: Random, c: FuzzCase, corpus: Corpus) => void;

// Every opcode the reader knows, and a few it refuses.
const PICKLE_OPCODES = [
  0x80, 0x95, 0x2e, 0x28, 0x29, 0x74, 0x85, 0x86, 0x87, 0x5d, 0x6c, 0x61, 0x65, 0x7d, 0x64, 0x73, 0x75, 0x4a, 0x4b, 0x4d, 0x8a, 0x4e, 0x88, 0x89,
  0x47, 0x8c, 0x58, 0x8d, 0x55, 0x54, 0x71, 0x72, 0x94, 0x68, 0x6a, 0x63, 0x93, 0x52, 0x62, 0x51, 0x30, 0x31, 0x32, 0x69, 0x6f, 0x81, 0x82, 0x42, 0x43,
];
const INTERESTING_U32 = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** A position in one of the ranges (which, by weight), or anywhere if there are none. */
function positionIn(random: Random, c: FuzzCase, ranges: Range[]): number {
  const inside = ranges.filter(([begin, end]) => end > begin && begin < c.bytes.length);
  if (inside.length === 0) return random.below(c.bytes.length);
  const [begin, end] = random.pick(inside);
  return random.between(begin, Math.min(end, c.bytes.length) - 1);
}

function region(random: Random, corpus: Corpus): [string, Range[]] {
  const ticket = random.below(10);
  if (ticket < 5) return ['the pickle', corpus.pickle];
  if (ticket < 8 && corpus.structure.length > 0) return ['the zip structure', corpus.structure];
  return ['the data', corpus.data];
}

function splice(c: FuzzCase, at: number, remove: number, insert: Uint8Array): void {
  const bytes = splicedBytes(c.bytes, at, remove, insert);
  c.size += bytes.length - c.bytes.length;
  c.bytes = bytes;
}

const flipBits: Mutation = (random, c, corpus) => {
  const [where, ranges] = region(random, corpus);
  for (let i = random.between(1, 4); i > 0; i--) {
    const at = positionIn(random, c, ranges);
    const bit = random.below(8);
    c.bytes[at] ^= 1 << bit;
    c.steps.push(`flip bit ${bit} of byte ${at} (${where})`);
  }
};

const setOpcode: Mutation = (random, c, corpus) => {
  const at = positionIn(random, c, corpus.pickle);
  c.bytes[at] = random.chance(0.8) ? random.pick(PICKLE_OPCODES) : random.below(256);
  c.steps.push(`set pickle byte ${at} to 0x${c.bytes[at].toString(16)}`);
};

// The argument of a BININT1 or BININT (shapes, strides, offsets, sizes, memo indices) or of a
// BINUNICODE (a string's length) set to an edge value.
const setPickleArgument: Mutation = (random, c, corpus) => {
  const view = new DataView(c.bytes.buffer);
  for (let tries = 0; tries < 50; tries++) {
    const at = positionIn(random, c, corpus.pickle);
    const opcode = c.bytes[at];
    if (opcode === 0x4b && at + 1 < c.bytes.length) {
      c.bytes[at + 1] = random.chance(0.5) ? random.below(256) : random.pick([0, 1, 2, 3, 6, 7, 8, 9, 18, 27, 36, 255]);
    } else if ((opcode === 0x4a || opcode === 0x58) && at + 5 <= c.bytes.length) {
      view.setUint32(at + 1, random.chance(0.5) ? random.pick(INTERESTING_U32) : random.u32(), true);
    } else {
      continue;
    }
    c.steps.push(`set the argument of opcode 0x${opcode.toString(16)} at ${at}`);
    return;
  }
};

// A field of a local header or directory entry set to an edge value or a near miss.
const setZipField: Mutation = (random, c, corpus) => {
  const local = random.chance(0.5) && corpus.localHeaders.length > 0;
  const starts = local ? corpus.localHeaders : corpus.directoryEntries;
  if (starts.length === 0) return;
  const start = random.pick(starts);
  const fields = local ? [[0, 4], [4, 2], [6, 2], [8, 2], [18, 4], [22, 4], [26, 2], [28, 2]] : [[0, 4], [8, 2], [10, 2], [20, 4], [24, 4], [28, 2], [30, 2], [32, 2], [34, 2], [42, 4]];
  const [offset, width] = random.pick(fields);
  const at = start + offset;
  if (at + width > c.bytes.length) return;
  const view = new DataView(c.bytes.buffer);
  const old = width === 4 ? view.getUint32(at, true) : view.getUint16(at, true);
  const value = random.chance(0.5) ? old + random.pick([-64, -2, -1, 1, 2, 64]) : random.pick(INTERESTING_U32);
  if (width === 4) view.setUint32(at, value >>> 0, true);
  else view.setUint16(at, value & 0xffff, true);
  c.steps.push(`set the ${width}-byte field at ${at} (${local ? 'local header' : 'directory entry'} +${offset}) from ${old} to ${value}`);
};

const insertBytes: Mutation = (random, c, corpus) => {
  const at = positionIn(random, c, random.chance(0.7) ? corpus.pickle : [[0, c.bytes.length]]);
  const inserted = Uint8Array.from({ length: random.between(1, 8) }, () => (random.chance(0.5) ? random.pick(PICKLE_OPCODES) : random.below(256)));
  splice(c, at, 0, inserted);
  c.steps.push(`insert ${inserted.length} bytes at ${at}`);
};

const deleteBytes: Mutation = (random, c, corpus) => {
  const at = positionIn(random, c, random.chance(0.7) ? corpus.pickle : [[0, c.bytes.length]]);
  const removed = Math.min(random.between(1, 16), c.bytes.length - at);
  splice(c, at, removed, new Uint8Array());
  c.steps.push(`delete ${removed} bytes at ${at}`);
};

const truncate: Mutation = (random, c) => {
  const length = random.below(c.bytes.length);
  const claimsWhole = random.chance(0.3);
  c.bytes = c.bytes.slice(0, length);
  if (!claimsWhole) c.size = length;
  c.steps.push(`cut at ${length}${claimsWhole ? ', still claiming the whole size' : ''}`);
};

const misstateSize: Mutation = (random, c) => {
  c.size = Math.max(0, c.size + random.pick([-100, -8, -1, 1, 8, 100]));
  c.steps.push(`claim a size of ${c.size}`);
};

const badValue: Mutation = (random, c, corpus) => {
  const at = positionIn(random, c, corpus.data) & ~1;
  if (at + 2 > c.bytes.length) return;
  c.bytes[at] = 0xff;
  c.bytes[at + 1] = 0xff;
  c.steps.push(`0xffff at ${at} (NaN in an F32 or BF16 storage)`);
};

const MUTATIONS: [Mutation, number][] = [
  [flipBits, 6],
  [setOpcode, 3],
  [setPickleArgument, 4],
  [setZipField, 3],
  [insertBytes, 2],
  [deleteBytes, 2],
  [truncate, 1],
  [misstateSize, 1],
  [badValue, 1],
];
// Mutations that move bytes come last, so the others still find the parts where the corpus says.
const MOVES_BYTES = new Set<Mutation>([insertBytes, deleteBytes, truncate]);

// --- Running cases ---

let parser: WeightsParser;
let corpora: ReturnType<typeof buildCorpora>;
let baseline: Uint8Array[];

beforeAll(async () => {
  corpora = buildCorpora();
  const sink = new MemorySink();
  await loadWeights(await createParser(), sourceOf(corpora.zip[0].bytes, corpora.zip[0].bytes.length, () => 4096), sink, { matrixDtype: 'f16' });
  baseline = sink.data;
  parser = await createParser();
});

function sourceOf(bytes: Uint8Array, size: number, nextChunk: () => number): WeightsSource {
  return { format: 'pytorch-bin', config, files: [chunkedFile('pytorch_model.bin', bytes, size, nextChunk)] };
}

async function runCase(corpus: Corpus, caseNumber: number, stats: FuzzStats): Promise<void> {
  const random = new Random(SEED, caseNumber);
  const c: FuzzCase = { bytes: corpus.bytes.slice(), size: corpus.bytes.length, steps: [] };
  const chosen = Array.from({ length: random.between(1, 3) }, () => pickWeighted(random, MUTATIONS));
  chosen.sort((a, b) => Number(MOVES_BYTES.has(a)) - Number(MOVES_BYTES.has(b)));
  for (const mutation of chosen) mutation(random, c, corpus);
  const matrixDtype: MatrixDtype = random.chance(0.5) ? 'f32' : 'f16';
  const chunks = chunkSizes(random, c.bytes.length);

  await recordFuzzCase(stats, (sink) => loadWeights(parser, sourceOf(c.bytes, c.size, chunks.next), sink, { matrixDtype }), messageKind,
    () => `case ${caseNumber} (${corpus.name}, ${matrixDtype}, ${chunks.text}; ${c.steps.join('; ')})`);
}

/** A message with its numbers, names and quoted text blanked: what kind of damage it reports. */
function messageKind(message: string): string {
  return message
    .replace(/"[^"]*"/g, '"_"')
    .replace(/\b(tensors?|and|entry|storage|global|for tensor) [^\s:,()]+/g, '$1 _')
    .replace(/\d+/g, '#');
}

async function expectStillLoads(afterCase: number): Promise<void> {
  const sink = new MemorySink();
  const { bytes } = corpora.zip[0];
  await loadWeights(parser, sourceOf(bytes, bytes.length, () => 777), sink, { matrixDtype: 'f16' });
  expect(differingSlots(sink.data, baseline), `seed ${SEED}: after case ${afterCase}`).toEqual([]);
}

async function fuzz(inputs: Corpus[], cases: number, firstCase: number): Promise<FuzzStats> {
  const stats = newFuzzStats();
  for (let i = 0; i < cases; i++) {
    const caseNumber = firstCase + i;
    await runCase(inputs[i % inputs.length], caseNumber, stats);
    if (i % 500 === 499) await expectStillLoads(caseNumber);
  }
  await expectStillLoads(firstCase + cases - 1);
  console.log(
    `pytorch_model.bin fuzz seed ${SEED}: ${inputs[0].name} and others, ${stats.cases} cases in ${(stats.ms / 1000).toFixed(1)} s ` +
      `(slowest ${stats.slowestMs.toFixed(0)} ms), ${stats.loaded} loaded, ${stats.messageKinds.size} kinds of rejection`,
  );
  return stats;
}

describe(`pytorch_model.bin fuzz (seed ${SEED})`, () => {
  it('zip format: every damaged file loads or throws WeightsFormatError, writing only inside its slots', async () => {
    const stats = await fuzz(corpora.zip, 3000 * SCALE, 2_000_000_000);
    expect(stats.failures).toEqual([]);
    // The mutations reach deep into the checks, and some leave a file that still loads.
    expect(stats.messageKinds.size).toBeGreaterThan(25);
    expect(stats.loaded).toBeGreaterThan(0);
  }, 120_000 * SCALE);

  it('legacy format: every damaged file loads or throws WeightsFormatError, writing only inside its slots', async () => {
    const stats = await fuzz(corpora.legacy, 2000 * SCALE, 3_000_000_000);
    expect(stats.failures).toEqual([]);
    expect(stats.messageKinds.size).toBeGreaterThan(15);
    expect(stats.loaded).toBeGreaterThan(0);
  }, 120_000 * SCALE);

  it('the pickle reader: random opcode soup gives a state dict or a WeightsFormatError, never anything else', () => {
    const failures: string[] = [];
    let read = 0;
    for (let i = 0; i < 20_000 * SCALE; i++) {
      const random = new Random(SEED, 4_000_000_000 + i);
      const soup = Uint8Array.from({ length: random.between(1, 64) }, () => (random.chance(0.6) ? random.pick(PICKLE_OPCODES) : random.below(256)));
      if (random.chance(0.5)) soup[0] = 0x80;
      try {
        readStateDict(soup, 'soup', random.chance(0.5) ? 'zip' : 'legacy');
        read++;
      } catch (error) {
        if (!(error instanceof WeightsFormatError) || !ADVICE.test(error.message)) {
          if (failures.length < 20) failures.push(`seed ${SEED} soup ${i} [${Array.from(soup, (b) => b.toString(16)).join(' ')}]: ${String(error)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    console.log(`pickle soup: ${read} of ${20_000 * SCALE} read as state dicts`);
  });
});
