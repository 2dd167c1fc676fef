// The catalog names hub repositories (the app lists their files through the hub's API, see
// hub-repo.ts), each with the shape, size and chat format the model list shows.
import { parameterCount } from '../../src/model/config.ts';
import { expect, it } from 'vitest';
import { DEFAULT_HUB_URL, hubRequestFor, MODEL_CATALOG } from '../../src/models/catalog.ts';

const entry = (id: string) => MODEL_CATALOG.find((candidate) => candidate.id === id)!;

it('asks for the head of main of the repository on the HF hub, or on a mirror', () => {
  expect(DEFAULT_HUB_URL).toBe('https://huggingface.co');
  expect(hubRequestFor(entry('gpt2-xl'))).toEqual({
    id: 'gpt2-xl',
    label: entry('gpt2-xl').label,
    hubUrl: 'https://huggingface.co',
    repo: 'openai-community/gpt2-xl',
    revision: 'main',
  });
  expect(hubRequestFor(entry('distilgpt2'), 'http://mirror.local:8080/hf/').hubUrl).toBe('http://mirror.local:8080/hf/');
});

it("carries DialoGPT's conversation format, and no format for GPT-2 itself", () => {
  expect(hubRequestFor(entry('dialogpt-small'))).toMatchObject({ repo: 'microsoft/DialoGPT-small', conversation: 'dialogpt' });
  expect(hubRequestFor(entry('dialogpt-large')).conversation).toBe('dialogpt');
  expect(hubRequestFor(entry('gpt2')).conversation).toBeUndefined();
});

it('offers the four OpenAI sizes and distilgpt2 in order of size, then DialoGPT, each with a distinct id', () => {
  expect(MODEL_CATALOG.map((model) => model.repo)).toEqual([
    'distilbert/distilgpt2',
    'openai-community/gpt2',
    'openai-community/gpt2-medium',
    'openai-community/gpt2-large',
    'openai-community/gpt2-xl',
    'microsoft/DialoGPT-small',
    'microsoft/DialoGPT-medium',
    'microsoft/DialoGPT-large',
  ]);
  expect(new Set(MODEL_CATALOG.map((model) => model.id)).size).toBe(MODEL_CATALOG.length);
  expect(new Set(MODEL_CATALOG.map((model) => model.sizeLabel)).size).toBe(MODEL_CATALOG.length);
  const openai = MODEL_CATALOG.filter((model) => !model.conversation);
  for (const [index, model] of openai.entries()) {
    if (index > 0) expect(model.downloadBytes).toBeGreaterThan(openai[index - 1].downloadBytes);
  }
  for (const model of MODEL_CATALOG) {
    // F32 files: 4 bytes per parameter, plus the attn.bias masks and the header.
    expect(model.downloadBytes).toBeGreaterThan(4 * model.parameters);
    expect(parameterCount(model.config)).toBe(model.parameters);
  }
});
