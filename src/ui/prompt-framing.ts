// GPT-2 is not an assistant: it continues text. To hold a conversation with it, the conversation is
// written out as a transcript that ends where the model's next line begins, and generation stops
// when the model starts writing the user's next line. "Plain" mode skips all this and continues
// the user's text as it is.

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

/** The model has started writing the user's next turn: the reply is over. */
export const CHAT_STOP_STRINGS: readonly string[] = [`\n${USER_NAME}:`];

/**
 * The prompt that asks the model for its next reply. `history` holds the earlier turns (oldest
 * first); plain mode ignores it, because there the user's text is the whole document.
 */
export function framePrompt(mode: FramingMode, history: readonly Turn[], userText: string, userStopStrings: readonly string[] = []): FramedPrompt {
  if (mode === 'plain') return { prompt: userText, stopStrings: [...userStopStrings] };
  const lines = [CHAT_HEADER, ''];
  for (const turn of [...history, { speaker: 'user' as const, text: userText }]) {
    const text = turn.text.trim();
    // An empty turn (a reply that failed or was stopped before its first word) says nothing.
    if (text) lines.push(`${turn.speaker === 'user' ? USER_NAME : MODEL_NAME}: ${text}`);
  }
  lines.push(`${MODEL_NAME}:`);
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
