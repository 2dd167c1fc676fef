// The King James Bible as the demo model sees it. Debian's `bible -f "Genesis 1:1-Revelation 22:21"`
// prints one verse a line ("Ge1:1 In the beginning ..."); each chapter becomes one paragraph of
// running text (verse references dropped, verses joined by spaces) followed by a blank line, and is
// tokenized with the app's own tokenizer, so the ids the model learns are the ids the app feeds it.
// Every 20th chapter (the 10th, 30th, ...) is held out for evaluation: spread over the whole book
// rather than all New Testament.
import { encode } from '../../src/worker/tokenizer.ts';

/** The command that prints the text, from Debian's bible-kjv package. */
export const BIBLE_COMMAND = ['bible', '-f', 'Genesis 1:1-Revelation 22:21'] as const;

/** The prompts whose greedy continuations the model card shows and the tests check. */
export const CARD_PROMPTS = ['In the beginning God', 'And the LORD spake unto Moses, saying,', 'Blessed are the'];

export const HELD_OUT_EVERY = 20;
const HELD_OUT_OFFSET = 9; // 0-based chapter index modulo HELD_OUT_EVERY

export interface Chapter {
  name: string; // "Ge 1"
  text: string;
}

export interface KjvTokens {
  train: number[];
  heldOut: number[];
  heldOutChapters: string[];
}

const VERSE = /^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$/;

export function kjvChapters(bibleOutput: string): Chapter[] {
  const chapters: { name: string; verses: string[] }[] = [];
  for (const line of bibleOutput.split('\n')) {
    if (line.trim() === '') continue;
    const match = VERSE.exec(line);
    if (!match) throw new Error(`not a verse line: ${JSON.stringify(line.slice(0, 80))}`);
    const [, book, chapter, , text] = match;
    const name = `${book} ${chapter}`;
    if (chapters.at(-1)?.name !== name) chapters.push({ name, verses: [] });
    chapters.at(-1)!.verses.push(text.trim());
  }
  return chapters.map(({ name, verses }) => ({ name, text: `${verses.join(' ')}\n\n` }));
}

export const isHeldOut = (chapterIndex: number) => chapterIndex % HELD_OUT_EVERY === HELD_OUT_OFFSET;

export function kjvTokens(chapters: Chapter[]): KjvTokens {
  const tokens: KjvTokens = { train: [], heldOut: [], heldOutChapters: [] };
  chapters.forEach(({ name, text }, index) => {
    const target = isHeldOut(index) ? tokens.heldOut : tokens.train;
    if (isHeldOut(index)) tokens.heldOutChapters.push(name);
    for (const id of encode(text)) target.push(id);
  });
  return tokens;
}
