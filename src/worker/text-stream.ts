// Turns generated tokens into reply text as they arrive. Two things make this more than a decode
// per token: a token can end in the middle of a UTF-8 character (emoji and CJK often take two or
// three tokens), and text that might be the start of a stop string must not be shown until it is
// known not to be one, because a stop string is cut from the reply.
import { tokenBytes } from './tokenizer.ts';

export interface StreamChunk {
  /** Reply text this step completes; '' while a character or a possible stop string is incomplete. */
  text: string;
  /** A stop string appeared: `text` ends just before it and the reply is over. */
  stopped: boolean;
  /** The text this token completes, before any is held back or cut: the token's share of the stream. */
  piece: string;
}

export class TextStream {
  // In stream mode the decoder keeps the bytes of an unfinished character until the rest arrives.
  private readonly utf8Decoder = new TextDecoder();
  private readonly stopStrings: readonly string[];
  /** Decoded text not yet released because it could be the beginning of a stop string. */
  private heldBack = '';
  private stopped = false;

  constructor(stopStrings: readonly string[]) {
    // An empty stop string would end every reply before it began.
    this.stopStrings = stopStrings.filter((stopString) => stopString.length > 0);
  }

  /** Adds one generated token (not END_OF_TEXT, which ends the reply without being text). */
  push(token: number): StreamChunk {
    return this.release(this.utf8Decoder.decode(tokenBytes(token), { stream: true }), false);
  }

  /** Ends the reply: releases held-back text, and an unfinished character as U+FFFD. */
  finish(): StreamChunk {
    return this.release(this.utf8Decoder.decode(), true);
  }

  private release(piece: string, final: boolean): StreamChunk {
    return { ...this.cut(piece, final), piece };
  }

  private cut(decoded: string, final: boolean): Omit<StreamChunk, 'piece'> {
    if (this.stopped) return { text: '', stopped: true };
    const text = this.heldBack + decoded;
    // Text already released never ends with the start of a stop string, so one can only be in `text`.
    const stopAt = firstStopStringIndex(text, this.stopStrings);
    if (stopAt >= 0) {
      this.stopped = true;
      this.heldBack = '';
      return { text: text.slice(0, stopAt), stopped: true };
    }
    const holdLength = final ? 0 : longestStopStringPrefixAtEnd(text, this.stopStrings);
    this.heldBack = text.slice(text.length - holdLength);
    return { text: text.slice(0, text.length - holdLength), stopped: false };
  }
}

/** Index of the earliest stop string in `text`, or -1. */
function firstStopStringIndex(text: string, stopStrings: readonly string[]): number {
  let first = -1;
  for (const stopString of stopStrings) {
    const index = text.indexOf(stopString);
    if (index >= 0 && (first < 0 || index < first)) first = index;
  }
  return first;
}

/** Length of the longest end of `text` that is the beginning of some stop string. */
function longestStopStringPrefixAtEnd(text: string, stopStrings: readonly string[]): number {
  let longest = 0;
  for (const stopString of stopStrings) {
    for (let length = Math.min(text.length, stopString.length - 1); length > longest; length--) {
      if (text.endsWith(stopString.slice(0, length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}
