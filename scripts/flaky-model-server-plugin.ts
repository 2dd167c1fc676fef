// A stand-in for the HuggingFace hub, for the download tests. It serves each fixture folder as a
// repository, `<prefix><repo>/resolve/main/<file>`, the way the hub does (Range, If-Range, a strong
// ETag), and on the test's request misbehaves the way networks and servers do: it drops the
// connection part-way through a body, answers 404 or 500 or a web page, sends slowly, or changes
// a file's ETag. For a repository without a sharded index it also serves a
// model.safetensors.index.json naming model.safetensors as the only shard.
//
// Tests steer it with `POST <prefix>_control` (JSON, see Control), read what was asked of it with
// `GET <prefix>_log`, and undo everything with `POST <prefix>_reset`.
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve, sep } from 'node:path';
import type { Plugin } from 'vite';

export interface Control {
  /** The next `times` (default 1) responses for `file` end after `afterBytes` bytes of body. */
  cut?: { file: string; afterBytes: number; times?: number };
  /** Every request for `file` fails this way until reset. */
  fault?: { file: string; kind: 'not-found' | 'server-error' | 'web-page' };
  /** Bodies are sent at about this speed; null sends at full speed. */
  bytesPerSecond?: number | null;
  /** Every file's ETag becomes `"<etag>"`, as if the files had changed. */
  etag?: string;
}

export interface LoggedRequest {
  method: string;
  file: string;
  range: string | null;
  ifRange: string | null;
  status: number;
}

interface State {
  cuts: { file: string; afterBytes: number; times: number }[];
  faults: Map<string, 'not-found' | 'server-error' | 'web-page'>;
  bytesPerSecond: number | null;
  etag: string | null;
  log: LoggedRequest[];
}

const CHUNK_BYTES = 64 * 1024;

const freshState = (): State => ({ cuts: [], faults: new Map(), bytesPerSecond: null, etag: null, log: [] });

export function flakyModelServerPlugin(urlPrefix: string, fixturesDirectory: string): Plugin {
  const root = resolve(fixturesDirectory);
  let state = freshState();
  return {
    name: `flaky-model-server:${urlPrefix}`,
    configureServer(server) {
      server.middlewares.use(urlPrefix, handle);
    },
    // The end-to-end tests run the built app under `vite preview`, with the same stand-in hub.
    configurePreviewServer(server) {
      server.middlewares.use(urlPrefix, handle);
    },
  };

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0]);
    if (path === '/_log') return sendJson(response, state.log);
    if (path === '/_reset' && request.method === 'POST') {
      state = freshState();
      return sendJson(response, { ok: true });
    }
    if (path === '/_control' && request.method === 'POST') {
      return void readJson(request).then(
        (control) => {
          applyControl(state, control);
          sendJson(response, { ok: true });
        },
        (error: Error) => {
          response.statusCode = 400;
          response.end(error.message);
        },
      );
    }
    const match = /^\/(.+)\/resolve\/main\/([^/]+)$/.exec(path);
    const file = match?.[2] ?? path;
    const body = match && fileBody(root, match[1], file);
    const entry: LoggedRequest = {
      method: request.method ?? 'GET',
      file,
      range: request.headers.range ?? null,
      ifRange: (request.headers['if-range'] as string | undefined) ?? null,
      status: 0,
    };
    state.log.push(entry);
    void serve(state, request, response, file, body ?? null).then((status) => (entry.status = status));
  }
}

function applyControl(state: State, control: Control): void {
  if (control.cut) state.cuts.push({ ...control.cut, times: control.cut.times ?? 1 });
  if (control.fault) state.faults.set(control.fault.file, control.fault.kind);
  if (control.bytesPerSecond !== undefined) state.bytesPerSecond = control.bytesPerSecond;
  if (control.etag !== undefined) state.etag = control.etag;
}

