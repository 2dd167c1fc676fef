// Saving models in the origin private file system, downloaded from a stand-in for the HF hub that
// drops connections and fails on request (scripts/flaky-model-server-plugin.ts): progress, Range
// resumes after a drop or a cancel, byte-identical files, models side by side, clear errors.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { Control } from '../../scripts/flaky-model-server-plugin.ts';
import type { CachedModel, DownloadProgress } from '../../src/worker/engine-api.ts';
import { downloadModel } from '../../src/storage/model-download.ts';
import { resolveModelSource } from '../../src/worker/model-source.ts';
import { ModelStore, requestPersistence, storageInfo } from '../../src/storage/model-store.ts';
import {
  CONFIG_BYTES,
  expectSameAsFixtures,
  F16_WEIGHTS_BYTES,
  hubLog,
  hubUrl,
  listedIds,
  rangeStart,
  requestFor,
  requestsFor,
  resetServer,
  steerServer,
  WEIGHTS_BYTES,
} from '../support/stand-in-hub.ts';

const storeDirectory = `model-store-test-${crypto.randomUUID()}`;
let store: ModelStore;

beforeAll(async () => {
  store = await ModelStore.open(storeDirectory);
});
afterAll(async () => {
  await (await navigator.storage.getDirectory()).removeEntry(storeDirectory, { recursive: true });
});
beforeEach(async () => {
  await resetServer();
});

it('downloads config and weights with progress, and lists the model only once it is complete', async () => {
  await steerServer({ bytesPerSecond: 20e6 });
  const events: DownloadProgress[] = [];
  let listedDuringDownload: Promise<string[]> | undefined;
  const model = await downloadModel(store, requestFor('tiny'), {
    onProgress: (progress) => {
      events.push(progress);
      if (progress.file === 'model.safetensors' && progress.bytesDone > 0) listedDuringDownload ??= listedIds(store);
    },
  });

  expect(await listedDuringDownload).not.toContain('tiny');
  const weightEvents = events.filter((event) => event.file === 'model.safetensors');
  expect(weightEvents.length).toBeGreaterThan(3);
  for (const [index, event] of weightEvents.entries()) {
    expect(event).toMatchObject({ bytesTotal: WEIGHTS_BYTES, resumedFrom: 0 });
    if (index > 0) expect(event.bytesDone).toBeGreaterThanOrEqual(weightEvents[index - 1].bytesDone);
  }
  expect(weightEvents.at(-1)!.bytesDone).toBe(WEIGHTS_BYTES);
  const measured = weightEvents.find((event) => event.secondsLeft !== null && event.bytesDone < WEIGHTS_BYTES);
  expect(measured?.bytesPerSecond).toBeGreaterThan(0);
  expect(events.filter((event) => event.file === 'config.json').at(-1)).toMatchObject({ bytesDone: CONFIG_BYTES, bytesTotal: CONFIG_BYTES });

  expect(model).toMatchObject({ id: 'tiny', label: 'tiny GPT-2 (tiny)', bytes: CONFIG_BYTES + WEIGHTS_BYTES, files: ['config.json', 'model.safetensors'] });
  expect(await store.list()).toContainEqual(model);
  await expectSameAsFixtures(store, 'tiny');
  const resolved = await resolveModelSource({ kind: 'files', name: 'tiny', files: await store.openFiles('tiny') });
  expect(resolved.format).toBe('safetensors');
  expect(resolved.files.map((file) => file.size)).toEqual([WEIGHTS_BYTES]);
});

it('does not fetch again a model that is already saved', async () => {
  await downloadModel(store, requestFor('tiny-again'));
  await resetServer();
  const model = await downloadModel(store, requestFor('tiny-again'));
  expect(model.bytes).toBe(CONFIG_BYTES + WEIGHTS_BYTES);
  expect(await hubLog()).toEqual([]);
});

it('goes on with a Range request from what it stored when the connection drops mid-body', async () => {
  await steerServer({ cut: { file: 'model.safetensors', afterBytes: 5_000_000 } });
  const events: DownloadProgress[] = [];
  await downloadModel(store, requestFor('tiny-dropped'), { onProgress: (progress) => events.push(progress) });

  const [first, resumed, ...more] = await requestsFor('model.safetensors');
  expect(more).toEqual([]);
  expect(first.range).toBeNull();
  const resumedAt = rangeStart(resumed);
  expect(resumedAt).toBeGreaterThan(0);
  expect(resumedAt).toBeLessThanOrEqual(5_000_000);
  expect(resumed).toMatchObject({ status: 206, ifRange: expect.stringMatching(/^".+"$/) });
  // The offset asked for is the size of the part on disk when the retry began.
  expect(events.find((event) => event.resumedFrom > 0)?.resumedFrom).toBe(resumedAt);
  await expectSameAsFixtures(store, 'tiny-dropped');
});

