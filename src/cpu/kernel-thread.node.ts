// A kernel thread as a Node worker_threads Worker (tests and command-line tools); see nodeKernelThread.
import { parentPort } from 'node:worker_threads';
import { startKernelThread } from './kernel-thread.ts';
import type { KernelThreadInit } from './kernel-thread-protocol.ts';

parentPort!.once('message', (init: KernelThreadInit) => {
  void startKernelThread(init, (message) => parentPort!.postMessage(message));
});