/** The bytes of `file` in repository `repo`, or null if there is no such file. */
function fileBody(root: string, repo: string, file: string): Buffer | null {
  const path = resolve(root, repo, file);
  if (!path.startsWith(root + sep)) return null;
  try {
    if (statSync(path).isFile()) return readFileSync(path);
  } catch {
    // Falls through: the index is made up when the repository has none.
  }
  if (file !== 'model.safetensors.index.json') return null;
  const weights = fileBody(root, repo, 'model.safetensors');
  if (!weights) return null;
  const header = JSON.parse(weights.subarray(8, 8 + Number(weights.readBigUInt64LE(0))).toString('utf8')) as Record<string, unknown>;
  const weightMap = Object.fromEntries(Object.keys(header).filter((key) => key !== '__metadata__').map((key) => [key, 'model.safetensors']));
  return Buffer.from(JSON.stringify({ metadata: { total_size: weights.length }, weight_map: weightMap }));
}

/** Answers a file request; resolves with the status sent. */
async function serve(state: State, request: IncomingMessage, response: ServerResponse, file: string, body: Buffer | null): Promise<number> {
  const fault = state.faults.get(file);
  if (fault === 'web-page') {
    response.setHeader('Content-Type', 'text/html; charset=utf-8');
    response.end('<!doctype html><title>Sign in</title><p>Sign in to continue.</p>');
    return 200;
  }
  if (!body || fault) {
    response.statusCode = fault === 'server-error' ? 500 : 404;
    response.end(fault === 'server-error' ? 'Internal Server Error' : 'Entry not found');
    return response.statusCode;
  }

  const etag = `"${state.etag ?? `${body.length.toString(16)}-fixture`}"`;
  response.setHeader('Accept-Ranges', 'bytes');
  response.setHeader('ETag', etag);
  response.setHeader('Content-Type', 'application/octet-stream');
  let start = 0;
  const ifRange = request.headers['if-range'];
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
  if (range && (!ifRange || ifRange === etag)) {
    start = Number(range[1]);
    if (start >= body.length) {
      response.statusCode = 416;
      response.setHeader('Content-Range', `bytes */${body.length}`);
      response.end();
      return 416;
    }
    response.statusCode = 206;
    response.setHeader('Content-Range', `bytes ${start}-${body.length - 1}/${body.length}`);
  }
  response.setHeader('Content-Length', String(body.length - start));
  if (request.method === 'HEAD') {
    response.end();
    return response.statusCode;
  }

  const cut = state.cuts.find((candidate) => candidate.file === file && candidate.times > 0);
  if (cut) cut.times -= 1;
  const end = cut ? Math.min(body.length, start + cut.afterBytes) : body.length;
  for (let offset = start; offset < end && !response.destroyed; offset += CHUNK_BYTES) {
    const chunk = body.subarray(offset, Math.min(end, offset + CHUNK_BYTES));
    if (!response.write(chunk)) await drained(response);
    if (state.bytesPerSecond) await new Promise((resume) => setTimeout(resume, (chunk.length / state.bytesPerSecond!) * 1000));
  }
  // A destroyed response is a client that went away (a cancelled download).
  if (response.destroyed) return response.statusCode;
  if (end < body.length) {
    // Let the bytes sent so far reach the client, then drop the connection mid-body.
    response.flushHeaders();
    response.write(Buffer.alloc(0), () => request.socket.destroy());
  } else {
    response.end();
  }
  return response.statusCode;
}

/** Resolves once `response` can take more, or is gone. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resume) => {
    const done = () => {
      response.off('drain', done).off('close', done);
      resume();
    };
    response.on('drain', done).on('close', done);
  });
}

function sendJson(response: ServerResponse, value: unknown): void {
  response.setHeader('Content-Type', 'application/json');
  response.setHeader('Cache-Control', 'no-store');
  response.end(JSON.stringify(value));
}

async function readJson(request: IncomingMessage): Promise<Control> {
  let text = '';
  for await (const chunk of request) text += chunk;
  return JSON.parse(text) as Control;
}
