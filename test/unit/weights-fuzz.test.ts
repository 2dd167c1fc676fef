// Fuzzes the weights parser through loadWeights, the way the app drives it: thousands of damaged
// safetensors headers and gpt2_weights.bin records (bit flips, byte swaps, cuts, insertions,
// wrong length prefixes, shuffled JSON tokens, bad counts, name lengths, ranks and dims, NaNs),
// each streamed in random chunk sizes. Every case must either load completely or throw a
// WeightsFormatError whose message says what to do: never another error, a WASM trap, a write
// outside its slot, or a slow case. Every case has its own generator, seeded from the run's seed
// (printed) and its number, so a failure names both and WEIGHTS_FUZZ_SEED=<seed> replays it.
// WEIGHTS_FUZZ_SCALE=<n> runs n times as many cases, for a longer hunt.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpt2Config } from '../../src/model/config.ts';
import type { MatrixDtype } from '../../src/model/weight-layout.ts';
import { type WeightFile, type WeightsSource, loadWeights } from '../../src/weights/load-weights.ts';
import type { WeightsParser } from '../../src/weights/weights-parser.ts';
import {
  type SafetensorsDtype,
  encodeLegacyBin,
  encodeSafetensors,
  hfConfigJson,
  legacyConfigText,
  randomGpt2Tensors,
} from '../../scripts/model-files.ts';
import { Random, SCALE, SEED, chunkSizes, chunkedFile, newFuzzStats, pickWeighted, recordFuzzCase, splicedBytes, type FuzzStats } from './fuzz-harness.ts';
import { MemorySink, ODD_CONFIG, TINY_CONFIG, createParser, differingSlots, fixture } from './weights-helpers.ts';

// How far into the fixtures' data the fixture cases stream before the stream stops short.
const FIXTURE_DATA_BYTES = 65536;

console.log(`weights fuzz seed ${SEED} (replay with WEIGHTS_FUZZ_SEED=${SEED})`);

// --- The inputs ---

/** One input being damaged: its bytes, the size the loader is told, and what was done to it. */
interface FuzzCase {
  bytes: Uint8Array;
  size: number;
  /** Where the safetensors header ends now, after bytes were inserted or removed. */
  headerEnd: number;
  steps: string[];
}

interface Corpus {
  name: string;
  format: WeightsSource['format'];
  config: WeightsSource['config'];
  bytes: Uint8Array;
  /** The size the loader is told; more than `bytes` for a fixture streamed only in part. */
  size: number;
  /** safetensors: where the header ends. */
  headerEnd: number;
  /** Byte ranges holding lengths, names, shapes and JSON: where most damage is done. */
  fields: [number, number][];
  /** Byte ranges holding tensor values (as far as `bytes` reaches), of this dtype. */
  data: [number, number][];
  dtype: SafetensorsDtype;
  /** gpt2_weights.bin: where each record's fields are. */
  records: LegacyRecord[];
}

interface LegacyRecord {
  nameLengthAt: number;
  nameLength: number;
  rankAt: number;
  dims: number[];
  dataAt: number;
}

const encodeText = (text: string) => new TextEncoder().encode(text);

/** `bytes` may stop short of the file (`size` bytes), as long as its header is whole. */
function safetensorsCorpus(name: string, bytes: Uint8Array, config: Gpt2Config, dtype: SafetensorsDtype, size = bytes.length): Corpus {
  const headerEnd = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return {
    name,
    format: 'safetensors',
    config: { format: 'json', bytes: encodeText(hfConfigJson(config)) },
    bytes,
    size,
    headerEnd,
    fields: [[0, headerEnd]],
    data: [[headerEnd, bytes.length]],
    dtype,
    records: [],
  };
}

