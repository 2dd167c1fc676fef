// The download CLI (scripts/download.ts) run as a user runs it, as a child process, against a
// local stand-in for the HuggingFace hub serving the tiny-gpt2 fixture in several guises: as HF
// stores it, in F16 and BF16, in HF's own tensor order and naming, cut short, and broken off.
// The fixture's own gpt2_weights.bin and gpt2_config.txt are the expected output.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NamedTensor, decodeSafetensors, encodeLegacyBin, encodeSafetensors } from '../../scripts/model-files.ts';
import { SafetensorsStream } from '../../scripts/safetensors-stream.ts';
import { serveFile } from '../../scripts/static-files.ts';

const FIXTURE = '../shared/fixtures/tiny-gpt2';
const fixturePath = (name: string) => join(FIXTURE, name);

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  outDir: string; // the --out it was given
}

/** Runs the CLI with `--out` set to a fresh folder in `parentDir`; resolves (never rejects) when it exits. */
function runCli(parentDir: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const outDir = mkdtempSync(join(parentDir, 'out-'));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/download.ts', ...args, '--out', outDir],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr, outDir }),
    );
  });
}

/** The tensors of a gpt2_weights.bin, read with a DataView, independently of the CLI's writer. */
function readLegacyBin(bytes: Uint8Array): NamedTensor[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors: NamedTensor[] = [];
  let at = 4;
  for (let i = 0; i < view.getUint32(0, true); i++) {
    const nameLength = view.getUint32(at, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 4, at + 4 + nameLength));
    at += 4 + nameLength;
    const shape = Array.from({ length: view.getUint32(at, true) }, (_, dim) => view.getUint32(at + 4 + 4 * dim, true));
    at += 4 + 4 * shape.length;
    const data = new Float32Array(shape.reduce((product, dim) => product * dim, 1));
    for (let j = 0; j < data.length; j++) data[j] = view.getFloat32(at + 4 * j, true);
    at += 4 * data.length;
    tensors.push({ name, shape, data });
  }
  expect(at, 'bytes after the last tensor').toBe(bytes.length);
  return tensors;
}

const filesUnder = (dir: string) => readdirSync(dir, { recursive: true }).map(String).filter((path) => statSync(join(dir, path)).isFile());

