// The dedicated worker that owns the engine; the page reaches it only through EngineApi.
import { expose } from 'comlink';
import { Engine } from './engine.ts';
import type { EngineApi } from './engine-api.ts';

const engine = new Engine();

const api: EngineApi = {
  load: (source, options, onProgress) => engine.load(source, options, onProgress),
  unload: () => engine.unload(),
  logits: (tokens, options) => engine.logits(tokens, options),
  greedy: (tokens, count) => engine.greedy(tokens, count),
  tokenize: async (text) => engine.tokenize(text),
  generate: (prompt, settings, onEvent) => engine.generate(prompt, settings, onEvent),
  abort: async () => engine.abort(),
  download: (request, onProgress) => engine.downloadModel(request, onProgress),
  cancelDownload: async () => engine.cancelDownload(),
  listCachedModels: () => engine.listCachedModels(),
  deleteCachedModel: (id) => engine.deleteCachedModel(id),
  storageInfo: () => engine.storageInfo(),
  stats: async () => engine.stats(),
  simulateDeviceLoss: () => engine.simulateDeviceLoss(),
};

expose(api);
