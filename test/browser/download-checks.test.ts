// What guards a download beyond its size: the SHA-256 the hub gives for an LFS file is checked
// against the bytes stored (also across a resume, and behind the hub's redirect to its CDN), and a
// server that stops sending with the connection left open is given up on and retried. Against the
// stand-in hub (scripts/flaky-model-server-plugin.ts), in real Chromium and OPFS.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { Control } from '../../scripts/flaky-model-server-plugin.ts';
import { downloadModel } from '../../src/storage/model-download.ts';
import { resolveModelSource } from '../../src/worker/model-source.ts';
import { ModelStore } from '../../src/storage/model-store.ts';
import {
  CONFIG_BYTES,
  expectSameAsFixtures,
  fixtureUrl,
  hex,
  hubLog,
  listedIds,
  rangeStart,
  requestFor,
  requestsFor,
  resetServer,
  steerServer,
  WEIGHTS_BYTES,
} from '../support/stand-in-hub.ts';

/** Short, so that a stalled attempt is given up on quickly; the app's default is 30 s. */
const STALL_TIMEOUT_MS = 2000;

const storeDirectory = `download-checks-test-${crypto.randomUUID()}`;
let store: ModelStore;
/** The weights fixture's SHA-256, computed here with WebCrypto (the app hashes with @noble/hashes). */
let weightsSha256: string;
let weightsBytes: ArrayBuffer;

beforeAll(async () => {
  store = await ModelStore.open(storeDirectory);
  weightsBytes = await (await fetch(fixtureUrl('model.safetensors'))).arrayBuffer();
  weightsSha256 = hex(await crypto.subtle.digest('SHA-256', weightsBytes));
});
afterAll(async () => {
  await (await navigator.storage.getDirectory()).removeEntry(storeDirectory, { recursive: true });
});
beforeEach(async () => {
  await resetServer();
});

/** The SHA-256 of the weights fixture with the byte at `offset` flipped, as the stand-in damages it. */
async function damagedSha256(offset: number): Promise<string> {
  const damaged = new Uint8Array(weightsBytes.slice(0));
  damaged[offset] ^= 0xff;
  return hex(await crypto.subtle.digest('SHA-256', damaged));
}

const damagedMessage = (actual: string, expected: string) =>
  `the downloaded file model.safetensors is damaged: its SHA-256 is ${actual}, but the server says ${expected}; press Download to download it again`;

