// Which part of a reply's shown text each of its tokens wrote. The tokens' own texts (pieces) do
// not simply add up to the text: chat mode trims the reply's leading and trailing whitespace, a stop
// string cuts the text (and the tokens that wrote it) short, and a character whose UTF-8 bytes are
// split across tokens is either whole in the piece of the token that completes it (the engine's
// stream) or, decoded token by token, U+FFFD in each piece. So pieces are matched against the text
// character by character, tolerating exactly those differences. The characters a run of U+FFFD
// pieces stands for go to the first of those tokens, where the model began writing them; what no
// token matched is still shown, as plain text, by whoever draws the spans.

/** The part of the text [start, end) a token wrote; empty where it wrote nothing shown. */
export interface TokenSpan {
  start: number;
  end: number;
}

const REPLACEMENT = '\ufffd';
/** How far ahead a piece that stopped matching may find its place again. */
const RESYNC_WINDOW = 4;

export function alignPieces(text: string, pieces: readonly string[]): TokenSpan[] {
  const spans: TokenSpan[] = [];
  let at = 0;
  /** Split characters being written: the token that began them, and how many U+FFFD stood for them. */
  let split: { token: number; replacements: number } | null = null;
  for (const [token, piece] of pieces.entries()) {
    let start = at;
    for (let index = 0; index < piece.length && at < text.length; index++) {
      const char = piece[index];
      if (char === REPLACEMENT) {
        split ??= { token, replacements: 0 };
        split.replacements++;
        continue;
      }
      const rest = piece.slice(index).split(REPLACEMENT)[0];
      if (split) {
        // The split characters end where the text matches the rest of this piece; a character
        // takes at most two UTF-16 units and shows as at least one U+FFFD.
        const found = text.indexOf(rest, at);
        if (found < 0 || found - at > 2 * split.replacements + RESYNC_WINDOW) break;
        if (split.token !== token) {
          spans[split.token].end = found;
          start = found;
        }
        at = found;
        split = null;
      }
      if (text[at] === char) {
        at++;
      } else if (at === 0 && /\s/.test(char)) {
        // Leading whitespace that chat mode trimmed.
      } else {
        // Lost the thread: find the rest of the piece just ahead, or give up on this piece.
        const found = text.indexOf(rest, at);
        if (found >= 0 && found - at <= RESYNC_WINDOW) at = found + rest.length;
        break;
      }
    }
    spans.push({ start, end: at });
  }
  // The text ended on split characters.
  if (split && /^[^\x00-\x7f]+$/.test(text.slice(at))) spans[split.token].end = text.length;
  return spans;
}
