// The dedicated worker that owns the engine; the page reaches it only through EngineApi.
import { expose } from 'comlink';
import { Engine } from './engine.ts';
import type { EngineApi } from './engine-api.ts';

const engine = new Engine();

const api: EngineApi = {
  attach: async (lifeLock, onNotice) => {
    engine.onNotice(onNotice);
    // The lock is released only when this worker ends, however it ends (a crash, out of memory,
    // closed): the page is waiting for it to learn that.
    await new Promise<void>((held) => void navigator.locks.request(lifeLock, () => {
      held();
      return new Promise<never>(() => {});
    }));
  },
  load: (source, options, onProgress) => engine.load(source, options, onProgress),
  unload: () => engine.unload(),
  logits: (tokens, options) => engine.logits(tokens, options),
  inspect: (tokens, count) => engine.inspect(tokens, count),
  greedy: (tokens, count) => engine.greedy(tokens, count),
  tokenize: async (text) => engine.tokenize(text),
  generate: async (prompt, settings, onEvent, replyStart) => {
    // Events travel over their callback's own message channel, the result over the worker's, and
    // the two are not ordered: the result waits until the page has had the last event.
    let delivered: unknown;
    const result = await engine.generate(prompt, settings, (event) => void (delivered = onEvent(event)), replyStart);
    await delivered;
    return result;
  },
  abort: async () => engine.abort(),
  resolveHubModel: (request) => engine.resolveHubModel(request),
  download: (request, onProgress) => engine.downloadModel(request, onProgress),
  cancelDownload: async () => engine.cancelDownload(),
  listCachedModels: () => engine.listCachedModels(),
  deleteCachedModel: (id) => engine.deleteCachedModel(id),
  storageInfo: () => engine.storageInfo(),
  stats: async () => engine.stats(),
  simulateDeviceLoss: () => engine.simulateDeviceLoss(),
};

expose(api);