/** `bytes` may stop short of the file (`size` bytes), as long as it holds the first record's dims. */
function legacyCorpus(name: string, bytes: Uint8Array, config: Gpt2Config, size = bytes.length): Corpus {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: LegacyRecord[] = [];
  let offset = 4;
  for (let i = view.getUint32(0, true); i > 0 && offset < bytes.length; i--) {
    const nameLength = view.getUint32(offset, true);
    const rankAt = offset + 4 + nameLength;
    const dims = Array.from({ length: view.getUint32(rankAt, true) }, (_, k) => view.getUint32(rankAt + 4 + 4 * k, true));
    const dataAt = rankAt + 4 + 4 * dims.length;
    records.push({ nameLengthAt: offset, nameLength, rankAt, dims, dataAt });
    offset = dataAt + 4 * dims.reduce((a, b) => a * b, 1);
  }
  return {
    name,
    format: 'legacy-bin',
    config: { format: 'text', bytes: encodeText(legacyConfigText(config)) },
    bytes,
    size,
    headerEnd: 0,
    fields: [[0, 4], ...records.map((record): [number, number] => [record.nameLengthAt, record.dataAt])],
    data: records.map((record, i): [number, number] => [record.dataAt, Math.min(records[i + 1]?.nameLengthAt ?? size, bytes.length)]),
    dtype: 'F32',
    records,
  };
}

function buildCorpora(): { safetensors: Corpus[]; legacy: Corpus[] } {
  const tensors = randomGpt2Tensors(ODD_CONFIG, 7);
  const metadata = { format: 'pt' };
  const safetensors = (['F32', 'F16', 'BF16'] as const).map((dtype) =>
    safetensorsCorpus(`tiny ${dtype} safetensors`, encodeSafetensors(tensors, dtype, metadata), ODD_CONFIG, dtype),
  );
  const legacy = [legacyCorpus('tiny gpt2_weights.bin', encodeLegacyBin(tensors), ODD_CONFIG)];

  // The fixtures, streamed up to a little of their data: their real headers are checked against
  // their real sizes, and the stream then stops short.
  const f32 = fixture('model.safetensors');
  const f32HeaderEnd = 8 + Number(new DataView(f32.buffer).getBigUint64(0, true));
  safetensors.push(safetensorsCorpus('fixture model.safetensors', f32.slice(0, f32HeaderEnd + FIXTURE_DATA_BYTES), TINY_CONFIG, 'F32', f32.length));
  // Its first record is wte, 12.8 MB of data.
  const bin = fixture('gpt2_weights.bin');
  const firstDataAt = 4 + 4 + new DataView(bin.buffer).getUint32(4, true) + 4 + 2 * 4;
  legacy.push(legacyCorpus('fixture gpt2_weights.bin', bin.slice(0, firstDataAt + FIXTURE_DATA_BYTES), TINY_CONFIG, bin.length));
  return { safetensors, legacy };
}

// --- Mutations shared by both formats ---

const INTERESTING_BYTES = [0x00, 0x01, 0x20, 0x22, 0x2c, 0x2d, 0x2e, 0x30, 0x31, 0x39, 0x3a, 0x45, 0x5b, 0x5c, 0x5d, 0x65, 0x7b, 0x7d, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe0, 0xed, 0xf0, 0xf4, 0xf8, 0xff];

function randomByte(random: Random): number {
  return random.chance(0.5) ? random.pick(INTERESTING_BYTES) : random.below(256);
}

/** A position, mostly inside the corpus's fields. */
function position(random: Random, c: FuzzCase, corpus: Corpus): number {
  const [begin, end] = random.chance(0.85) ? random.pick(corpus.fields) : [0, c.bytes.length];
  return Math.min(random.between(begin, Math.max(begin, end - 1)), Math.max(0, c.bytes.length - 1));
}

/** Replaces `remove` bytes at `at` with `insert`; the file's size and header end follow. */
function splice(c: FuzzCase, at: number, remove: number, insert: Uint8Array): void {
  const bytes = splicedBytes(c.bytes, at, remove, insert);
  c.size += bytes.length - c.bytes.length;
  if (at <= c.headerEnd) c.headerEnd = Math.max(at, c.headerEnd - remove) + insert.length;
  c.bytes = bytes;
}