/** The files stored for `id`, saved or not. */
async function storedNames(id: string): Promise<string[]> {
  const directory = await store.existingDirectory(id);
  const names: string[] = [];
  if (!directory) return names;
  for await (const name of (directory as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
  return names.sort();
}

/** The SHA-256 the saved model's manifest records for its weights. */
const recordedSha256 = async (id: string) => (await store.manifest(id))?.files.find((file) => file.name === 'model.safetensors')?.sha256;

/** Starts downloading `id` with the stand-in steered by `control`, and cancels once `bytes` of the weights are in. */
async function cancelDownloadAfter(id: string, bytes: number, control: Control = {}): Promise<void> {
  await steerServer({ bytesPerSecond: 10e6, ...control });
  const controller = new AbortController();
  const download = downloadModel(store, requestFor(id), {
    signal: controller.signal,
    onProgress: (progress) => {
      if (progress.file === 'model.safetensors' && progress.bytesDone >= bytes) controller.abort();
    },
  });
  await expect(download).rejects.toMatchObject({ name: 'AbortError' });
  await resetServer();
}

it('hashes the weights as they arrive and records the SHA-256, which is the one the hub names', async () => {
  await downloadModel(store, requestFor('checked'));
  const manifest = await store.manifest('checked');
  // config.json is a git file: its ETag is a git blob id, which is not a hash of the file to check.
  expect(manifest?.files).toEqual([
    { name: 'config.json', bytes: CONFIG_BYTES, etag: expect.stringMatching(/^"[0-9a-f]{40}"$/) },
    { name: 'model.safetensors', bytes: WEIGHTS_BYTES, etag: `"${weightsSha256}"`, sha256: weightsSha256 },
  ]);
  await expectSameAsFixtures(store, 'checked');
});

it('says a file damaged on the way is damaged, removes it, saves nothing, and keeps other models', async () => {
  await downloadModel(store, requestFor('neighbour'));
  await steerServer({ corrupt: { file: 'model.safetensors', atByte: 7_000_000 } });
  await expect(downloadModel(store, requestFor('damaged'))).rejects.toThrow(damagedMessage(await damagedSha256(7_000_000), weightsSha256));

  expect(await listedIds(store)).not.toContain('damaged');
  expect((await storedNames('damaged')).filter((name) => name.startsWith('model.safetensors'))).toEqual([]);
  await expectSameAsFixtures(store, 'neighbour');

  await resetServer();
  await downloadModel(store, requestFor('damaged'));
  const [startedOver] = await requestsFor('model.safetensors');
  expect(startedOver.range).toBeNull();
  expect(await recordedSha256('damaged')).toBe(weightsSha256);
  await expectSameAsFixtures(store, 'damaged');
});

it('after a cancel, hashes the part already on disk before going on, so a resumed file is checked whole', async () => {
  await cancelDownloadAfter('resumed', 2_000_000);
  await downloadModel(store, requestFor('resumed'));
  const [resumed, ...more] = await requestsFor('model.safetensors');
  expect(more).toEqual([]);
  expect(rangeStart(resumed)).toBeGreaterThanOrEqual(2_000_000);
  expect(resumed.status).toBe(206);
  expect(await recordedSha256('resumed')).toBe(weightsSha256);
  await expectSameAsFixtures(store, 'resumed');
});

it('finds damage in the part stored before a cancel, though the resumed bytes are fine', async () => {
  await cancelDownloadAfter('damaged-before-resume', 2_000_000, { corrupt: { file: 'model.safetensors', atByte: 1_000_000 } });
  await expect(downloadModel(store, requestFor('damaged-before-resume'))).rejects.toThrow(damagedMessage(await damagedSha256(1_000_000), weightsSha256));
  const [resumed, ...more] = await requestsFor('model.safetensors');
  expect(more).toEqual([]);
  expect(rangeStart(resumed)).toBeGreaterThanOrEqual(2_000_000);
  expect(await listedIds(store)).not.toContain('damaged-before-resume');
  expect((await storedNames('damaged-before-resume')).filter((name) => name.startsWith('model.safetensors'))).toEqual([]);
});

it("behind the hub's redirect, checks the SHA-256 of the file's LFS pointer, not the CDN's own 64-hex ETag", async () => {
  // Slowly enough that the cut comes after the body is being read: a body that fails before any of
  // it is read loses what had arrived, and the retry would have nothing to resume from.
  await steerServer({ redirectToCdn: true, bytesPerSecond: 5e6, cut: { file: 'model.safetensors', afterBytes: 5_000_000 } });
  await downloadModel(store, requestFor('redirected'));
  const weights = await requestsFor('model.safetensors');
  expect(weights.map(({ route, status, range }) => ({ route, status, resumed: range !== null }))).toEqual([
    { route: 'resolve', status: 302, resumed: false },
    { route: 'cdn', status: 200, resumed: false },
    { route: 'raw', status: 200, resumed: false },
    { route: 'resolve', status: 302, resumed: true },
    { route: 'cdn', status: 206, resumed: true },
  ]);
  expect(await recordedSha256('redirected')).toBe(weightsSha256);
  await expectSameAsFixtures(store, 'redirected');

  await resetServer();
  await steerServer({ redirectToCdn: true, corrupt: { file: 'model.safetensors', atByte: 9_000_000 } });
  await expect(downloadModel(store, requestFor('redirected-damaged'))).rejects.toThrow(damagedMessage(await damagedSha256(9_000_000), weightsSha256));
  expect(await listedIds(store)).not.toContain('redirected-damaged');
});

it('retries with a Range request when the server stops sending mid-body, and the file is whole and checked', async () => {
  await steerServer({ stall: { file: 'model.safetensors', afterBytes: 3_000_000 } });
  const startedAt = performance.now();
  await downloadModel(store, requestFor('stalled-once'), { stallTimeoutMs: STALL_TIMEOUT_MS });
  expect(performance.now() - startedAt).toBeGreaterThanOrEqual(STALL_TIMEOUT_MS);

  const [first, resumed, ...more] = await requestsFor('model.safetensors');
  expect(more).toEqual([]);
  expect(first.range).toBeNull();
  const resumedAt = rangeStart(resumed);
  expect(resumedAt).toBeGreaterThan(0);
  expect(resumedAt).toBeLessThanOrEqual(3_000_000);
  expect(resumed.status).toBe(206);
  expect(await recordedSha256('stalled-once')).toBe(weightsSha256);
  await expectSameAsFixtures(store, 'stalled-once');
});

it('says the server stopped sending data when retries get nothing either, and the next download and load work', async () => {
  await steerServer({ stall: { file: 'model.safetensors', afterBytes: 3_000_000 } });
  await steerServer({ stall: { file: 'model.safetensors', afterBytes: 0, times: 100 } });
  await expect(downloadModel(store, requestFor('stalled'), { stallTimeoutMs: STALL_TIMEOUT_MS })).rejects.toThrow(
    /^the server stopped sending data: no bytes of model\.safetensors arrived for 2 s, and retrying did not help \(the [\d.]+ MB of 13\.3 MB stored so far is kept\); press Download to try again$/,
  );
  expect(await listedIds(store)).not.toContain('stalled');
  const [, ...retries] = await requestsFor('model.safetensors');
  expect(retries.length).toBeGreaterThan(1);
  const storedAt = rangeStart(retries[0]);
  expect(storedAt).toBeGreaterThan(0);
  for (const retry of retries) expect(rangeStart(retry)).toBe(storedAt);

  await resetServer();
  await downloadModel(store, requestFor('stalled'));
  expect(rangeStart((await requestsFor('model.safetensors'))[0])).toBe(storedAt);
  expect(await recordedSha256('stalled')).toBe(weightsSha256);
  const resolved = await resolveModelSource({ kind: 'files', name: 'stalled', files: await store.openFiles('stalled') });
  expect(resolved.files.map((file) => file.size)).toEqual([WEIGHTS_BYTES]);
  expect(await hubLog()).toHaveLength(1);
});
