// A token's text as the look-inside views show it. Tokens often are, or begin with, whitespace that
// would be invisible on its own, so it is shown as signs inside quotes, and named for screen readers.

/** " the" → “ the”, "\n" → “↵”, "" → “” : what a token adds, with line breaks and tabs visible. */
export function quoteToken(text: string): string {
  return `“${text.replace(/\n/g, '↵').replace(/\t/g, '⇥')}”`;
}

/** How a screen reader should say the token: its text, or what kind of whitespace it is. */
export function spokenToken(text: string): string {
  if (text.trim()) return text.trim();
  if (text.includes('\n')) return 'line break';
  return text ? 'space' : 'nothing';
}
