// The catalog's download requests point at the hub's resolve URLs, on the real hub or a mirror.
import { parameterCount } from '../../src/model/config.ts';
import { expect, it } from 'vitest';
import { DEFAULT_HUB_URL, downloadRequestFor, MODEL_CATALOG } from '../../src/models/catalog.ts';

const entry = (id: string) => MODEL_CATALOG.find((candidate) => candidate.id === id)!;

it('builds resolve/main URLs for config.json and model.safetensors on the HF hub', () => {
  expect(DEFAULT_HUB_URL).toBe('https://huggingface.co');
  expect(downloadRequestFor(entry('gpt2-xl'))).toEqual({
    id: 'gpt2-xl',
    label: entry('gpt2-xl').label,
    configUrl: 'https://huggingface.co/openai-community/gpt2-xl/resolve/main/config.json',
    weightsUrl: 'https://huggingface.co/openai-community/gpt2-xl/resolve/main/model.safetensors',
  });
});

it('builds the same paths under a custom hub, with or without a trailing slash', () => {
  for (const hub of ['http://mirror.local:8080/hf', 'http://mirror.local:8080/hf/']) {
    const request = downloadRequestFor(entry('distilgpt2'), hub);
    expect(request.configUrl).toBe('http://mirror.local:8080/hf/distilbert/distilgpt2/resolve/main/config.json');
    expect(request.weightsUrl).toBe('http://mirror.local:8080/hf/distilbert/distilgpt2/resolve/main/model.safetensors');
  }
});

it('offers the four OpenAI sizes and distilgpt2, each with a distinct id, in order of size', () => {
  expect(MODEL_CATALOG.map((model) => model.repo)).toEqual([
    'distilbert/distilgpt2',
    'openai-community/gpt2',
    'openai-community/gpt2-medium',
    'openai-community/gpt2-large',
    'openai-community/gpt2-xl',
  ]);
  expect(new Set(MODEL_CATALOG.map((model) => model.id)).size).toBe(MODEL_CATALOG.length);
  for (const [index, model] of MODEL_CATALOG.entries()) {
    if (index > 0) expect(model.downloadBytes).toBeGreaterThan(MODEL_CATALOG[index - 1].downloadBytes);
    // fp32: 4 bytes per parameter, plus the attn.bias masks and the header.
    expect(model.downloadBytes).toBeGreaterThan(4 * model.parameters);
    expect(parameterCount(model.config)).toBe(model.parameters);
  }
});