it('gives up after repeated drops with a message to press Download, and the next call resumes', async () => {
  await steerServer({ cut: { file: 'model.safetensors', afterBytes: 3_000_000 } });
  await steerServer({ cut: { file: 'model.safetensors', afterBytes: 0, times: 100 } });
  await expect(downloadModel(store, requestFor('tiny-gave-up'))).rejects.toThrow(
    /^the download of model\.safetensors stopped at [\d.]+ MB of 13\.3 MB \(.*\); press Download to resume$/,
  );
  expect(await listedIds(store)).not.toContain('tiny-gave-up');
  const [, ...retries] = await requestsFor('model.safetensors');
  expect(retries.length).toBeGreaterThan(1);
  const storedAt = rangeStart(retries[0]);
  expect(storedAt).toBeGreaterThan(0);
  for (const retry of retries) expect(rangeStart(retry)).toBe(storedAt);

  await resetServer();
  const model = await downloadModel(store, requestFor('tiny-gave-up'));
  expect(model.bytes).toBe(CONFIG_BYTES + WEIGHTS_BYTES);
  const [resumed] = await requestsFor('model.safetensors');
  expect(rangeStart(resumed)).toBe(storedAt);
  expect(await requestsFor('config.json')).toEqual([]);
  await expectSameAsFixtures(store, 'tiny-gave-up');
});

/** Starts downloading `id` and cancels it once `bytes` of the weights are in. */
async function cancelDownloadAfter(id: string, bytes: number): Promise<void> {
  await steerServer({ bytesPerSecond: 10e6 });
  const controller = new AbortController();
  const download = downloadModel(store, requestFor(id), {
    signal: controller.signal,
    onProgress: (progress) => {
      if (progress.file === 'model.safetensors' && progress.bytesDone >= bytes) controller.abort();
    },
  });
  await expect(download).rejects.toMatchObject({ name: 'AbortError' });
  expect(await listedIds(store)).not.toContain(id);
  await resetServer();
}

it('keeps what a cancelled download stored, and the next call resumes from there', async () => {
  await cancelDownloadAfter('tiny-cancelled', 2_000_000);
  const events: DownloadProgress[] = [];
  await downloadModel(store, requestFor('tiny-cancelled'), { onProgress: (progress) => events.push(progress) });

  const [resumed, ...more] = await requestsFor('model.safetensors');
  expect(more).toEqual([]);
  expect(resumed.status).toBe(206);
  const resumedAt = rangeStart(resumed);
  expect(resumedAt).toBeGreaterThanOrEqual(2_000_000);
  expect(events.find((event) => event.file === 'model.safetensors')).toMatchObject({ resumedFrom: resumedAt, bytesDone: resumedAt });
  await expectSameAsFixtures(store, 'tiny-cancelled');
});

it('starts a file over when it changed on the server since its part was stored', async () => {
  await cancelDownloadAfter('tiny-changed', 2_000_000);
  await steerServer({ etag: 'a-newer-version' });
  const events: DownloadProgress[] = [];
  await downloadModel(store, requestFor('tiny-changed'), { onProgress: (progress) => events.push(progress) });

  const [resumed, ...more] = await requestsFor('model.safetensors');
  expect(more).toEqual([]);
  expect(rangeStart(resumed)).toBeGreaterThanOrEqual(2_000_000);
  expect(resumed.ifRange).not.toBe('"a-newer-version"');
  expect(resumed.status).toBe(200);
  expect(events.filter((event) => event.file === 'model.safetensors').every((event) => event.resumedFrom === 0)).toBe(true);
  await expectSameAsFixtures(store, 'tiny-changed');
});

it('deletes a partly downloaded model, so the next download starts from nothing', async () => {
  await cancelDownloadAfter('tiny-partial', 2_000_000);
  await store.delete('tiny-partial');
  await downloadModel(store, requestFor('tiny-partial'));
  const [first] = await requestsFor('model.safetensors');
  expect(first.range).toBeNull();
  expect(await requestsFor('config.json')).toHaveLength(1);
});

it('keeps several models side by side, and deleting one leaves the others readable', async () => {
  const oddId = 'custom:tiny/f16 ../..';
  await downloadModel(store, requestFor('tiny-f32'));
  await downloadModel(store, requestFor(oddId, 'model.f16.safetensors'));
  const listed = await store.list();
  expect(listed.find((model) => model.id === 'tiny-f32')?.bytes).toBe(CONFIG_BYTES + WEIGHTS_BYTES);
  expect(listed.find((model) => model.id === oddId)).toMatchObject({ bytes: CONFIG_BYTES + F16_WEIGHTS_BYTES, files: ['config.json', 'model.f16.safetensors'] });

  await store.delete('tiny-f32');
  expect(await listedIds(store)).not.toContain('tiny-f32');
  await expect(store.openFiles('tiny-f32')).rejects.toThrow(/is not saved in this browser/);
  expect(await listedIds(store)).toContain(oddId);
  await expectSameAsFixtures(store, oddId);
});

it('saves a sharded checkpoint with its index and every shard it names', async () => {
  const model = await downloadModel(store, requestFor('tiny-sharded', 'model.safetensors.index.json'));
  expect(model.files).toEqual(['config.json', 'model.safetensors.index.json', 'model.safetensors']);
  const resolved = await resolveModelSource({ kind: 'files', name: 'tiny-sharded', files: await store.openFiles('tiny-sharded') });
  expect(resolved.files.map((file) => [file.name, file.size])).toEqual([['model.safetensors', WEIGHTS_BYTES]]);
});

