// The transcript that lets a text completer hold a conversation, and plain completion beside it.
import { expect, it } from 'vitest';
import { CHAT_HEADER, CHAT_STOP_STRINGS, framePrompt, replyText } from '../../src/ui/prompt-framing.ts';

it('frames the first chat message as a header, the user turn and an open GPT-2 line', () => {
  const { prompt, stopStrings } = framePrompt('chat', [], 'Hello there');
  expect(prompt).toBe(`${CHAT_HEADER}\n\nUser: Hello there\nGPT-2:`);
  expect(stopStrings).toEqual(['\nUser:']);
});

it('writes earlier turns in order, trimmed, and ends with the line GPT-2 is to write', () => {
  const { prompt } = framePrompt(
    'chat',
    [
      { speaker: 'user', text: '  What is a cat?\n' },
      { speaker: 'model', text: 'An animal.' },
    ],
    'And a dog?',
  );
  expect(prompt.split('\n')).toEqual([CHAT_HEADER, '', 'User: What is a cat?', 'GPT-2: An animal.', 'User: And a dog?', 'GPT-2:']);
  expect(prompt.endsWith('GPT-2:')).toBe(true);
});

it('leaves out turns with nothing in them (a reply that failed before its first word)', () => {
  const { prompt } = framePrompt('chat', [{ speaker: 'user', text: 'One' }, { speaker: 'model', text: '  ' }], 'Two');
  expect(prompt).toBe(`${CHAT_HEADER}\n\nUser: One\nUser: Two\nGPT-2:`);
});

it('keeps the line breaks inside a message', () => {
  expect(framePrompt('chat', [], 'line one\nline two').prompt).toContain('User: line one\nline two\nGPT-2:');
});

it("adds the user's stop strings to the transcript's, once each", () => {
  expect(framePrompt('chat', [], 'Hi', ['\n\n', '\nUser:']).stopStrings).toEqual(['\nUser:', '\n\n']);
  expect(CHAT_STOP_STRINGS).toEqual(['\nUser:']);
});

it('continues plain text exactly as written, ignoring the conversation, with only the user stop strings', () => {
  const history = [{ speaker: 'user' as const, text: 'earlier' }];
  expect(framePrompt('plain', history, 'Once upon a time ')).toEqual({ prompt: 'Once upon a time ', stopStrings: [] });
  expect(framePrompt('plain', [], 'The end', ['.']).stopStrings).toEqual(['.']);
});

it('shows a chat reply without the space after "GPT-2:" or the newline before the next turn', () => {
  expect(replyText('chat', ' Hello! How are you?\n')).toBe('Hello! How are you?');
  expect(replyText('chat', '   ')).toBe('');
});

it('shows a plain continuation as generated, spaces and all', () => {
  expect(replyText('plain', ' there was a dragon.\n')).toBe(' there was a dragon.\n');
});

it("writes a DialoGPT conversation as its turns, each closed by <|endoftext|>, with only the user's stop strings", () => {
  const history = [{ speaker: 'user' as const, text: ' Hi! ' }, { speaker: 'model' as const, text: 'Hello, how are you?' }, { speaker: 'model' as const, text: '' }];
  expect(framePrompt('chat', history, 'Fine, thanks.', ['\n'], 'dialogpt')).toEqual({
    prompt: 'Hi!<|endoftext|>Hello, how are you?<|endoftext|>Fine, thanks.<|endoftext|>',
    stopStrings: ['\n'],
  });
  expect(framePrompt('plain', history, 'Once', [], 'dialogpt').prompt).toBe('Once');
});
