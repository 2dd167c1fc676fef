// Starts the engine worker and wraps its Comlink API for the page. Callbacks passed to the worker
// must be Comlink proxies; this wrapper does that so callers pass plain functions.
import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import type { EngineApi } from './engine-api.ts';

export interface EngineClient {
  /** The worker's API; use the wrappers below for the methods that take callbacks. */
  api: Remote<EngineApi>;
  load: EngineApi['load'];
  generate: EngineApi['generate'];
  download: EngineApi['download'];
  /** Ends the worker and everything it holds (GPU memory included). */
  terminate(): void;
}

export function startEngine(): EngineClient {
  const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module', name: 'gpt2-engine' });
  const api = wrap<EngineApi>(worker);
  return {
    api,
    load: (source, options, onProgress) => api.load(source, options, onProgress && proxy(onProgress)),
    generate: (prompt, settings, onEvent) => api.generate(prompt, settings, proxy(onEvent)),
    download: (request, onProgress) => api.download(request, onProgress && proxy(onProgress)),
    terminate: () => {
      api[releaseProxy]();
      worker.terminate();
    },
  };
}
