// `npm run logits` end to end: the CLI starts Vite and headless Chromium and runs the app's own
// worker and WebGPU kernels on the shared fixture, in each of its three files, and its CPU
// backend (f32 and int8); on a truncated copy, or with a backend that does not exist, it must fail
// with one `error:` line and a non-zero exit code.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gpt2ConfigFromJson } from '../../scripts/hf-config.ts';
import { decodeSafetensors } from '../../scripts/model-files.ts';
import { DEMO_MODEL } from '../../src/models/demo-model.ts';
import { encode } from '../../src/worker/tokenizer.ts';
import { INT8_MAX_LOGIT_ERROR, type ExpectedCase } from '../support/fixture-expected.ts';
import { ReferenceGpt2 } from '../support/reference-gpt2.ts';

const fixture = join(import.meta.dirname, '../../../shared/fixtures/tiny-gpt2');
const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')).cases as ExpectedCase[];
// A case with a continuation, and a short prompt so the command line stays readable.
const testCase = expected.find((c) => c.greedy_continuation.length > 0 && c.tokens.length < 40)!;

function runScript(script: string, args: string[]): Promise<{ code: number; lines: string[] }> {
  return new Promise((resolve) => {
    execFile('node', ['--import', 'tsx', script, ...args], { cwd: join(import.meta.dirname, '../..'), maxBuffer: 64 << 20 },
      (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, lines: stdout.trim().split('\n') }));
  });
}
const runLogits = (args: string[]) => runScript('scripts/logits.ts', args);

const maxAbsDifference = (a: number[], b: number[]) => a.reduce((max, value, i) => Math.max(max, Math.abs(value - b[i])), 0);

