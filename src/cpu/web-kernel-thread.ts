// Kernel threads for the CPU backend in the browser: module Web Workers started from the engine's
// worker. Shared WASM memory needs a cross-origin isolated page (COOP + COEP headers).
import type { ThreadHandle } from './kernel-threads.ts';

export function webKernelThread(): ThreadHandle {
  const worker = new Worker(new URL('./kernel-thread.worker.ts', import.meta.url), { type: 'module', name: 'gpt2 kernel thread' });
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent) => {
      worker.onmessage = null;
      if (event.data === 'ready') resolve();
      else reject(new Error(`a CPU kernel thread could not start: ${(event.data as { error: string }).error}`));
    };
    worker.onerror = (event) => reject(new Error(`a CPU kernel thread could not start: ${event.message || 'its script failed to load'}`));
  });
  return { postMessage: (message) => worker.postMessage(message), ready, terminate: () => worker.terminate() };
}

/** How many kernel threads this page can run: all cores (at most 8) when memory can be shared, else 1. */
export function availableKernelThreads(): number {
  if (!globalThis.crossOriginIsolated || typeof SharedArrayBuffer === 'undefined') return 1;
  return Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1));
}
