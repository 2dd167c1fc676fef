// A stand-in for the HuggingFace hub, for the download tests. It serves each fixture folder as a
// repository, `<prefix><repo>/resolve/<revision>/<file>`, the way the hub does (Range, If-Range, a
// strong ETag: an LFS file's SHA-256, a git blob's SHA-1 for other files), each LFS file's pointer
// at `<prefix><repo>/raw/<revision>/<file>`, and the repository's files and head commit at
// `<prefix>api/models/<repo>/revision/main`, as the hub's API does. The revision is "main" or a
// commit main has pointed at; a test can move main to a new commit (the files stay the same). On
// request it also redirects LFS files to a "CDN" the way the hub does, and misbehaves the way
// networks and servers do: it drops the connection part-way through a body, stops sending with the
// connection left open, damages a byte, answers 404 or 500 or a web page, sends slowly, or changes
// a file's ETag. For a repository without a sharded index it also serves a
// model.safetensors.index.json naming model.safetensors as the only shard.
//
// Tests steer it with `POST <prefix>_control` (JSON, see Control), read what was asked of it with
// `GET <prefix>_log`, and undo everything with `POST <prefix>_reset`.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve, sep } from 'node:path';
import type { Plugin } from 'vite';

/** A misbehaviour for the next `times` (default 1) responses carrying `file`'s bytes. */
interface Mishap {
  file: string;
  times?: number;
}

export interface Control {
  /** The body ends after `afterBytes` bytes: the connection is dropped. */
  cut?: Mishap & { afterBytes: number };
  /** After `afterBytes` bytes of body nothing more is sent; the connection stays open. */
  stall?: Mishap & { afterBytes: number };
  /** The byte at offset `atByte` of the file is flipped, if the response carries it. */
  corrupt?: Mishap & { atByte: number };
  /** Every request for `file` fails this way until reset. */
  fault?: { file: string; kind: 'not-found' | 'server-error' | 'web-page' };
  /** Bodies are sent at about this speed; null sends at full speed. */
  bytesPerSecond?: number | null;
  /** Every file's ETag becomes `"<etag>"`, as if the files had changed. */
  etag?: string;
  /** Every repository's main branch moves to this commit (40 hex digits); the earlier ones stay served. */
  headCommit?: string;
  /**
   * LFS files are answered with a redirect to `<prefix>_cdn/<repo>/<file>`, as the hub does: the
   * redirect names the SHA-256 (`X-Linked-Etag`), the CDN's own ETag is another 64-hex hash.
   */
  redirectToCdn?: boolean;
}

export interface LoggedRequest {
  method: string;
  file: string;
  /** `resolve`: the file's hub URL; `cdn`: where the hub redirects an LFS file; `raw`: its LFS pointer; `api`: a revision's listing (`file` is the repo). */
  route: Route;
  /** The revision in the URL (resolve, raw and api). */
  revision: string | null;
  range: string | null;
  ifRange: string | null;
  status: number;
}

type Route = 'resolve' | 'cdn' | 'raw' | 'api';

/** A mishap with the number of responses it has left. */
type Planned<T extends Mishap | undefined> = NonNullable<T> & { times: number };

interface State {
  cuts: Planned<Control['cut']>[];
  stalls: Planned<Control['stall']>[];
  corruptions: Planned<Control['corrupt']>[];
  faults: Map<string, 'not-found' | 'server-error' | 'web-page'>;
  bytesPerSecond: number | null;
  etag: string | null;
  /** Main's commits, oldest first, when a test has moved it; else each repository's own first commit. */
  headCommits: string[];
  redirectToCdn: boolean;
  /** Responses held open by a stall, closed on reset. */
  stalled: Set<ServerResponse>;
  log: LoggedRequest[];
}

const CHUNK_BYTES = 64 * 1024;

const freshState = (): State => ({
  cuts: [], stalls: [], corruptions: [], faults: new Map(), bytesPerSecond: null, etag: null, headCommits: [], redirectToCdn: false, stalled: new Set(), log: [],
});

