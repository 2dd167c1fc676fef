// npx tsx training/kjv-demo/tokenize-kjv.ts <kjv.txt> <out.json>
// Writes what train.py and evaluate.py read: the training and held-out token ids of the King James
// Bible (kjv-text.ts says how they are made) and the card's prompts, all from the app's tokenizer.
import { readFileSync, writeFileSync } from 'node:fs';
import { encode } from '../../src/worker/tokenizer.ts';
import { CARD_PROMPTS, kjvChapters, kjvTokens } from './kjv-text.ts';

const [inputPath, outputPath] = process.argv.slice(2);
if (!inputPath || !outputPath) throw new Error('usage: tokenize-kjv.ts <kjv.txt> <out.json>');

const chapters = kjvChapters(readFileSync(inputPath, 'utf8'));
const { train, heldOut, heldOutChapters } = kjvTokens(chapters);
const prompts = CARD_PROMPTS.map((text) => ({ text, tokens: encode(text) }));
writeFileSync(outputPath, JSON.stringify({ chapters: chapters.length, heldOutChapters, prompts, train, heldOut }));
console.log(
  `${chapters.length} chapters: ${train.length} training tokens, ${heldOut.length} held-out tokens ` +
    `(${heldOutChapters.length} chapters), ${new Set(train).size} distinct ids in training`,
);
