// The built-in demo model (public/models/kjv-demo/), checked from the shipped file with the app's own
// parser and CPU kernels: it is the file its card describes; it scores what the card says on the
// held-out chapters (rebuilt here from Debian's bible-kjv), with little mass on ids it never saw;
// and its greedy continuations are the card's, in KJV words, with no loop in them.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CpuWeightsDtype } from '../../src/cpu/cpu-weights.ts';
import type { Gpt2Cpu } from '../../src/cpu/gpt2-cpu.ts';
import { loadCpuModel, type LoadedCpuModel } from '../../src/cpu/load-cpu-model.ts';
import { KernelThreads } from '../../src/cpu/kernel-threads.ts';
import { DEMO_MODEL } from '../../src/models/demo-model.ts';
import { decode } from '../../src/worker/tokenizer.ts';
import { BIBLE_COMMAND, CARD_PROMPTS, kjvChapters, kjvTokens, type KjvTokens } from '../../training/kjv-demo/kjv-text.ts';
import type { DemoEvaluation } from '../../training/kjv-demo/write-card.ts';
import { nodeKernelThread } from '../support/node-kernel-threads.ts';
import { createParser, memoryFile } from './weights-helpers.ts';

const FOLDER = `public/${DEMO_MODEL.path}`;
const weightsBytes = readFileSync(`${FOLDER}model.safetensors`);
const card = readFileSync(`${FOLDER}README.md`, 'utf8');
const evaluation: DemoEvaluation = JSON.parse(readFileSync(`${FOLDER}evaluation.json`, 'utf8'));
const threadedKernels = new WebAssembly.Module(readFileSync('src/generated/cpu-kernels-threads.wasm'));

