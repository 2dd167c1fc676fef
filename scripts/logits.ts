// npm run logits -- --model <file or folder> --tokens 464,2068,7586 [--all-positions] [--generate N]
//                   [--top-k N] [--backend webgpu|cpu] [--dtype f32|f16|int8|q4]
// Runs the app's own worker and its WebGPU kernels (the default) or its CPU backend's WASM SIMD
// kernels in headless Chromium and prints one JSON line: {"backend", "weightsDtype", "threads",
// "logits":[...]} (+ "argmax" per position, + "generated" greedy tokens). With --top-k N (1-20),
// + "top_k": after the last prompt token, then after each generated token, the N most likely next
// tokens as [token_id, probability] (the model's own softmax, most likely first), and
// "prompt_logprobs": ln p of each prompt token after the first given the tokens before it; both are
// computed on the device, in the pass that reads the prompt and the decode steps. int8 and q4 weights
// are for the CPU backend only. On failure it prints one line "error: <what is wrong>" and exits non-zero.
import { parseArgs } from 'node:util';
import type { HeadlessRequest, HeadlessResult } from '../src/headless/headless-page.ts';
import { MODEL_URL_PREFIX, openHeadlessSession } from './headless-session.ts';
import { findModelFiles } from './model-paths.ts';
import { TOP_TOKENS } from '../src/model/gpt2-model.ts';

function parseTokens(text: string | undefined): number[] {
  if (!text) throw new Error('--tokens is required, e.g. --tokens 464,2068,7586');
  const tokens = text.split(',').map((part) => Number(part.trim()));
  if (tokens.some((token) => !Number.isInteger(token) || token < 0)) {
    throw new Error(`--tokens must be comma-separated non-negative integers, got "${text}"`);
  }
  return tokens;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      tokens: { type: 'string' },
      'all-positions': { type: 'boolean', default: false },
      generate: { type: 'string', default: '0' },
      'top-k': { type: 'string', default: '0' },
      backend: { type: 'string', default: 'webgpu' },
      dtype: { type: 'string', default: 'f32' },
    },
  });
  if (!values.model) throw new Error('--model is required: a .safetensors or .bin file, or a folder holding one');
  const generate = Number(values.generate);
  if (!Number.isInteger(generate) || generate < 0) throw new Error(`--generate must be a whole number, got "${values.generate}"`);
  const topK = Number(values['top-k']);
  if (!Number.isInteger(topK) || topK < 0 || topK > TOP_TOKENS) throw new Error(`--top-k must be a whole number from 1 to ${TOP_TOKENS}, got "${values['top-k']}"`);
  const { backend, dtype } = values;
  if (backend !== 'webgpu' && backend !== 'cpu') throw new Error(`--backend must be webgpu or cpu, got "${backend}"`);
  const dtypes = backend === 'cpu' ? ['f32', 'f16', 'int8', 'q4'] : ['f32', 'f16'];
  if (!dtypes.includes(dtype)) {
    throw new Error(`--dtype must be ${dtypes.join(', ').replace(/, (?=[^,]*$)/, ' or ')} on ${backend}${dtype === 'int8' || dtype === 'q4' ? ` (${dtype} is for --backend cpu)` : ''}, got "${dtype}"`);
  }
  const paths = findModelFiles(values.model);
  const request: HeadlessRequest = {
    configUrl: '',
    weightsUrl: '',
    tokens: parseTokens(values.tokens),
    allPositions: values['all-positions'],
    generate,
    topK,
    backend,
    weightsDtype: dtype as HeadlessRequest['weightsDtype'],
  };

  const session = await openHeadlessSession(paths.directory);
  let result: HeadlessResult;
  try {
    const modelUrl = (file: string) => new URL(MODEL_URL_PREFIX + encodeURIComponent(file), session.baseUrl).href;
    request.configUrl = modelUrl(paths.configFile);
    request.weightsUrl = modelUrl(paths.weightsFile);
    result = await session.page.evaluate((r) => window.runHeadless(r), request);
  } finally {
    await session.close();
  }
  if ('error' in result) throw new Error(result.error);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error: Error) => {
  process.stdout.write(`error: ${error.message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exitCode = 1;
});