/** Files the hub keeps in git LFS (its default .gitattributes covers these). */
const isLfsFile = (file: string) => /\.(safetensors|bin)$/.test(file);
const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** The hub's ETag for a file kept in git itself: the git blob id. */
const gitBlobId = (bytes: Buffer) => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
/** A repository's first commit: made up, but fixed, 40 hex digits like git's. */
const firstCommit = (repo: string) => createHash('sha1').update(`first commit of ${repo}`).digest('hex');
/** The commits main has pointed at in `repo`, the head last. */
const commitsOf = (state: State, repo: string) => [firstCommit(repo), ...state.headCommits];

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
      for (const stalled of state.stalled) stalled.destroy();
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
    const { route, repo, file, revision } = parseRoute(path);
    const known = revision === null || (repo !== undefined && (revision === 'main' || commitsOf(state, repo).includes(revision)));
    const body = repo === undefined || !known ? null : fileBody(root, repo, file);
    const entry: LoggedRequest = {
      method: request.method ?? 'GET',
      file,
      route,
      revision,
      range: request.headers.range ?? null,
      ifRange: (request.headers['if-range'] as string | undefined) ?? null,
      status: 0,
    };
    state.log.push(entry);
    if (route === 'api') {
      entry.status = serveListing(response, root, file, revision === 'main' ? commitsOf(state, file).at(-1)! : known ? revision! : null);
    } else if (route === 'raw') {
      entry.status = servePointer(response, file, body);
    } else if (route === 'resolve' && body && state.redirectToCdn && isLfsFile(file) && !state.faults.has(file)) {
      entry.status = redirectToCdn(response, `${urlPrefix}_cdn/${repo}/${file}`, body);
    } else {
      void serve(state, request, response, file, body, route, (status) => (entry.status = status));
    }
  }
}

function applyControl(state: State, control: Control): void {
  if (control.cut) state.cuts.push({ ...control.cut, times: control.cut.times ?? 1 });
  if (control.stall) state.stalls.push({ ...control.stall, times: control.stall.times ?? 1 });
  if (control.corrupt) state.corruptions.push({ ...control.corrupt, times: control.corrupt.times ?? 1 });
  if (control.fault) state.faults.set(control.fault.file, control.fault.kind);
  if (control.bytesPerSecond !== undefined) state.bytesPerSecond = control.bytesPerSecond;
  if (control.etag !== undefined) state.etag = control.etag;
  if (control.headCommit !== undefined) state.headCommits.push(control.headCommit);
  if (control.redirectToCdn !== undefined) state.redirectToCdn = control.redirectToCdn;
}

/** Which of the hub's URLs `path` is, and for which repository, revision and file. */
function parseRoute(path: string): { route: Route; repo?: string; file: string; revision: string | null } {
  const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
  if (api) return { route: 'api', repo: api[1], file: api[1], revision: api[2] };
  const cdn = /^\/_cdn\/(.+)\/([^/]+)$/.exec(path);
  if (cdn) return { route: 'cdn', repo: cdn[1], file: cdn[2], revision: null };
  const hub = /^\/(.+)\/(resolve|raw)\/([^/]+)\/([^/]+)$/.exec(path);
  if (hub) return { route: hub[2] as Route, repo: hub[1], file: hub[4], revision: hub[3] };
  return { route: 'resolve', file: path, revision: null };
}

/**
 * `api/models/<repo>/revision/<revision>`: the commit and the repository's files, in the fields
 * of the hub's answer the app reads. Unknown repositories get the hub's 401, unknown revisions 404.
 */
function serveListing(response: ServerResponse, root: string, repo: string, commit: string | null): number {
  const directory = resolve(root, repo);
  const exists = directory.startsWith(root + sep) && statSync(directory, { throwIfNoEntry: false })?.isDirectory();
  if (!exists || commit === null) {
    response.statusCode = exists ? 404 : 401;
    sendJson(response, { error: exists ? 'Invalid rev id' : 'Repository not found' });
    return response.statusCode;
  }
  const siblings = readdirSync(directory).filter((name) => !name.startsWith('.')).sort().map((rfilename) => ({ rfilename }));
  sendJson(response, { id: repo, modelId: repo, sha: commit, siblings });
  return 200;
}

/** Takes one of the mishaps planned for `file`, if any is left. */
function takeMishap<T extends Planned<Mishap>>(mishaps: T[], file: string): T | undefined {
  const mishap = mishaps.find((candidate) => candidate.file === file && candidate.times > 0);
  if (mishap) mishap.times -= 1;
  return mishap;
}

