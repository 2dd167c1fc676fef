// GPT-2's byte-level BPE (tiktoken's r50k_base, the same ids as HF's GPT2Tokenizer), from the
// gpt-tokenizer package. Encoding is the package's; decoding is done here from each token's raw
// bytes, because the package decodes through one TextDecoder shared by every call in stream mode:
// a call that ends inside a multi-byte character leaves its bytes behind for the next, unrelated
// call. Byte-exact decoding is also what streaming needs, since a token can end mid-character.
import bpeRanks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { encode as encodeOrdinaryText } from 'gpt-tokenizer/encoding/r50k_base';

export const END_OF_TEXT = 50256;
export const END_OF_TEXT_STRING = '<|endoftext|>';
export const VOCAB_SIZE = 50257;

const utf8Encoder = new TextEncoder();

/**
 * GPT-2 token ids of `text`; each `<|endoftext|>` in it becomes the special token 50256.
 * The special token is split out here rather than by the package's `allowedSpecial` option, which
 * (in gpt-tokenizer 4.0) only recognizes it at the very start of the text.
 */
export function encode(text: string): number[] {
  const tokens: number[] = [];
  text.split(END_OF_TEXT_STRING).forEach((ordinaryText, index) => {
    if (index > 0) tokens.push(END_OF_TEXT);
    // A loop, not push(...ids): a long paste could exceed the engine's argument limit.
    for (const token of encodeOrdinaryText(ordinaryText)) tokens.push(token);
  });
  return tokens;
}

/** The bytes token `token` stands for; they may be only part of a UTF-8 character. */
export function tokenBytes(token: number): Uint8Array {
  if (token === END_OF_TEXT) return utf8Encoder.encode(END_OF_TEXT_STRING);
  // The package stores a token as a string when its bytes are valid UTF-8, else as the bytes.
  const stored = Number.isInteger(token) ? bpeRanks[token] : undefined;
  if (stored === undefined) {
    throw new RangeError(`${token} is not a GPT-2 token id: ids are whole numbers from 0 to ${VOCAB_SIZE - 1}`);
  }
  return typeof stored === 'string' ? utf8Encoder.encode(stored) : Uint8Array.from(stored);
}

/** The text of `tokens`; bytes that do not form valid UTF-8 become U+FFFD. */
export function decode(tokens: readonly number[]): string {
  const utf8Decoder = new TextDecoder();
  let text = '';
  for (const token of tokens) text += utf8Decoder.decode(tokenBytes(token), { stream: true });
  return text + utf8Decoder.decode();
}
