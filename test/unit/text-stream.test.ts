// Streaming detokenization: characters split across tokens, and stop strings that span tokens,
// hide inside one, or only look like the start of one for a while.
import { describe, expect, it } from 'vitest';
import { TextStream, type StreamChunk } from '../../src/worker/text-stream.ts';
import { decode, encode } from '../../src/worker/tokenizer.ts';

/** Pushes every token of `text`, stopping early as a generation loop would. */
function streamText(text: string, stopStrings: string[]): { chunks: StreamChunk[]; stream: TextStream } {
  const stream = new TextStream(stopStrings);
  const chunks: StreamChunk[] = [];
  for (const token of encode(text)) {
    chunks.push(stream.push(token));
    if (chunks.at(-1)!.stopped) break;
  }
  return { chunks, stream };
}

const joined = (chunks: StreamChunk[]) => chunks.map((chunk) => chunk.text).join('');

describe('partial UTF-8', () => {
  it('emits nothing until a split character is complete, then the whole character', () => {
    const tokens = encode('a🤖');
    expect(tokens.length).toBeGreaterThan(2);
    const stream = new TextStream([]);
    const texts = tokens.map((token) => stream.push(token).text);
    expect(texts).toEqual(['a', ...tokens.slice(2).map(() => ''), '🤖']);
  });

  it('rebuilds hard text exactly, never emitting U+FFFD', () => {
    const text = 'Robots 🤖, families 👩‍👩‍👧, 漢字とカタカナ, e\u0301, שלום, \u0000 end';
    const { chunks, stream } = streamText(text, []);
    for (const chunk of chunks) expect(chunk.text).not.toContain('\uFFFD');
    expect(joined(chunks) + stream.finish().text).toBe(text);
  });

  it("gives each token's piece of the text before any is held back for a stop string", () => {
    const { chunks } = streamText('a🤖 and then\nUser: more', ['\nUser:']);
    const pieces = chunks.map((chunk) => chunk.piece).join('');
    expect(pieces).toBe('a🤖 and then\nUser:');
    expect(chunks.at(-2)!.piece).not.toBe(chunks.at(-2)!.text);
  });

  it('gives U+FFFD at the end for a character that never completed', () => {
    const stream = new TextStream([]);
    expect(stream.push(encode('x🤖')[1]).text).toBe('');
    expect(stream.finish()).toMatchObject({ text: '\uFFFD', stopped: false });
  });
});

describe('stop strings', () => {
  const text = 'The quick brown fox jumps over the lazy dog.';

  it('stops at a stop string that spans tokens, cutting the reply before it', () => {
    const { chunks } = streamText(text, ['lazy dog']);
    expect(chunks.at(-1)!.stopped).toBe(true);
    expect(chunks.filter((chunk) => chunk.stopped)).toHaveLength(1);
    expect(joined(chunks)).toBe('The quick brown fox jumps over the ');
    // The stop string was hidden while it was being written: " lazy" released only its space.
    expect(chunks.at(-2)!.text).toBe(' ');
    expect(decode(encode(text).slice(0, chunks.length))).toBe('The quick brown fox jumps over the lazy dog');
  });

  it('stops at a stop string inside a single token', () => {
    const { chunks } = streamText(text, ['ick']);
    expect(chunks.at(-1)!.stopped).toBe(true);
    expect(joined(chunks)).toBe('The qu');
  });

  it('stops at whichever stop string is complete first', () => {
    // The long one holds text back for several tokens, but "fox" is complete first.
    const { chunks } = streamText(text, ['dog', 'fox', 'quick brown fox jumps over the lazy']);
    expect(chunks.slice(1, 3).map((chunk) => chunk.text)).toEqual([' ', '']);
    expect(joined(chunks)).toBe('The quick brown ');
  });

  it('stops at the earlier of two stop strings completed by one token', () => {
    const { chunks } = streamText(text, ['row', 'bro']);
    expect(joined(chunks)).toBe('The quick ');
  });

  it('stops at a stop string made of a split emoji', () => {
    const { chunks } = streamText('ok 🤖 bye', ['🤖']);
    expect(chunks.at(-1)!.stopped).toBe(true);
    expect(joined(chunks)).toBe('ok ');
    for (const chunk of chunks) expect(chunk.text).not.toContain('\uFFFD');
  });

  it('releases held-back text once it turns out not to be a stop string', () => {
    const stream = new TextStream(['lazy cat']);
    const texts = encode(text).map((token) => stream.push(token));
    expect(texts.every((chunk) => !chunk.stopped)).toBe(true);
    const [, , , , , , , lazy, dog] = texts;
    expect(lazy.text).toBe(' ');
    expect(dog.text).toBe('lazy dog');
    expect(texts.map((chunk) => chunk.text).join('')).toBe(text);
    expect(stream.finish()).toMatchObject({ text: '', stopped: false });
  });

  it('releases a held-back possible start of a stop string when the reply ends', () => {
    const { chunks, stream } = streamText('over the lazy', ['lazy cat', 'the end']);
    expect(joined(chunks)).toBe('over the ');
    expect(stream.finish()).toMatchObject({ text: 'lazy', stopped: false });
  });

  it('ignores empty stop strings', () => {
    const { chunks, stream } = streamText(text, ['']);
    expect(chunks.some((chunk) => chunk.stopped)).toBe(false);
    expect(joined(chunks) + stream.finish().text).toBe(text);
  });

  it('gives no more text after stopping', () => {
    const { stream } = streamText(text, ['fox']);
    expect(stream.push(encode(' more')[0])).toMatchObject({ text: '', stopped: true });
    expect(stream.finish()).toMatchObject({ text: '', stopped: true });
  });
});
