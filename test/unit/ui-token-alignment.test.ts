// Lining a reply's tokens up with its shown text, on texts cut into tokens by the real GPT-2
// tokenizer: with pieces as the engine's text stream makes them (a split character whole in the
// token that completes it), and with each token decoded on its own (split characters as U+FFFD).
import { expect, it } from 'vitest';
import { alignPieces } from '../../src/ui/token-alignment.ts';
import { TextStream } from '../../src/worker/text-stream.ts';
import { decode, encode } from '../../src/worker/tokenizer.ts';

const piecesOf = (text: string) => encode(text).map((token) => decode([token]));
const streamedPiecesOf = (text: string) => {
  const stream = new TextStream([]);
  return encode(text).map((token) => stream.push(token).piece);
};
const written = (text: string, pieces: readonly string[]) => alignPieces(text, pieces).map(({ start, end }) => text.slice(start, end));

it('gives each token the text it wrote when the pieces make up the text', () => {
  const text = ' there was a king, and he said:\n"Go."';
  const pieces = piecesOf(text);
  expect(written(text, pieces)).toEqual(pieces);
});

it('gives the whitespace chat mode trimmed to no one', () => {
  const generated = ' Hello there.\n\n';
  const pieces = piecesOf(generated);
  const text = generated.trim();
  const spans = written(text, pieces);
  expect(spans.join('')).toBe(text);
  // Each token keeps what it wrote less the whitespace trimmed at the text's two ends.
  spans.forEach((span, index) => expect(span.trim()).toBe(pieces[index].trim()));
  expect(spans[0]).toBe('Hello');
  expect(spans.at(-1)).toBe('');
});

it('gives the tokens after a stop string cut the text nothing', () => {
  const pieces = piecesOf(' Hi.\nUser: next');
  const text = ' Hi.';
  const spans = written(text, pieces);
  expect(spans.join('')).toBe(text);
  const cut = pieces.findIndex((piece) => piece.includes('User'));
  expect(cut).toBeGreaterThan(0);
  expect(spans.slice(cut).every((span) => span === '')).toBe(true);
});

it('gives each token the text it completed in the engine\'s stream, split characters included', () => {
  for (const text of [' I love you 😀 so much 🎉🎉!', ' 你好，世界。こんにちは']) {
    const pieces = streamedPiecesOf(text);
    expect(pieces).toContain('');
    expect(written(text, pieces)).toEqual(pieces);
  }
});

it('keeps the text whole and in order where split characters decode as U+FFFD, and gives them to the first token', () => {
  for (const text of [' I love you 😀 so much 🎉🎉!', ' 你好，世界。こんにちは', ' naïve café ☕ déjà vu', '😀', ' tea ☕']) {
    const pieces = piecesOf(text);
    // The split characters make pieces that are not the text: that is what this is about.
    expect(pieces.join('')).not.toBe(text);
    const spans = alignPieces(text, pieces);
    expect(spans.map(({ start, end }) => text.slice(start, end)).join('')).toBe(text);
    // Every token that decodes whole on its own still gets exactly its own text.
    spans.forEach(({ start, end }, index) => {
      if (!pieces[index].includes('\ufffd')) expect(text.slice(start, end)).toBe(pieces[index]);
      // The tokens that only carried on a split character show nothing of their own.
      if (/^\ufffd+$/.test(pieces[index]) && pieces[index - 1]?.endsWith('\ufffd')) expect(end).toBe(start);
    });
  }
});
