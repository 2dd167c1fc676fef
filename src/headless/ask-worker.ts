// One request to a worker that answers with one message (or { error }), after which the worker is
// terminated and the memory it held goes with it. The caller creates the worker, so that Vite sees
// the `new Worker(new URL(...))` it bundles.

export async function askWorker<Request, Reply extends object>(worker: Worker, what: string, request: Request): Promise<Reply> {
  try {
    const reply = await new Promise<Reply | { error: string }>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<Reply | { error: string }>) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(`${what} failed: ${event.message || 'its worker failed to load'}`));
      worker.postMessage(request);
    });
    if ('error' in reply) throw new Error(`${what} failed: ${reply.error}`);
    return reply;
  } finally {
    worker.terminate();
  }
}

/** The worker's side: answers each request with `handle`'s result, or its error's message. */
export function answerRequests<Request, Reply>(handle: (request: Request) => Promise<Reply>): void {
  self.onmessage = async (event: MessageEvent<Request>) => {
    self.postMessage(await handle(event.data).catch((error: Error) => ({ error: error.message })));
  };
}