it('says which address failed, with its HTTP status or because it is a web page, and lists nothing', async () => {
  const failures: [Control['fault'], string, string][] = [
    [{ file: 'config.json', kind: 'not-found' }, 'tiny-404', `could not download config.json: ${hubUrl('config.json')} answered HTTP 404 Not Found`],
    [{ file: 'model.safetensors', kind: 'server-error' }, 'tiny-500', `could not download model.safetensors: ${hubUrl('model.safetensors')} answered HTTP 500 Internal Server Error`],
    [{ file: 'model.safetensors', kind: 'web-page' }, 'tiny-html', `could not download model.safetensors: ${hubUrl('model.safetensors')} returned a web page, not a model file; check the address`],
  ];
  for (const [fault, id, message] of failures) {
    await resetServer();
    await steerServer({ fault });
    await expect(downloadModel(store, requestFor(id))).rejects.toThrow(message);
  }
  await expect(downloadModel(store, requestFor('tiny-missing', 'missing.safetensors'))).rejects.toThrow(/missing\.safetensors answered HTTP 404/);
  const listed = await listedIds(store);
  for (const id of ['tiny-404', 'tiny-500', 'tiny-html', 'tiny-missing']) expect(listed).not.toContain(id);
});

it('says it could not reach the server when nothing answers, after retrying', async () => {
  // Port 9 (discard) has no listener here: every connection is refused, as when offline.
  const unreachable = 'http://127.0.0.1:9/tiny-gpt2/resolve/main/config.json';
  const request = { ...requestFor('tiny-unreachable'), configUrl: unreachable };
  await expect(downloadModel(store, request)).rejects.toThrow(
    new RegExp(`^could not reach ${unreachable} \\(.+\\): check the connection and press Download to try again$`),
  );
  expect(await listedIds(store)).not.toContain('tiny-unreachable');
});

/**
 * A store whose writes fail as a full disk makes them fail, once `limitBytes` have been written:
 * the test browser's quota (10 GiB) is too large to fill for real.
 */
class FullDiskStore extends ModelStore {
  constructor(root: FileSystemDirectoryHandle, private readonly limitBytes: number) {
    super(root);
  }

  override async directory(id: string): Promise<FileSystemDirectoryHandle> {
    let writtenBytes = 0;
    const write = async (writable: FileSystemWritableFileStream, data: FileSystemWriteChunkType) => {
      writtenBytes += (data as Uint8Array).byteLength ?? 0;
      if (writtenBytes > this.limitBytes) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      await writable.write(data);
    };
    const limitWrites = (writable: FileSystemWritableFileStream) => withOverride(writable, 'write', (data: FileSystemWriteChunkType) => write(writable, data));
    const limitFile = (file: FileSystemFileHandle) =>
      withOverride(file, 'createWritable', async (options?: FileSystemCreateWritableOptions) => limitWrites(await file.createWritable(options)));
    const directory = await super.directory(id);
    return withOverride(directory, 'getFileHandle', async (name: string, options?: FileSystemGetFileOptions) => limitFile(await directory.getFileHandle(name, options)));
  }
}

/** `target` with its method `key` replaced; its other methods still run on `target` itself. */
function withOverride<T extends object>(target: T, key: keyof T, replacement: unknown): T {
  return new Proxy(target, {
    get: (object, property) => {
      if (property === key) return replacement;
      const value = Reflect.get(object, property);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

it('when the disk is full, deletes the partial file, says how much room the model needs, and keeps other models', async () => {
  await downloadModel(store, requestFor('tiny-neighbour'));
  const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(storeDirectory);
  const fullDisk = new FullDiskStore(root, 5_000_000);
  await expect(downloadModel(fullDisk, requestFor('tiny-no-room'))).rejects.toThrow(
    /^there is not enough storage for tiny GPT-2 \(tiny-no-room\): it needs 13\.3 MB, and the browser lets this app store only [\d.]+ [MG]B more\. Delete a cached model or free disk space, then press Download again$/,
  );
  expect(await listedIds(store)).not.toContain('tiny-no-room');

  await resetServer();
  await downloadModel(store, requestFor('tiny-no-room'));
  const [restarted] = await requestsFor('model.safetensors');
  expect(restarted.range).toBeNull();
  await expectSameAsFixtures(store, 'tiny-neighbour');
});

it('reports storage use and quota, and whether storage is persistent', async () => {
  const saved: CachedModel[] = await store.list();
  const info = await storageInfo();
  expect(info.usageBytes).toBeGreaterThanOrEqual(saved.reduce((sum, model) => sum + model.bytes, 0));
  expect(info.quotaBytes).toBeGreaterThan(info.usageBytes);
  expect(typeof info.persisted).toBe('boolean');
  expect(typeof (await requestPersistence())).toBe('boolean');
});