type Mutation = (random: Random, c: FuzzCase, corpus: Corpus) => void;

const flipBit: Mutation = (random, c, corpus) => {
  const at = position(random, c, corpus);
  const bit = random.below(8);
  c.bytes[at] ^= 1 << bit;
  c.steps.push(`flip bit ${bit} of byte ${at}`);
};

const replaceBytes: Mutation = (random, c, corpus) => {
  const at = position(random, c, corpus);
  const count = random.chance(0.7) ? 1 : random.between(2, 8);
  for (let i = at; i < Math.min(at + count, c.bytes.length); i++) c.bytes[i] = randomByte(random);
  c.steps.push(`replace ${count} bytes at ${at}`);
};

const insertBytes: Mutation = (random, c, corpus) => {
  const at = position(random, c, corpus);
  const inserted = Uint8Array.from({ length: random.between(1, 16) }, () => randomByte(random));
  splice(c, at, 0, inserted);
  c.steps.push(`insert ${inserted.length} bytes at ${at}`);
};

const deleteBytes: Mutation = (random, c, corpus) => {
  const at = position(random, c, corpus);
  const count = Math.min(random.between(1, 16), c.bytes.length - at);
  splice(c, at, count, new Uint8Array());
  c.steps.push(`delete ${count} bytes at ${at}`);
};

/** Cuts the file short; sometimes the loader is still told the whole size, as when a stream breaks. */
const truncate: Mutation = (random, c, corpus) => {
  const at = random.chance(0.7) ? position(random, c, corpus) : random.below(c.bytes.length + 1);
  const keepSize = random.chance(0.3);
  if (!keepSize) c.size -= c.bytes.length - at;
  c.bytes = c.bytes.slice(0, at);
  c.headerEnd = Math.min(c.headerEnd, at);
  c.steps.push(`cut at byte ${at}${keepSize ? ', size unchanged' : ''}`);
};

const misstateSize: Mutation = (random, c) => {
  const change = random.pick([-1, 1, -8, 8, random.between(-4096, 4096)]);
  c.size = Math.max(0, c.size + change);
  c.steps.push(`tell the loader the size is ${change} bytes off`);
};

/** Writes a NaN, an infinity or a value too large for f16 over one element of some tensor's data. */
const badValue: Mutation = (random, c, corpus) => {
  const elementBytes = corpus.dtype === 'F32' ? 4 : 2;
  const [begin, end] = random.pick(corpus.data);
  const elements = Math.floor((Math.min(end, c.bytes.length) - begin) / elementBytes);
  if (elements <= 0) return;
  const at = begin + random.below(elements) * elementBytes;
  const value = random.pick([NaN, Infinity, -Infinity, 70000, -1e38]);
  const view = new DataView(c.bytes.buffer);
  if (corpus.dtype === 'F32') view.setFloat32(at, value, true);
  else {
    const f32 = new Uint32Array(Float32Array.of(value).buffer)[0];
    const f16 = Number.isNaN(value) ? 0x7e00 : Math.abs(value) > 65504 ? (value < 0 ? 0xfc00 : 0x7c00) : 0;
    view.setUint16(at, corpus.dtype === 'BF16' ? f32 >>> 16 : f16, true);
  }
  c.steps.push(`write ${value} at byte ${at}`);
};

// --- safetensors mutations ---

function headerLength(c: FuzzCase): bigint {
  return c.bytes.length >= 8 ? new DataView(c.bytes.buffer).getBigUint64(0, true) : -1n;
}