describe('npm run download', () => {
  let workDir: string;
  let server: Server;
  let hubUrl: string; // + '/<scenario>' is the --hub for that scenario

  // What each scenario serves as openai-community/gpt2's model.safetensors; config.json is always the fixture's.
  const weightsFor: Record<string, string> = {};
  // Every CLI run, started together in beforeAll (each is mostly Node start-up); each test checks one.
  let runs: Record<string, Promise<CliRun>>;

  /** `npm run download -- gpt2` against one scenario of the local hub. */
  const downloadGpt2 = (scenario: string) => runCli(workDir, ['gpt2', '--hub', `${hubUrl}/${scenario}`]);

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'download-cli-'));
    const fixtureSafetensors = readFileSync(fixturePath('model.safetensors'));
    const { tensors } = decodeSafetensors(fixtureSafetensors);
    const writeInput = (name: string, bytes: Uint8Array) => {
      writeFileSync(join(workDir, name), bytes);
      return join(workDir, name);
    };

    // As HF's own files are: unprefixed names stored alphabetically (wte last), here with the mask
    // buffers older checkpoints carry and a tied lm_head.
    const layerCount = 2;
    const hfTensors: NamedTensor[] = tensors.map(({ name, shape, data }) => ({ name: name.replace(/^transformer\./, ''), shape, data }));
    for (let layer = 0; layer < layerCount; layer++) {
      hfTensors.push({ name: `h.${layer}.attn.bias`, shape: [1, 1, 8, 8], data: new Float32Array(64).fill(1) });
      hfTensors.push({ name: `h.${layer}.attn.masked_bias`, shape: [], data: new Float32Array([-1e4]) });
    }
    hfTensors.push({ name: 'lm_head.weight', shape: tensors[0].shape, data: tensors[0].data });
    hfTensors.sort((a, b) => (a.name < b.name ? -1 : 1));

    Object.assign(weightsFor, {
      f32: fixturePath('model.safetensors'),
      f16: fixturePath('model.f16.safetensors'),
      bf16: writeInput('bf16.safetensors', encodeSafetensors(tensors, 'BF16', { format: 'pt' })),
      'hf-layout': writeInput('hf-layout.safetensors', encodeSafetensors(hfTensors, 'F32', { format: 'pt' })),
      truncated: writeInput('truncated.safetensors', fixtureSafetensors.subarray(0, Math.floor(fixtureSafetensors.length * 0.6))),
      'not-safetensors': fixturePath('gpt2_weights.bin'),
      missing: join(workDir, 'no-such-file'),
    });

    server = createServer((request, response) => {
      const match = /^\/([\w-]+)\/openai-community\/gpt2\/resolve\/main\/(config\.json|model\.safetensors)$/.exec(request.url ?? '');
      const [, scenario, file] = match ?? [];
      if (!match) {
        response.statusCode = 404;
        response.end('Repository not found');
      } else if (file === 'config.json') {
        serveFile(request, response, fixturePath('config.json'));
      } else if (scenario === 'broken-off') {
        // Promises the whole file, sends 40% of it, then drops the connection.
        response.setHeader('Content-Length', fixtureSafetensors.length);
        response.write(fixtureSafetensors.subarray(0, Math.floor(fixtureSafetensors.length * 0.4)), () => response.destroy());
      } else {
        serveFile(request, response, weightsFor[scenario]);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const scenarios = ['f32', 'f16', 'bf16', 'hf-layout', 'missing', 'truncated', 'broken-off', 'not-safetensors'];
    runs = {
      ...Object.fromEntries(scenarios.map((scenario) => [scenario, downloadGpt2(scenario)])),
      'hub-from-env': runCli(workDir, ['gpt2'], { GPT2_HUB_URL: `${hubUrl}/f32` }),
      'local-file': runCli(workDir, ['--from', fixturePath('model.safetensors')]),
      'unknown-model': runCli(workDir, ['gpt3', '--hub', `${hubUrl}/f32`]),
    };
  });

  afterAll(async () => {
    // Runs whose tests were filtered out may still be going: let them finish before their folders go.
    await Promise.all(Object.values(runs ?? {}));
    await new Promise((resolve) => server?.close(resolve));
    rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  function expectOneLineError(result: CliRun, pattern: RegExp): void {
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: [^\n]+\n$/);
    expect(result.stderr).toMatch(pattern);
  }

  it('turns the hub checkpoint into the fixture gpt2_weights.bin, gpt2_config.txt and mapping, byte for byte', async () => {
    const { code, stdout, stderr, outDir } = await runs['f32'];
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('28 tensors');
    expect(filesUnder(outDir).sort()).toEqual(['124M/gpt2_config.txt', '124M/gpt2_weight_mapping.txt', '124M/gpt2_weights.bin']);
    const written = readFileSync(join(outDir, '124M/gpt2_weights.bin'));
    expect(written.equals(readFileSync(fixturePath('gpt2_weights.bin')))).toBe(true);
    expect(readFileSync(join(outDir, '124M/gpt2_config.txt'), 'utf8')).toBe(readFileSync(fixturePath('gpt2_config.txt'), 'utf8'));
    const mapping = readFileSync(join(outDir, '124M/gpt2_weight_mapping.txt'), 'utf8').split('\n');
    expect(mapping).toHaveLength(29); // 28 lines and the final newline
    expect(mapping[0]).toBe('transformer.wte.weight -> transformer.wte.weight [50257, 64]');
    expect(mapping[4]).toBe('transformer.h.0.attn.c_attn.weight -> transformer.h.0.attn.c_attn.weight [64, 192]');
  });

  it('reads GPT2_HUB_URL when --hub is not given', async () => {
    const { code, stderr, outDir } = await runs['hub-from-env'];
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(readFileSync(join(outDir, '124M/gpt2_weights.bin')).equals(readFileSync(fixturePath('gpt2_weights.bin')))).toBe(true);
  });

  it.each([
    ['f16', 'model.f16.safetensors'],
    ['bf16', 'bf16.safetensors'],
  ])('converts %s weights to exactly the f32 values they hold', async (scenario) => {
    const { code, stderr, outDir } = await runs[scenario];
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const written = readFileSync(join(outDir, '124M/gpt2_weights.bin'));
    // f16 and bf16 values are all exact in f32, so decoding the input gives the expected output exactly.
    const expected = encodeLegacyBin(decodeSafetensors(readFileSync(weightsFor[scenario])).tensors);
    expect(written.equals(expected)).toBe(true);
    const fixtureTensors = readLegacyBin(readFileSync(fixturePath('gpt2_weights.bin')));
    const writtenTensors = readLegacyBin(written);
    expect(writtenTensors.map(({ name, shape }) => ({ name, shape }))).toEqual(fixtureTensors.map(({ name, shape }) => ({ name, shape })));
    // Rounded to 16 bits, so close to the f32 fixture but not equal to it.
    const [wte] = writtenTensors;
    expect(wte.data[0]).toBeCloseTo(fixtureTensors[0].data[0], 2);
    expect(written.equals(readFileSync(fixturePath('gpt2_weights.bin')))).toBe(false);
  });

  it("puts HF's unprefixed, alphabetically stored tensors in state-dict order and drops the buffers and lm_head", async () => {
    const { code, stderr, outDir } = await runs['hf-layout'];
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(readFileSync(join(outDir, '124M/gpt2_weights.bin')).equals(readFileSync(fixturePath('gpt2_weights.bin')))).toBe(true);
    const mapping = readFileSync(join(outDir, '124M/gpt2_weight_mapping.txt'), 'utf8');
    expect(mapping.split('\n')[0]).toBe('wte.weight -> transformer.wte.weight [50257, 64]');
    expect(mapping).toContain('h.1.mlp.c_proj.bias -> transformer.h.1.mlp.c_proj.bias [64]\n');
    expect(mapping).not.toMatch(/\.attn\.bias|masked_bias|lm_head/);
  });

  it('converts a local file with --from, naming the folder by parameter count', async () => {
    const { code, stderr, outDir } = await runs['local-file'];
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(filesUnder(outDir).sort()).toEqual(['3.3M/gpt2_config.txt', '3.3M/gpt2_weight_mapping.txt', '3.3M/gpt2_weights.bin']);
    expect(readFileSync(join(outDir, '3.3M/gpt2_weights.bin')).equals(readFileSync(fixturePath('gpt2_weights.bin')))).toBe(true);
    expect(readFileSync(join(outDir, '3.3M/gpt2_config.txt'), 'utf8')).toBe(readFileSync(fixturePath('gpt2_config.txt'), 'utf8'));
  });

  it('names the valid models when given an unknown one', async () => {
    const result = await runs['unknown-model'];
    expectOneLineError(result, /unknown model "gpt3".*distilgpt2, gpt2, gpt2-medium, gpt2-large, gpt2-xl/);
  });

  it('reports an HTTP error with its status and URL, writing nothing', async () => {
    const result = await runs['missing'];
    expectOneLineError(result, new RegExp(`HTTP 404 .*${hubUrl}/missing/openai-community/gpt2/resolve/main/model\\.safetensors`));
    expect(filesUnder(result.outDir)).toEqual([]);
  });

  it.each([
    ['truncated', /model\.safetensors ends after \d+ bytes.*cut short/],
    ['broken-off', /download of .*model\.safetensors broke off after \d+ bytes/],
  ])('fails on a %s download and leaves no file behind', async (scenario, message) => {
    const result = await runs[scenario];
    expectOneLineError(result, message);
    expect(filesUnder(result.outDir)).toEqual([]);
  });

  it('refuses a file that is not safetensors', async () => {
    const result = await runs['not-safetensors'];
    expectOneLineError(result, /model\.safetensors is not a safetensors file/);
    expect(filesUnder(result.outDir)).toEqual([]);
  });
});

