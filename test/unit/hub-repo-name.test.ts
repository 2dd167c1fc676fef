// Names of hub repositories as a user types them into the app or `npm run download`.
import { expect, it } from 'vitest';
import { hubFileUrl, hubRevisionApiUrl, parseHubRepoName } from '../../src/storage/hub-repo.ts';

it('reads owner/name, owner/name@revision and the repository page address', () => {
  expect(parseHubRepoName(' microsoft/DialoGPT-small ')).toEqual({ repo: 'microsoft/DialoGPT-small', revision: 'main' });
  expect(parseHubRepoName('openai-community/gpt2@v1.0')).toEqual({ repo: 'openai-community/gpt2', revision: 'v1.0' });
  expect(parseHubRepoName('https://huggingface.co/microsoft/DialoGPT-medium')).toEqual({ repo: 'microsoft/DialoGPT-medium', revision: 'main' });
  expect(parseHubRepoName('https://huggingface.co/openai-community/gpt2/tree/refs%2Fpr%2F1')).toEqual({ repo: 'openai-community/gpt2', revision: 'refs/pr/1' });
});

it('refuses what is not a repository name, saying how to write one', () => {
  for (const bad of ['gpt2', 'a/b/c', '../etc/passwd', 'owner/na me', 'owner/name@', '']) {
    expect(() => parseHubRepoName(bad)).toThrow(/is not a hub repository name: write it as owner\/name/);
  }
});

it("builds the API's revision listing and the files' addresses at a revision, on the hub or a mirror", () => {
  expect(hubRevisionApiUrl('https://huggingface.co', 'microsoft/DialoGPT-small', 'main')).toBe('https://huggingface.co/api/models/microsoft/DialoGPT-small/revision/main');
  expect(hubRevisionApiUrl('http://mirror.local/hf/', 'o/n', 'refs/pr/1')).toBe('http://mirror.local/hf/api/models/o/n/revision/refs%2Fpr%2F1');
  expect(hubFileUrl('http://mirror.local/hf/', 'o/n', 'config.json', 'a'.repeat(40))).toBe(`http://mirror.local/hf/o/n/resolve/${'a'.repeat(40)}/config.json`);
});
