// GPT-2 tokenization: ids checked against HF's GPT2Tokenizer (as quoted in its docs and in other
// GPT-2 ports), byte-exact round trips over hard Unicode, and byte-level streaming decode.
import { describe, expect, it } from 'vitest';
import { END_OF_TEXT, VOCAB_SIZE, decode, encode, tokenBytes } from '../../src/worker/tokenizer.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

const HARD_TEXTS: Record<string, string> = {
  emoji: 'Robots 🤖 and families 👩‍👩‍👧 under flags 🇯🇵🇫🇷',
  accents: 'Crème brûlée, façade, naïve, Ångström',
  cjk: '漢字とひらがなとカタカナ，한국어도',
  'combining marks': 'e\u0301 a\u0308\u0323 Z\u0351\u0352\u0357o\u0346',
  rtl: 'שלום עולם and مرحبا بالعالم \u202Eevil\u202C',
  nul: 'before\u0000after\u0000',
  whitespace: '  leading\t\ttabs\r\n\n\n   trailing   ',
};

describe('encode', () => {
  it('gives the ids HF GPT2Tokenizer gives', () => {
    expect(encode('Hello world')).toEqual([15496, 995]);
    expect(encode(' Hello world')).toEqual([18435, 995]);
    expect(encode(' Hello')).toEqual([18435]);
    expect(encode('Hello  world')).toEqual([15496, 220, 995]);
    expect(encode("Hello, I'm a language model,")).toEqual([15496, 11, 314, 1101, 257, 3303, 2746, 11]);
    expect(encode('The quick brown fox jumps over the lazy dog.')).toEqual([464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13]);
    expect(encode('GPT-2 is a transformer.')).toEqual([38, 11571, 12, 17, 318, 257, 47385, 13]);
    expect(encode('é')).toEqual([2634]);
    expect(encode('')).toEqual([]);
  });

  it('turns <|endoftext|> anywhere in the text into the special token', () => {
    expect(encode('<|endoftext|>')).toEqual([END_OF_TEXT]);
    expect(encode('Hello world<|endoftext|> Hello')).toEqual([15496, 995, END_OF_TEXT, 18435]);
    expect(encode('<|endoftext|><|endoftext|>Hello')).toEqual([END_OF_TEXT, END_OF_TEXT, 15496]);
    expect(encode('x<|endoftext|>')).toEqual([...encode('x'), END_OF_TEXT]);
  });

  it('leaves look-alikes of the special token as ordinary text', () => {
    for (const text of ['<|endoftext|', '<|endoftext >', '<|ENDOFTEXT|>']) {
      expect(encode(text)).not.toContain(END_OF_TEXT);
      expect(decode(encode(text))).toBe(text);
    }
  });
});

describe('decode', () => {
  it('reads known ids', () => {
    expect(decode([15496, 995])).toBe('Hello world');
    expect(decode([18435])).toBe(' Hello');
    expect(decode([198, 220, 628])).toBe('\n \n\n');
    expect(decode([END_OF_TEXT])).toBe('<|endoftext|>');
  });

  for (const [name, text] of Object.entries(HARD_TEXTS)) {
    it(`round-trips ${name} byte for byte`, () => {
      const tokens = encode(text);
      expect(concatBytes(tokens.map(tokenBytes))).toEqual(utf8(text));
      expect(decode(tokens)).toBe(text);
    });
  }

  it('round-trips text around <|endoftext|>', () => {
    const text = 'One 🤖<|endoftext|>Two\u0000<|endoftext|>';
    expect(encode(text).filter((token) => token === END_OF_TEXT)).toHaveLength(2);
    expect(decode(encode(text))).toBe(text);
  });

  it('does not carry an unfinished character from one call into the next', () => {
    const [firstPiece, ...rest] = encode('🤖');
    expect(decode([firstPiece])).toBe('\uFFFD');
    expect(decode(rest)).not.toContain('🤖');
    expect(decode(encode('🤖'))).toBe('🤖');
  });
});

describe('tokenBytes', () => {
  it('has bytes for every id, and the first 256 ids are the 256 single bytes', () => {
    for (let token = 0; token < VOCAB_SIZE; token++) expect(tokenBytes(token).length).toBeGreaterThan(0);
    const singleBytes = new Set<number>();
    for (let token = 0; token < 256; token++) {
      const bytes = tokenBytes(token);
      expect(bytes).toHaveLength(1);
      singleBytes.add(bytes[0]);
    }
    expect(singleBytes.size).toBe(256);
  });

  it('rejects ids outside the vocabulary', () => {
    for (const token of [-1, VOCAB_SIZE, 1.5, Number.NaN]) {
      expect(() => tokenBytes(token)).toThrow('is not a GPT-2 token id: ids are whole numbers from 0 to 50256');
    }
  });

  it('lets a streaming decoder rebuild an emoji split across tokens', () => {
    const tokens = encode('🤖');
    expect(tokens.length).toBeGreaterThan(1);
    // Every piece but the last is an unfinished UTF-8 sequence on its own.
    for (const token of tokens.slice(0, -1)) expect(() => new TextDecoder('utf-8', { fatal: true }).decode(tokenBytes(token))).toThrow();

    const decoder = new TextDecoder();
    const pieces = tokens.map((token) => decoder.decode(tokenBytes(token), { stream: true }));
    expect(pieces).toEqual([...tokens.slice(0, -1).map(() => ''), '🤖']);
    expect(decoder.decode()).toBe('');
  });
});
