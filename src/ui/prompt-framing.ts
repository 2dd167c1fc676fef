// GPT-2 is not an assistant: it continues text. To hold a conversation with it, the conversation is
// written out as a transcript that ends where the model's next line begins, and generation stops
// when the model starts writing the user's next line. A model trained on conversations says how it
// wants them written: DialoGPT reads the turns joined by <|endoftext|> and ends its reply with the
// next one. "Plain" mode skips all this and continues the user's text as it is.
import type { ConversationFormat } from '../worker/engine-api.ts';

export type FramingMode = 'chat' | 'plain';

export interface Turn {
  speaker: 'user' | 'model';
  text: string;
}

export interface FramedPrompt {
  prompt: string;
  /** Stop strings for the engine: the user's own plus those the framing needs. */
  stopStrings: string[];
}

export const USER_NAME = 'User';
export const MODEL_NAME = 'GPT-2';

/** The transcript's first line: tells the model what kind of text it is continuing. */
export const CHAT_HEADER = `The following is a conversation between ${USER_NAME} and ${MODEL_NAME}, a language model.`;

/** Ends each DialoGPT turn; the tokenizer makes it GPT-2's special token 50256, at which a reply stops. */
export const END_OF_TURN = '<|endoftext|>';

/** The model has started writing the user's next turn: the reply is over. */
export const CHAT_STOP_STRINGS: readonly string[] = [`\n${USER_NAME}:`];

/**
 * The prompt that asks the model for its next reply. `history` holds the earlier turns (oldest
 * first); plain mode ignores it, because there the user's text is the whole document. In chat mode
 * `format` is the model's own (see ConversationFormat).
 */
export function framePrompt(
  mode: FramingMode, history: readonly Turn[], userText: string, userStopStrings: readonly string[] = [], format: ConversationFormat = 'transcript',
): FramedPrompt {
  if (mode === 'plain') return { prompt: userText, stopStrings: [...userStopStrings] };
  // An empty turn (a reply that failed or was stopped before its first word) says nothing.
  const turns = [...history, { speaker: 'user' as const, text: userText }].map((turn) => ({ ...turn, text: turn.text.trim() })).filter((turn) => turn.text);
  if (format === 'dialogpt') {
    // The reply ends at the model's own <|endoftext|>, which ends the generation.
    return { prompt: turns.map((turn) => turn.text + END_OF_TURN).join(''), stopStrings: [...userStopStrings] };
  }
  const lines = [CHAT_HEADER, '', ...turns.map((turn) => `${turn.speaker === 'user' ? USER_NAME : MODEL_NAME}: ${turn.text}`), `${MODEL_NAME}:`];
  return { prompt: lines.join('\n'), stopStrings: unique([...CHAT_STOP_STRINGS, ...userStopStrings]) };
}

/**
 * The reply as shown, from the text generated so far. In chat mode the model's line starts with the
 * space after "GPT-2:" and may end with the newline before the next "User:", neither of which is
 * part of what it said; in plain mode every character continues the user's text.
 */
export function replyText(mode: FramingMode, generated: string): string {
  return mode === 'chat' ? generated.trim() : generated;
}

function unique(strings: readonly string[]): string[] {
  return [...new Set(strings)];
}
