// What the app must reply at temperature 0 (greedy decoding, no repetition penalty, plain
// completion): the float64 CPU reference's continuation of the prompt on the fixture's weights,
// whichever backend the app runs on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors } from '../../../scripts/model-files.ts';
import { decode, encode, END_OF_TEXT } from '../../../src/worker/tokenizer.ts';
import { ReferenceGpt2 } from '../../support/reference-gpt2.ts';

const fixture = join(import.meta.dirname, '../../../../shared/fixtures/tiny-gpt2');

/** The reply to `prompt`, cut at <|endoftext|> as the app cuts it. */
export function expectedGreedyReply(prompt: string, maxNewTokens: number): string {
  const hfConfig = JSON.parse(readFileSync(join(fixture, 'config.json'), 'utf8'));
  const config = { vocabSize: hfConfig.vocab_size, nCtx: hfConfig.n_positions, nEmbd: hfConfig.n_embd, nLayer: hfConfig.n_layer, nHead: hfConfig.n_head };
  const reference = new ReferenceGpt2(config, decodeSafetensors(readFileSync(join(fixture, 'model.safetensors'))).tensors);
  const tokens = reference.greedy(encode(prompt), maxNewTokens);
  const end = tokens.indexOf(END_OF_TEXT);
  return decode(end < 0 ? tokens : tokens.slice(0, end));
}
