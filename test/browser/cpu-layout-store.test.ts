// The CPU backend's saved layout, through the worker's API in real Chromium with OPFS: the first
// load of a saved model parses and quantizes its files and saves the result beside them; the next
// loads read that back and give the very same logits; a new download of the model, a damaged
// layout or another weights format loads from the files again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type EngineClient } from '../../src/worker/engine-client.ts';
import type { LoadOptions } from '../../src/worker/engine-api.ts';
import { ModelStore } from '../../src/storage/model-store.ts';
import { maxAbsDifference } from '../support/gpu-harness.ts';
import { INT8_MAX_LOGIT_ERROR, type ExpectedCase } from '../support/fixture-expected.ts';

const hubUrl = (file: string) => new URL(`/flaky-hub/tiny-gpt2/resolve/main/${file}`, location.href).href;
const id = 'test:tiny-gpt2:cpu-layout';
const int8: LoadOptions = { backend: 'cpu', weightsDtype: 'int8' };

describe('the CPU-ready weights saved beside a model', () => {
  let engine: EngineClient;
  let store: ModelStore;
  let directory: FileSystemDirectoryHandle;
  let expected: ExpectedCase;
  let parsedLogits: Float32Array;

  const logits = async () => (await engine.api.logits(expected.tokens)).logits;
  const fileSize = async (name: string) => (await (await directory.getFileHandle(name)).getFile()).size;

  beforeAll(async () => {
    expected = (await (await fetch('/test-models/tiny-gpt2/expected.json')).json()).cases[0];
    await fetch('/flaky-hub/_reset', { method: 'POST' });
    engine = startEngine();
    await engine.api.deleteCachedModel(id);
    await engine.download({ id, label: 'tiny GPT-2', configUrl: hubUrl('config.json'), weightsUrl: hubUrl('model.safetensors') });
    store = await ModelStore.open();
    directory = (await store.existingDirectory(id))!;
  });
  afterAll(async () => {
    await engine?.api.deleteCachedModel(id);
    engine?.terminate();
  });

  it('is saved after the first int8 load and read back by the next, with the same logits', async () => {
    const first = await engine.load({ kind: 'cached', id }, int8);
    expect(first.fromSavedLayout).toBe(false);
    parsedLogits = await logits();
    expect(maxAbsDifference(parsedLogits, expected.last_logits)).toBeLessThan(INT8_MAX_LOGIT_ERROR);

    const second = await engine.load({ kind: 'cached', id }, int8);
    expect(second.fromSavedLayout).toBe(true);
    expect(second.weightBytes).toBe(first.weightBytes);
    expect(second.config).toEqual(first.config);
    expect(await logits()).toEqual(parsedLogits);
    // int8: a byte per weight (wpe stays f32), far smaller than the f32 file.
    const layoutBytes = await fileSize('cpu-int8.layout');
    expect(layoutBytes).toBeGreaterThanOrEqual(first.weightBytes);
    expect(layoutBytes).toBeLessThan((await fileSize('model.safetensors')) / 3);
  });

  it('is read back on another number of threads', async () => {
    const single = await engine.load({ kind: 'cached', id }, { ...int8, cpuThreads: 1 });
    expect(single.fromSavedLayout).toBe(true);
    expect(single.threads).toBe(1);
    expect(maxAbsDifference(await logits(), parsedLogits)).toBeLessThan(1e-4);
  });

  it('is read while another tab holds the file', async () => {
    // A worker of this page stands in for the other tab's engine, holding a sync access handle
    // (an exclusive lock) on the layout's bytes while this engine loads the model.
    const holder = new Worker(URL.createObjectURL(new Blob([
      'let handle; onmessage = async ({ data }) => { if (data) handle = await data.createSyncAccessHandle(); else handle.close(); postMessage("done"); };',
    ], { type: 'text/javascript' })));
    const ask = (message: unknown) => new Promise((resolve) => {
      holder.onmessage = resolve;
      holder.postMessage(message);
    });
    await ask(await directory.getFileHandle('cpu-int8.layout'));
    try {
      const locked = await engine.load({ kind: 'cached', id }, int8);
      expect(locked.fromSavedLayout).toBe(true);
      expect(await logits()).toEqual(parsedLogits);
    } finally {
      await ask(null);
      holder.terminate();
    }
  });

  it('is made again when the model is downloaded again', async () => {
    const manifest = (await store.manifest(id))!;
    await store.writeManifest({ ...manifest, savedAt: manifest.savedAt + 1 });
    const reparsed = await engine.load({ kind: 'cached', id }, int8);
    expect(reparsed.fromSavedLayout).toBe(false);
    expect(await logits()).toEqual(parsedLogits);
    expect((await engine.load({ kind: 'cached', id }, int8)).fromSavedLayout).toBe(true);
  });

  it('is not used when damaged: the model loads from its files and the layout is saved again', async () => {
    const writable = await (await directory.getFileHandle('cpu-int8.layout')).createWritable({ keepExistingData: true });
    await writable.truncate(1000);
    await writable.close();
    const fromFiles = await engine.load({ kind: 'cached', id }, int8);
    expect(fromFiles.fromSavedLayout).toBe(false);
    expect(await logits()).toEqual(parsedLogits);
    expect((await engine.load({ kind: 'cached', id }, int8)).fromSavedLayout).toBe(true);
    expect(await logits()).toEqual(parsedLogits);
  });

  it('is kept for q4 too, in its own file', async () => {
    const q4: LoadOptions = { backend: 'cpu', weightsDtype: 'q4' };
    const first = await engine.load({ kind: 'cached', id }, q4);
    expect(first.fromSavedLayout).toBe(false);
    const parsed = await logits();
    const second = await engine.load({ kind: 'cached', id }, q4);
    expect(second.fromSavedLayout).toBe(true);
    expect(second.weightsDtype).toBe('q4');
    expect(await logits()).toEqual(parsed);
    expect(await fileSize('cpu-q4.layout')).toBeLessThan(await fileSize('cpu-int8.layout'));
    // The int8 layout is still there, and still used.
    expect((await engine.load({ kind: 'cached', id }, int8)).fromSavedLayout).toBe(true);
  });

  it('is not kept for f32: f32 weights load from the files every time', async () => {
    for (let i = 0; i < 2; i++) {
      const f32 = await engine.load({ kind: 'cached', id }, { backend: 'cpu', weightsDtype: 'f32' });
      expect(f32.fromSavedLayout).toBe(false);
      expect(maxAbsDifference(await logits(), expected.last_logits)).toBeLessThan(1e-3);
    }
    await expect(directory.getFileHandle('cpu-f32.layout')).rejects.toThrow();
  });

  it('goes with the model when the model is deleted, even while it is being saved', async () => {
    const manifest = (await store.manifest(id))!;
    await store.writeManifest({ ...manifest, savedAt: manifest.savedAt + 1 });
    expect((await engine.load({ kind: 'cached', id }, int8)).fromSavedLayout).toBe(false);
    await engine.api.deleteCachedModel(id);
    expect(await store.existingDirectory(id)).toBeNull();
  });
});
