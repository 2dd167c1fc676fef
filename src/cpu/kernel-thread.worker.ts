// A kernel thread as a Web Worker, started by the engine worker when the page is cross-origin isolated.
import { startKernelThread } from './kernel-thread.ts';
import type { KernelThreadInit } from './kernel-thread-protocol.ts';

self.onmessage = (event: MessageEvent<KernelThreadInit>) => {
  self.onmessage = null;
  void startKernelThread(event.data, (message) => self.postMessage(message));
};