const setHeaderLength: Mutation = (random, c) => {
  if (c.bytes.length < 8) return;
  const length = headerLength(c);
  const size = BigInt(c.size);
  const value = random.pick([
    0n, 1n, 2n, 7n, 8n, length - 1n, length + 1n, length - 8n, length + 8n, size - 8n, size - 7n, size,
    2n ** 31n, 2n ** 32n, 2n ** 32n + length, 100_000_001n, 2n ** 53n, 2n ** 60n, 2n ** 63n, 2n ** 64n - 1n, BigInt(random.u32()),
  ]);
  new DataView(c.bytes.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
  c.steps.push(`set the header length to ${BigInt.asUintN(64, value)}`);
};

const NUMBER_TOKENS = ['-1', '0', '1', '2', '1.5', '1e3', '1e400', '-0', '00', '9007199254740993', '18446744073709551616', '4294967295', '4294967296', '2147483648', '1e', '-', '0.', '333', '1332'];
const STRING_TOKENS = [
  '"F64"', '"I8"', '"BOOL"', '"F16"', '"BF16"', '"F32"', '""', '"\\u0000"', '"\\ud800"', '"\\ud83d\\ude00"', '"\\x"', '"\u00e9"',
  '"transformer.h.0.ln_1.weight"', '"h.1.ln_2.bias"', '"lm_head.weight"', '"transformer.h.99.ln_1.weight"', '"h.01.ln_1.weight"',
  '"__metadata__"', '"data_offsets"', '"shape"', '"dtype"', '"wte.weight"',
];
const PUNCTUATION_TOKENS = ['{', '}', '[', ']', ':', ',', ' ', 'null', 'true', '{}', '[]', '[[[[', ']]]]'];
const JSON_TOKEN = /"(?:[^"\\]|\\[^])*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[{}[\]:,]|\s+|[^]/g;

/** Swaps, copies, drops or replaces JSON tokens in the header; mostly fixes the length prefix after. */
const editJsonTokens: Mutation = (random, c) => {
  const headerEnd = c.headerEnd;
  if (headerEnd <= 8) return;
  const tokens = Buffer.from(c.bytes.subarray(8, headerEnd)).toString('latin1').match(JSON_TOKEN) ?? [];
  const meaningful = tokens.flatMap((token, index) => (/^\s+$/.test(token) ? [] : [index]));
  if (meaningful.length < 2) return;
  const edits = random.between(1, 3);
  for (let e = 0; e < edits; e++) {
    const i = random.pick(meaningful);
    const j = random.pick(meaningful);
    const op = random.below(5);
    if (op === 0) {
      [tokens[i], tokens[j]] = [tokens[j], tokens[i]];
      c.steps.push(`swap JSON tokens ${i} and ${j}`);
    } else if (op === 1) {
      tokens[i] += tokens[j];
      c.steps.push(`copy JSON token ${j} after ${i}`);
    } else if (op === 2) {
      tokens[i] = '';
      c.steps.push(`drop JSON token ${i}`);
    } else {
      const token = tokens[i].startsWith('"') ? random.pick(STRING_TOKENS) : /^-?\d/.test(tokens[i]) ? random.pick(NUMBER_TOKENS) : random.pick(PUNCTUATION_TOKENS);
      c.steps.push(`replace JSON token ${i} (${tokens[i].slice(0, 40)}) with ${token}`);
      tokens[i] = token;
    }
  }
  const header = Buffer.from(tokens.join(''), 'latin1');
  splice(c, 8, headerEnd - 8, header);
  if (random.chance(0.9)) new DataView(c.bytes.buffer).setBigUint64(0, BigInt(header.length), true);
  else c.steps.push('leave the header length as it was');
};

const SAFETENSORS_MUTATIONS: [Mutation, number][] = [
  [editJsonTokens, 6],
  [flipBit, 3],
  [replaceBytes, 3],
  [insertBytes, 2],
  [deleteBytes, 2],
  [setHeaderLength, 2],
  [truncate, 2],
  [badValue, 1],
  [misstateSize, 1],
];

// --- gpt2_weights.bin mutations ---

const setU32 = (c: FuzzCase, at: number, value: number) => {
  if (at + 4 <= c.bytes.length) new DataView(c.bytes.buffer).setUint32(at, value >>> 0, true);
};

