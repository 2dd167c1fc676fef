// Kernel threads for the CPU backend in Node: worker_threads running src/cpu/kernel-thread.node.ts
// (TypeScript, through tsx's loader).
import { Worker } from 'node:worker_threads';
import type { ThreadHandle } from '../../src/cpu/kernel-threads.ts';

export function nodeKernelThread(): ThreadHandle {
  const entry = new URL('../../src/cpu/kernel-thread.node.ts', import.meta.url).href;
  // A worker does not inherit the test runner's TypeScript loader: register tsx's, then load the entry.
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(bootstrap, { eval: true });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', (message: unknown) => (message === 'ready' ? resolve() : reject(new Error(String((message as { error: string }).error)))));
    worker.once('error', reject);
  });
  return { postMessage: (message) => worker.postMessage(message), ready, terminate: () => void worker.terminate() };
}