/** The hub's answer for an LFS file: a redirect whose headers name the file's SHA-256 and size. */
function redirectToCdn(response: ServerResponse, location: string, body: Buffer): number {
  response.statusCode = 302;
  response.setHeader('Location', location);
  response.setHeader('X-Linked-Etag', `"${sha256Hex(body)}"`);
  response.setHeader('X-Linked-Size', String(body.length));
  response.end();
  return 302;
}

/** `raw/main/<file>`: an LFS file's pointer (what git holds), or a git file's own bytes. */
function servePointer(response: ServerResponse, file: string, body: Buffer | null): number {
  if (!body) {
    response.statusCode = 404;
    response.end('Entry not found');
    return 404;
  }
  response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.end(isLfsFile(file) ? `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256Hex(body)}\nsize ${body.length}\n` : body);
  return 200;
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

/** Answers a file request, logging its status as soon as it is decided: before the body, since a
 *  client can have every byte (and a test read the log) while the last paced chunk's wait runs. */
async function serve(state: State, request: IncomingMessage, response: ServerResponse, file: string, body: Buffer | null,
  route: Route, logStatus: (status: number) => void): Promise<void> {
  const fault = state.faults.get(file);
  if (fault === 'web-page') {
    logStatus(200);
    response.setHeader('Content-Type', 'text/html; charset=utf-8');
    response.end('<!doctype html><title>Sign in</title><p>Sign in to continue.</p>');
    return;
  }
  if (!body || fault) {
    response.statusCode = fault === 'server-error' ? 500 : 404;
    logStatus(response.statusCode);
    response.end(fault === 'server-error' ? 'Internal Server Error' : 'Entry not found');
    return;
  }

  // The hub's Xet CDN sends its own content hash, 64 hex digits like a SHA-256 but not one.
  const ownEtag = route === 'cdn' ? sha256Hex(Buffer.concat([Buffer.from('xet-cdn'), body])) : isLfsFile(file) ? sha256Hex(body) : gitBlobId(body);
  const etag = `"${state.etag ?? ownEtag}"`;
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
      logStatus(416);
      response.setHeader('Content-Range', `bytes */${body.length}`);
      response.end();
      return;
    }
    response.statusCode = 206;
    response.setHeader('Content-Range', `bytes ${start}-${body.length - 1}/${body.length}`);
  }
  response.setHeader('Content-Length', String(body.length - start));
  logStatus(response.statusCode);
  if (request.method === 'HEAD') {
    response.end();
    return;
  }

  const cut = takeMishap(state.cuts, file);
  const stall = takeMishap(state.stalls, file);
  const corruption = takeMishap(state.corruptions, file);
  const sent = corruption ? withByteFlipped(body, corruption.atByte) : body;
  const end = Math.min(body.length, start + (cut?.afterBytes ?? Infinity), start + (stall?.afterBytes ?? Infinity));
  for (let offset = start; offset < end && !response.destroyed; offset += CHUNK_BYTES) {
    const chunk = sent.subarray(offset, Math.min(end, offset + CHUNK_BYTES));
    if (!response.write(chunk)) await drained(response);
    if (state.bytesPerSecond) await new Promise((resume) => setTimeout(resume, (chunk.length / state.bytesPerSecond!) * 1000));
  }
  // A destroyed response is a client that went away (a cancelled download).
  if (response.destroyed) return;
  if (stall && end < body.length) {
    // Headers and the bytes so far go out; then silence until the client gives up (or a reset).
    response.flushHeaders();
    state.stalled.add(response);
    await new Promise((resume) => response.once('close', resume));
    state.stalled.delete(response);
  } else if (end < body.length) {
    // Let the bytes sent so far reach the client, then drop the connection mid-body.
    response.flushHeaders();
    response.write(Buffer.alloc(0), () => request.socket.destroy());
  } else {
    response.end();
  }
}

function withByteFlipped(body: Buffer, offset: number): Buffer {
  const damaged = Buffer.from(body);
  if (offset < damaged.length) damaged[offset] ^= 0xff;
  return damaged;
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