describe('SafetensorsStream', () => {
  /** `bytes` in chunks of `size`, so the header and most elements are split across chunks. */
  async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < bytes.length; at += size) yield bytes.slice(at, at + size);
  }

  it.each([
    ['F32', 3],
    ['F16', 5],
    ['BF16', 1],
  ] as const)('hands out %s tensors whole-element piece by piece from %i-byte chunks', async (dtype, chunkSize) => {
    const tensors: NamedTensor[] = [
      { name: 'a', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i - 7.25) },
      { name: 'b', shape: [7], data: Float32Array.from({ length: 7 }, (_, i) => -i / 3) },
    ];
    const file = encodeSafetensors(tensors, dtype, { format: 'pt' });
    const checkpoint = await SafetensorsStream.open(chunksOf(file, chunkSize), 'test.safetensors');
    expect(checkpoint.tensors.map(({ name, shape }) => ({ name, shape }))).toEqual([
      { name: 'a', shape: [3, 5] },
      { name: 'b', shape: [7] },
    ]);
    expect(checkpoint.byteLength).toBe(file.length);
    const received = new Map<string, Uint8Array[]>();
    for await (const { tensor, byteOffset, bytes } of checkpoint.tensorData()) {
      expect(bytes.length % tensor.elementBytes).toBe(0);
      const pieces = received.get(tensor.name) ?? [];
      expect(byteOffset).toBe(pieces.reduce((total, piece) => total + piece.length, 0));
      received.set(tensor.name, [...pieces, bytes.slice()]);
    }
    for (const tensor of checkpoint.tensors) {
      const expected = file.subarray(checkpoint.dataStart + tensor.dataBegin, checkpoint.dataStart + tensor.dataEnd);
      expect(Buffer.concat(received.get(tensor.name) ?? []).equals(expected)).toBe(true);
    }
  });
});
