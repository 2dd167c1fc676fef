// Starts the engine worker and wraps its Comlink API for the page. Callbacks passed to the worker
// must be Comlink proxies; this wrapper does that so callers pass plain functions.
//
// A worker can die without a word (a crash, running out of memory, the browser closing it), and
// Comlink's calls to it would then wait forever. So the worker holds a Web Lock for as long as it
// lives, and the page asks for the same lock: getting it means the worker is gone. Every call still
// waiting on that worker is then rejected with EngineStoppedError, a fresh worker takes its place
// (with no model loaded), and the notice listeners hear of it.
import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import type { EngineApi, EngineNotice } from './engine-api.ts';

/** The worker ended while this call was waiting on it. */
export class EngineStoppedError extends Error {
  override name = 'EngineStoppedError';
}

/** The engine's own notices, and the client's: the worker died and a new one was started. */
export type EngineClientNotice = EngineNotice | { type: 'engine-restarted'; message: string };

const STOPPED_REASON = 'its worker ended: the browser may have run out of memory, or closed it';

export interface EngineClient {
  /** The worker's API (the new worker's, after a restart); use the wrappers below for the methods that take callbacks. */
  api: Omit<EngineApi, 'attach'>;
  load: EngineApi['load'];
  generate: EngineApi['generate'];
  download: EngineApi['download'];
  /** Calls `listener` with each notice from or about the engine (the GPU was reset; the worker died). */
  onNotice(listener: (notice: EngineClientNotice) => void): void;
  /** Ends the worker and everything it holds (GPU memory included). */
  terminate(): void;
}

interface RunningWorker {
  worker: Worker;
  remote: Remote<EngineApi>;
  /** Rejects when the worker has ended, so calls waiting on it can stop waiting. */
  ended: Promise<never>;
  end(error: EngineStoppedError): void;
}

export function startEngine(): EngineClient {
  const listeners: ((notice: EngineClientNotice) => void)[] = [];
  const notify = (notice: EngineClientNotice) => listeners.forEach((listener) => listener(notice));
  let terminated = false;

  const start = (): RunningWorker => {
    const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module', name: 'gpt2-engine' });
    const remote = wrap<EngineApi>(worker);
    let end!: (error: EngineStoppedError) => void;
    const ended = new Promise<never>((_, reject) => (end = reject));
    ended.catch(() => {}); // it is only an error for the calls that were waiting
    const running: RunningWorker = { worker, remote, ended, end };
    // One lock per worker: locks are shared by every tab of the app.
    const lifeLock = `gpt2-engine-${crypto.randomUUID()}`;
    remote.attach(lifeLock, proxy(notify)).then(
      () => navigator.locks.request(lifeLock, () => {
        if (terminated) return;
        running.end(new EngineStoppedError(`the engine stopped (${STOPPED_REASON}); it has been restarted: load the model again`));
        running.worker.terminate();
        current = start();
        notify({ type: 'engine-restarted', message: `The engine stopped (${STOPPED_REASON}) and has been restarted: load the model again.` });
      }),
      () => {}, // without Web Locks (a page not served over https) a dead worker goes unnoticed, as before
    );
    return running;
  };
  let current = start();

  /** Runs `invoke` on the current worker; it rejects if that worker dies first. */
  const call = <T>(invoke: (remote: Remote<EngineApi>) => Promise<T>): Promise<T> => {
    const running = current;
    return Promise.race([invoke(running.remote), running.ended]);
  };

  // Every method of the API, sent to whichever worker is current when it is called. (Not `then`:
  // the API object is not a promise.)
  const api = new Proxy({} as EngineClient['api'], {
    get: (_, method) => typeof method !== 'string' || method === 'then' ? undefined : (...args: unknown[]) =>
      call((remote) => (remote[method as keyof EngineApi] as (...args: unknown[]) => Promise<unknown>)(...args)),
  });

  return {
    api,
    load: (source, options, onProgress) => call((remote) => remote.load(source, options, onProgress && proxy(onProgress))),
    generate: (prompt, settings, onEvent, replyStart) => call((remote) => remote.generate(prompt, settings, proxy(onEvent), replyStart)),
    download: (request, onProgress) => call((remote) => remote.download(request, onProgress && proxy(onProgress))),
    onNotice: (listener) => void listeners.push(listener),
    terminate: () => {
      terminated = true;
      current.end(new EngineStoppedError('the engine was shut down'));
      current.remote[releaseProxy]();
      current.worker.terminate();
    },
  };
}