const setCount: Mutation = (random, c, corpus) => {
  const count = corpus.records.length;
  const value = random.pick([0, 1, count - 1, count + 1, 2 * count, 100_000, 100_001, 2 ** 31, 2 ** 32 - 1, random.u32()]);
  setU32(c, 0, value);
  c.steps.push(`set the tensor count to ${value >>> 0}`);
};

const setNameLength: Mutation = (random, c, corpus) => {
  const record = random.pick(corpus.records);
  const value = random.pick([0, 1, record.nameLength - 1, record.nameLength + 1, record.nameLength + 4, 1024, 1025, 65536, 2 ** 31, 2 ** 32 - 1, random.u32()]);
  setU32(c, record.nameLengthAt, value);
  c.steps.push(`set the name length at ${record.nameLengthAt} to ${value >>> 0}`);
};

const damageName: Mutation = (random, c, corpus) => {
  const record = random.pick(corpus.records);
  if (record.nameLength === 0) return;
  const at = record.nameLengthAt + 4 + random.below(record.nameLength);
  c.bytes[at] = random.pick([0x00, 0x2e, 0x80, 0xbf, 0xc0, 0xc1, 0xc3, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xff, random.below(256)]);
  c.steps.push(`set name byte ${at} to 0x${c.bytes[at].toString(16)}`);
};

const setRank: Mutation = (random, c, corpus) => {
  const record = random.pick(corpus.records);
  const value = random.pick([0, 1, 2, 3, 4, 8, 9, 2 ** 32 - 1, random.u32()]);
  setU32(c, record.rankAt, value);
  c.steps.push(`set the rank at ${record.rankAt} to ${value >>> 0}`);
};

const setDim: Mutation = (random, c, corpus) => {
  const record = random.pick(corpus.records);
  const k = random.below(record.dims.length);
  const dim = record.dims[k];
  const value = random.chance(0.2) && record.dims.length === 2
    ? record.dims[1 - k]
    : random.pick([0, 1, dim - 1, dim + 1, 2 * dim, 65536, 2 ** 31, 2 ** 32 - 1, random.u32()]);
  setU32(c, record.rankAt + 4 + 4 * k, value);
  c.steps.push(`set dim ${k} at ${record.rankAt + 4 + 4 * k} to ${value >>> 0}`);
};

const LEGACY_MUTATIONS: [Mutation, number][] = [
  [setCount, 2],
  [setNameLength, 3],
  [damageName, 2],
  [setRank, 2],
  [setDim, 3],
  [flipBit, 3],
  [replaceBytes, 2],
  [insertBytes, 1],
  [deleteBytes, 1],
  [truncate, 2],
  [badValue, 1],
  [misstateSize, 1],
];

// Mutations that move bytes come last, so the others still find the fields where the corpus says.
const MOVES_BYTES = new Set<Mutation>([insertBytes, deleteBytes, truncate, editJsonTokens]);

// --- Running cases ---

let parser: WeightsParser;
let corpora: ReturnType<typeof buildCorpora>;
// What the tiny inputs load to in a fresh parser, to check the fuzzed one still loads them so.
let baselines: Map<Corpus, Uint8Array[]>;

beforeAll(async () => {
  corpora = buildCorpora();
  const fresh = await createParser();
  baselines = new Map();
  for (const corpus of [corpora.safetensors[0], corpora.legacy[0]]) {
    const sink = new MemorySink();
    await loadWeights(fresh, sourceOf(corpus, chunkedFile('weights', corpus.bytes, corpus.size, () => 4096)), sink, { matrixDtype: 'f16' });
    baselines.set(corpus, sink.data);
  }
  parser = await createParser();
});

function sourceOf(corpus: Corpus, file: WeightFile): WeightsSource {
  return { format: corpus.format, config: corpus.config, files: [file] };
}