/** Debian's bible-kjv, as the model was trained on it; `npm test` installs the package. */
function kjvText(): string {
  try {
    return execFileSync(BIBLE_COMMAND[0], BIBLE_COMMAND.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (error) {
    throw new Error(`could not run "${BIBLE_COMMAND.join(' ')}" (${(error as Error).message}): install it with apt-get install bible-kjv`);
  }
}

/** log Σ exp(logits[offset .. offset + size)), the log of a softmax's denominator. */
function logSumExp(logits: Float32Array, offset: number, size: number): number {
  let max = -Infinity;
  for (let i = offset; i < offset + size; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = offset; i < offset + size; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}

/** Spans of 1..10 tokens repeated three times back to back: the loops a weak model falls into. */
function backToBackRepeat(tokens: number[]): number[] | null {
  for (let span = 1; span <= 10; span++) {
    for (let start = 0; start + 3 * span <= tokens.length; start++) {
      const piece = tokens.slice(start, start + span).join();
      if (tokens.slice(start + span, start + 2 * span).join() === piece && tokens.slice(start + 2 * span, start + 3 * span).join() === piece) {
        return tokens.slice(start, start + span);
      }
    }
  }
  return null;
}

/** Mean loss (nats/token) on the held-out chapters, and the mean probability on ids never trained on. */
async function heldOutScore(model: Gpt2Cpu, tokens: KjvTokens): Promise<{ loss: number; unseenMass: number; count: number }> {
  const { vocabSize, nCtx } = model.config;
  const trainingIds = [...new Set(tokens.train)];
  let loss = 0;
  let unseenMass = 0;
  let count = 0;
  // Windows of nCtx + 1 tokens, each predicted from its window's start, as evaluate.py scores them.
  for (let start = 0; start < tokens.heldOut.length - 1; start += nCtx) {
    const window = tokens.heldOut.slice(start, start + nCtx + 1);
    const logits = await model.allLogits(window.slice(0, -1));
    for (let position = 0; position < window.length - 1; position++) {
      const offset = position * vocabSize;
      const logSum = logSumExp(logits, offset, vocabSize);
      loss += logSum - logits[offset + window[position + 1]];
      let seenMass = 0;
      for (const id of trainingIds) seenMass += Math.exp(logits[offset + id] - logSum);
      unseenMass += 1 - seenMass;
      count++;
    }
  }
  return { loss: loss / count, unseenMass: unseenMass / count, count };
}

async function loadDemoModel(dtype: CpuWeightsDtype): Promise<LoadedCpuModel> {
  const source = {
    format: 'safetensors' as const,
    config: { format: 'json' as const, bytes: readFileSync(`${FOLDER}config.json`) },
    files: [memoryFile('model.safetensors', weightsBytes, 1 << 20)],
  };
  return loadCpuModel(await createParser(), source, {
    dtype,
    kernels: threadedKernels,
    threads: (memory) => KernelThreads.start(memory, threadedKernels, 2, nodeKernelThread),
  });
}

describe('the demo model, from its shipped file', () => {
  let loaded: LoadedCpuModel;
  let tokens: KjvTokens;
  let bibleText: string;

  beforeAll(async () => {
    bibleText = kjvText();
    tokens = kjvTokens(kjvChapters(bibleText));
    // f16: the file's own values, multiplied in f32.
    loaded = await loadDemoModel('f16');
  }, 120_000);
  afterAll(() => loaded?.model.destroy());

  it('is the file its card and the app describe', () => {
    const sha256 = createHash('sha256').update(weightsBytes).digest('hex');
    expect(card).toContain(`SHA-256 \`${sha256}\``);
    expect(card).toContain(`${weightsBytes.length} bytes`);
    expect(weightsBytes.length).toBe(DEMO_MODEL.downloadBytes);
    expect(loaded.model.config).toEqual(DEMO_MODEL.config);
    // The F16 file stays small enough to ship with the app.
    expect(weightsBytes.length).toBeLessThanOrEqual(16 * 2 ** 20);
  });

  it('scores at most 4.0 nats per token on the held-out chapters, with under 1% on ids never trained on', async () => {
    const { loss, unseenMass, count } = await heldOutScore(loaded.model, tokens);
    console.log(`demo model, held out: ${loss.toFixed(4)} nats/token over ${count} tokens, ${(100 * unseenMass).toFixed(3)}% on unseen ids`);
    expect(count).toBe(evaluation.held_out_tokens);
    expect(loss).toBeLessThanOrEqual(4.0);
    expect(unseenMass).toBeLessThan(0.01);
    // The card's figures (float64) are this file's, within f32 arithmetic.
    expect(Math.abs(loss - evaluation.held_out_loss)).toBeLessThan(2e-3);
    expect(Math.abs(unseenMass - evaluation.unknown_id_mass)).toBeLessThan(1e-4);
  }, 600_000);

  it('continues the card\'s prompts as the card says, in KJV words', async () => {
    const kjvWords = new Set(bibleText.match(/[A-Za-z]+/g));
    expect(evaluation.greedy_continuations.map((continuation) => continuation.prompt)).toEqual(CARD_PROMPTS);
    for (const { prompt, prompt_tokens: promptTokens, tokens: expected } of evaluation.greedy_continuations) {
      const generated: number[] = [];
      let next = (await loaded.model.forward(promptTokens, 0, 'last-argmax'))[0];
      for (let position = promptTokens.length; generated.length < expected.length; position++) {
        generated.push(next);
        next = (await loaded.model.forward([next], position, 'last-argmax'))[0];
      }
      expect(generated, prompt).toEqual(expected);
      const text = decode(generated);
      expect(card).toContain(`**${prompt}**${text.replace(/\n/g, '⏎')}`);
      const loop = backToBackRepeat(generated);
      expect(loop && `repeats ${JSON.stringify(decode(loop))} three times running`, text).toBeNull();
      const words = text.match(/[A-Za-z]+/g) ?? [];
      expect(words.length, text).toBeGreaterThanOrEqual(15);
      expect(words.filter((word) => !kjvWords.has(word)), text).toEqual([]);
    }
  });
});

describe('the demo model with q4 weights', () => {
  it('loses at most 0.1 nats per token on the held-out chapters against its F16 file', async () => {
    const tokens = kjvTokens(kjvChapters(kjvText()));
    const loaded = await loadDemoModel('q4');
    try {
      const { loss, count } = await heldOutScore(loaded.model, tokens);
      // The card's loss is the F16 file's (the test above checks it within 2e-3).
      const increase = loss - evaluation.held_out_loss;
      console.log(`demo model, held out, q4: ${loss.toFixed(4)} nats/token over ${count} tokens against F16's ` +
        `${evaluation.held_out_loss.toFixed(4)}: ${increase >= 0 ? '+' : ''}${increase.toFixed(4)}`);
      expect(count).toBe(evaluation.held_out_tokens);
      expect(increase).toBeLessThanOrEqual(0.1);
      // Not the F16 result either: the weights were quantized.
      expect(Math.abs(increase)).toBeGreaterThan(1e-3);
    } finally {
      loaded.model.destroy();
    }
  }, 600_000);
});
