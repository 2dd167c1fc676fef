// For browser tests that download from the stand-in hub (scripts/flaky-model-server-plugin.ts,
// served by the test server at /flaky-hub/): its URLs, steering it, reading its log, and comparing
// what was saved with the fixture files it serves.
import { expect } from 'vitest';
import type { Control, LoggedRequest } from '../../scripts/flaky-model-server-plugin.ts';
import type { DownloadRequest } from '../../src/worker/engine-api.ts';
import type { ModelStore } from '../../src/storage/model-store.ts';

export const CONFIG_BYTES = 300;
export const WEIGHTS_BYTES = 13_301_712;
export const F16_WEIGHTS_BYTES = 6_652_184;

export const hubUrl = (file: string) => new URL(`/flaky-hub/tiny-gpt2/resolve/main/${file}`, location.href).href;
export const fixtureUrl = (file: string) => new URL(`/test-models/tiny-gpt2/${file}`, location.href).href;

export const requestFor = (id: string, weightsFile = 'model.safetensors'): DownloadRequest => ({
  id,
  label: `tiny GPT-2 (${id})`,
  configUrl: hubUrl('config.json'),
  weightsUrl: hubUrl(weightsFile),
});

export async function steerServer(control: Control): Promise<void> {
  const response = await fetch('/flaky-hub/_control', { method: 'POST', body: JSON.stringify(control) });
  expect(response.ok).toBe(true);
}

export async function resetServer(): Promise<void> {
  expect((await fetch('/flaky-hub/_reset', { method: 'POST' })).ok).toBe(true);
}

export async function hubLog(): Promise<LoggedRequest[]> {
  return (await fetch('/flaky-hub/_log')).json();
}

export async function requestsFor(file: string): Promise<LoggedRequest[]> {
  return (await hubLog()).filter((entry) => entry.file === file);
}

/** The N of a `bytes=N-` Range header. */
export function rangeStart(request: LoggedRequest | undefined): number {
  const match = /^bytes=(\d+)-$/.exec(request?.range ?? '');
  expect(match, `Range header of ${JSON.stringify(request)}`).not.toBeNull();
  return Number(match![1]);
}

export const listedIds = async (store: ModelStore) => (await store.list()).map((model) => model.id);

export const hex = (digest: ArrayBuffer) => Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');

/** SHA-256 of every MiB of `blob`: two 13 MB files compare without diffing 13 million numbers. */
export async function chunkDigests(blob: Blob): Promise<string[]> {
  const digests: string[] = [];
  for (let offset = 0; offset < blob.size; offset += 2 ** 20) {
    digests.push(hex(await crypto.subtle.digest('SHA-256', await blob.slice(offset, offset + 2 ** 20).arrayBuffer())));
  }
  return digests;
}

/** Every file of the saved model `id` is byte-identical to the fixture file of the same name. */
export async function expectSameAsFixtures(store: ModelStore, id: string): Promise<void> {
  for (const file of await store.openFiles(id)) {
    const fixture = await (await fetch(fixtureUrl(file.name))).blob();
    expect(file.size, file.name).toBe(fixture.size);
    expect(await chunkDigests(file), file.name).toEqual(await chunkDigests(fixture));
  }
}