describe('npm run logits', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'logits-cli-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const models: [string, string, 'webgpu' | 'cpu', 'last_logits' | 'last_logits_f16_weights', number][] = [
    ['a folder (gpt2_weights.bin + gpt2_config.txt)', fixture, 'webgpu', 'last_logits', 1e-3],
    ['model.safetensors', join(fixture, 'model.safetensors'), 'webgpu', 'last_logits', 1e-3],
    ['model.f16.safetensors', join(fixture, 'model.f16.safetensors'), 'webgpu', 'last_logits_f16_weights', 2e-2],
    ['model.safetensors', join(fixture, 'model.safetensors'), 'cpu', 'last_logits', 1e-3],
  ];
  for (const [what, model, backend, logitsKey, tolerance] of models) {
    it(`prints logits, argmax per position and a greedy continuation for ${what} on ${backend}`, async () => {
      const { code, lines } = await runLogits([
        '--model', model, '--tokens', testCase.tokens.join(','), '--all-positions',
        '--generate', String(testCase.greedy_continuation.length),
        ...(backend === 'cpu' ? ['--backend', 'cpu'] : []),
      ]);
      expect(code).toBe(0);
      expect(lines).toHaveLength(1);
      const result = JSON.parse(lines[0]);
      expect(result).toMatchObject({ backend, weightsDtype: 'f32' });
      expect(result.logits).toHaveLength(50257);
      expect(maxAbsDifference(result.logits, testCase[logitsKey])).toBeLessThan(tolerance);
      expect(result.argmax).toEqual(testCase.all_positions_argmax);
      expect(result.generated).toEqual(testCase.greedy_continuation);
    });
  }

  it('adds the top tokens and the prompt log-probabilities with --top-k, within 1e-4 of a float64 reference, on both backends', async () => {
    const modelFile = join(fixture, 'model.safetensors');
    const reference = new ReferenceGpt2(gpt2ConfigFromJson(readFileSync(join(fixture, 'config.json'), 'utf8'), 'config.json'), decodeSafetensors(readFileSync(modelFile)).tensors);
    const count = testCase.greedy_continuation.length;
    const sequence = [...testCase.tokens, ...testCase.greedy_continuation];
    // The reference's log-softmax after each position of the prompt and its continuation.
    const logSoftmax = reference.logits(sequence).map((row) => {
      const max = Math.max(...row);
      const logSumExp = max + Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
      return Array.from(row, (value) => value - logSumExp);
    });
    for (const backend of ['webgpu', 'cpu']) {
      const { code, lines } = await runLogits(['--model', modelFile, '--tokens', testCase.tokens.join(','), '--generate', String(count), '--top-k', '5', '--backend', backend]);
      expect(code, lines.join('\n')).toBe(0);
      const result = JSON.parse(lines[0]) as { top_k: [number, number][][]; prompt_logprobs: number[]; generated: number[] };
      expect(result.generated).toEqual(testCase.greedy_continuation);
      // After the last prompt token, then after each generated token.
      expect(result.top_k).toHaveLength(count + 1);
      result.top_k.forEach((top, step) => {
        const row = logSoftmax[testCase.tokens.length - 1 + step];
        const best = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b).slice(0, 5);
        expect(top.map(([token]) => token), `${backend} step ${step}`).toEqual(best);
        for (const [token, probability] of top) expect(Math.abs(probability - Math.exp(row[token])), `${backend} step ${step}`).toBeLessThan(1e-4);
      });
      expect(result.prompt_logprobs).toHaveLength(testCase.tokens.length - 1);
      result.prompt_logprobs.forEach((logprob, i) => expect(Math.abs(logprob - logSoftmax[i][testCase.tokens[i + 1]]), `${backend} token ${i + 1}`).toBeLessThan(1e-4));
    }
  });

  it('refuses --top-k outside 1-20 with one error line', async () => {
    const { code, lines } = await runLogits(['--model', fixture, '--tokens', '464', '--top-k', '21']);
    expect(code).not.toBe(0);
    expect(lines).toEqual(['error: --top-k must be a whole number from 1 to 20, got "21"']);
  });

  it('runs int8 weights on the CPU backend, within the int8 bound of the reference but not equal to it', async () => {
    const { code, lines } = await runLogits(['--model', join(fixture, 'model.safetensors'), '--tokens', testCase.tokens.join(','),
      '--backend', 'cpu', '--dtype', 'int8']);
    expect(code).toBe(0);
    const result = JSON.parse(lines[0]);
    expect(result).toMatchObject({ backend: 'cpu', weightsDtype: 'int8' });
    const error = maxAbsDifference(result.logits, testCase.last_logits);
    expect(error).toBeLessThan(INT8_MAX_LOGIT_ERROR);
    expect(error).toBeGreaterThan(1e-3);
  });

  it('refuses a backend it does not have, and int8 weights on WebGPU, with one error line', async () => {
    for (const [args, message] of [
      [['--backend', 'gpu'], /^error: --backend must be webgpu or cpu, got "gpu"$/],
      [['--dtype', 'int8'], /^error: --dtype must be f32 or f16 on webgpu \(int8 is for --backend cpu\)/],
    ] as const) {
      const { code, lines } = await runLogits(['--model', fixture, '--tokens', '464', ...args]);
      expect(code).not.toBe(0);
      expect(lines).toEqual([expect.stringMatching(message)]);
    }
  });

  it('gives the same results on what `npm run download -- --from` wrote as on the safetensors it came from', async () => {
    const out = join(scratch, 'downloaded');
    const download = await runScript('scripts/download.ts', ['--from', join(fixture, 'model.safetensors'), '--out', out]);
    expect(download.code).toBe(0);
    const args = ['--tokens', testCase.tokens.join(','), '--all-positions'];
    const [converted, original] = [await runLogits(['--model', join(out, '3.3M'), ...args]), await runLogits(['--model', join(fixture, 'model.safetensors'), ...args])];
    expect(converted.code).toBe(0);
    const [fromLegacy, fromSafetensors] = [JSON.parse(converted.lines[0]), JSON.parse(original.lines[0])];
    expect(maxAbsDifference(fromLegacy.logits, fromSafetensors.logits)).toBe(0);
    expect(fromLegacy.argmax).toEqual(fromSafetensors.argmax);
  });

  // Both formats and dtypes are checked against the reference in Node (test/unit/cpu-engine.test.ts); this is the worker's path.
  it('reads a pytorch_model.bin saved by torch.save (zip format, F16) through the worker in Chromium', async () => {
    const folder = join(scratch, 'pytorch');
    mkdirSync(folder);
    copyFileSync(join(import.meta.dirname, '../fixtures/torch/tiny-f16-zip.bin'), join(folder, 'pytorch_model.bin'));
    copyFileSync(join(fixture, 'config.json'), join(folder, 'config.json'));
    const { code, lines } = await runLogits(['--model', folder, '--tokens', testCase.tokens.join(','), '--all-positions']);
    expect(code, lines.join('\n')).toBe(0);
    const result = JSON.parse(lines[0]);
    expect(maxAbsDifference(result.logits, testCase.last_logits_f16_weights)).toBeLessThan(2e-2);
    expect(result.argmax).toEqual(testCase.all_positions_argmax);
  });

  it('matches a float64 reference of the shipped demo model on a 64-token KJV passage, on both backends', async () => {
    const demoWeights = join(import.meta.dirname, '../../public', DEMO_MODEL.path, 'model.safetensors');
    const passage = encode(
      'The LORD is my shepherd; I shall not want. He maketh me to lie down in green pastures: he leadeth me beside the still ' +
        'waters. He restoreth my soul: he leadeth me in the paths of righteousness for his name\'s sake. Yea, though I walk ' +
        'through the valley of the shadow of death, I will fear no evil: for thou art with me; thy rod and thy staff they comfort me.',
    ).slice(0, 64);
    expect(passage).toHaveLength(64);
    // The reference reads the same F16 values, widened to float64 as it computes.
    const reference = new ReferenceGpt2(DEMO_MODEL.config, decodeSafetensors(readFileSync(demoWeights)).tensors);
    const referenceLogits = Array.from(reference.lastLogits(passage));
    const referenceArgmax = reference.argmaxPerPosition(passage);
    for (const backend of ['webgpu', 'cpu']) {
      const { code, lines } = await runLogits(['--model', demoWeights, '--tokens', passage.join(','), '--all-positions', '--backend', backend]);
      expect(code).toBe(0);
      const result = JSON.parse(lines[0]);
      expect(result).toMatchObject({ backend });
      expect(maxAbsDifference(result.logits, referenceLogits), backend).toBeLessThan(2e-2);
      expect(result.argmax, backend).toEqual(referenceArgmax);
    }
  });

  it('fails with one error line on a truncated copy', async () => {
    const truncated = join(scratch, 'model.safetensors');
    const bytes = readFileSync(join(fixture, 'model.safetensors'));
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    copyFileSync(join(fixture, 'config.json'), join(scratch, 'config.json'));
    const { code, lines } = await runLogits(['--model', truncated, '--tokens', '464,2068,7586']);
    expect(code).not.toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: .*(truncated|ends|short)/i);
  });
});