async function runCase(corpus: Corpus, mutations: [Mutation, number][], caseNumber: number, stats: FuzzStats): Promise<void> {
  const random = new Random(SEED, caseNumber);
  const c: FuzzCase = { bytes: corpus.bytes.slice(), size: corpus.size, headerEnd: corpus.headerEnd, steps: [] };
  const chosen = Array.from({ length: random.between(1, 3) }, () => pickWeighted(random, mutations));
  chosen.sort((a, b) => Number(MOVES_BYTES.has(a)) - Number(MOVES_BYTES.has(b)));
  for (const mutation of chosen) mutation(random, c, corpus);
  const matrixDtype: MatrixDtype = random.chance(0.5) ? 'f32' : 'f16';
  const chunks = chunkSizes(random, c.bytes.length);

  await recordFuzzCase(stats, (sink) => loadWeights(parser, sourceOf(corpus, chunkedFile('weights', c.bytes, c.size, chunks.next)), sink, { matrixDtype }), messageKind,
    () => `case ${caseNumber} (${corpus.name}, ${matrixDtype}, ${chunks.text}; ${c.steps.join('; ')})`);
}

/** A message with its numbers, names and quoted text blanked: what kind of damage it reports. */
function messageKind(message: string): string {
  return message
    .replace(/"[^"]*"/g, '"_"')
    .replace(/\b(tensors?|and|tensor #\d+'s|for tensor) [^\s:,]+/g, '$1 _')
    .replace(/\d+/g, '#')
    .replace(/(JSON: ).*( at byte)/, '$1_$2');
}

/** Loads the corpus's undamaged bytes and compares them with what a fresh parser made of them. */
async function expectStillLoads(corpus: Corpus, afterCase: number): Promise<void> {
  const sink = new MemorySink();
  await loadWeights(parser, sourceOf(corpus, chunkedFile('weights', corpus.bytes, corpus.size, () => 777)), sink, { matrixDtype: 'f16' });
  expect(differingSlots(sink.data, baselines.get(corpus)!), `seed ${SEED}: after case ${afterCase}`).toEqual([]);
}

async function fuzz(inputs: Corpus[], mutations: [Mutation, number][], cases: number, firstCase: number): Promise<FuzzStats> {
  const stats = newFuzzStats();
  for (let i = 0; i < cases; i++) {
    const caseNumber = firstCase + i;
    await runCase(inputs[i % inputs.length], mutations, caseNumber, stats);
    if (i % 500 === 499) await expectStillLoads(inputs[0], caseNumber);
  }
  await expectStillLoads(inputs[0], firstCase + cases - 1);
  console.log(
    `weights fuzz seed ${SEED}: ${inputs[0].format} ${stats.cases} cases in ${(stats.ms / 1000).toFixed(1)} s ` +
      `(${((stats.cases / stats.ms) * 1000).toFixed(0)} cases/s, slowest ${stats.slowestMs.toFixed(0)} ms), ` +
      `${stats.loaded} loaded, ${stats.messageKinds.size} kinds of rejection`,
  );
  return stats;
}

describe(`weights parser fuzz (seed ${SEED})`, () => {
  it('safetensors: every damaged header loads or throws WeightsFormatError, writing only inside its slots', async () => {
    const stats = await fuzz(corpora.safetensors, SAFETENSORS_MUTATIONS, 4000 * SCALE, 0);
    expect(stats.failures).toEqual([]);
    // The mutations reach deep into the checks, and some leave a file that still loads.
    expect(stats.messageKinds.size).toBeGreaterThan(25);
    expect(stats.loaded).toBeGreaterThan(0);
  }, 120_000 * SCALE);

  it('gpt2_weights.bin: every damaged record loads or throws WeightsFormatError, writing only inside its slots', async () => {
    const stats = await fuzz(corpora.legacy, LEGACY_MUTATIONS, 2000 * SCALE, 1_000_000_000);
    expect(stats.failures).toEqual([]);
    expect(stats.messageKinds.size).toBeGreaterThan(12);
    expect(stats.loaded).toBeGreaterThan(0);
  }, 120_000 * SCALE);
});
