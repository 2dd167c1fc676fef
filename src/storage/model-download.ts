// Downloads a model's files into the ModelStore: its config, then its weights (or a sharded index
// and every shard it names). Each file is appended to `<name>.part` as it arrives, beside
// `<name>.part.json` recording its URL, ETag and size, so an attempt cut short (cancelled, a
// dropped connection, a closed tab) goes on with a Range request instead of starting over. A file
// takes its own name only once its size, and its SHA-256 where the server gives one (see
// file-sha256.ts), are verified, and the manifest is written last. The ETag check on every resumed
// response makes sure the bytes on disk and the bytes that follow are of the same file. A server
// that keeps the connection open but stops sending is treated as a dropped connection.
import type { CachedModel, DownloadProgress, DownloadRequest } from '../worker/engine-api.ts';
import { hashFileStart, hexDigest, newSha256, sha256FromEtag, sha256FromLfsPointer, type Sha256Hasher } from './file-sha256.ts';
import { shardFileNames } from '../weights/load-weights.ts';
import {
  fileSize,
  MANIFEST_FILE,
  ModelStore,
  ModelStoreError,
  readJsonFile,
  removeFile,
  storageInfo,
  toCachedModel,
  writeTextFile,
  type StoredFile,
} from './model-store.ts';
import { policyAwareFetch, RefusedByPolicy } from './policy-refusal.ts';

/** A download failed; the message says why and what to do. */
export class DownloadError extends Error {
  override name = 'DownloadError';
}

export interface DownloadOptions {
  /** Aborting stops the download; what was stored so far is kept for the next attempt. */
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Makes the requests instead of the global fetch, e.g. to add a hub access token. */
  fetch?: typeof fetch;
  /** An attempt that waits this long for a response, or for the next bytes of it, is retried (default 30 s). */
  stallTimeoutMs?: number;
}

/** What `<name>.part.json` says about the download of `<name>`. */
interface PartRecord {
  url: string;
  etag?: string;
  bytesTotal?: number;
  /** The whole file's SHA-256 as the server gave it (hex), if it did. */
  sha256?: string;
}

/** A file's download as it stands on disk. */
interface PartState {
  record: PartRecord | null;
  storedBytes: number;
}

/** The connection failed before or during the body; worth retrying from where the part ends. */
class ConnectionLost extends Error {
  constructor(readonly duringBody: boolean, cause: unknown) {
    super((cause as Error).message, { cause });
  }
}

/** What is stored of a file cannot be continued (the file changed, or the sizes disagree). */
class MustRestart extends Error {}

/** The server keeps the connection open but sends nothing. */
class ServerStalled extends Error {}

/**
 * Aborts an attempt when the server goes quiet for `ms`. Only the waits on the network are timed:
 * a write to disk can take seconds (a commit copies the part) and is not the server's silence.
 */
class InactivityTimeout {
  private readonly controller = new AbortController();
  /** For the attempt's fetch: aborted by silence, or by `outer` (the user's cancel). */
  readonly signal: AbortSignal;

  constructor(private readonly ms: number, outer?: AbortSignal) {
    this.signal = outer ? AbortSignal.any([outer, this.controller.signal]) : this.controller.signal;
  }

  /** Why the attempt was aborted, if it was for silence. */
  get stalled(): ServerStalled | undefined {
    return this.controller.signal.aborted ? (this.controller.signal.reason as ServerStalled) : undefined;
  }

  async watch<T>(waiting: Promise<T>): Promise<T> {
    const timer = setTimeout(() => this.controller.abort(new ServerStalled(`no bytes arrived for ${this.ms / 1000} s`)), this.ms);
    try {
      return await waiting;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The hash of a part as far as it is written; kept between attempts so a retry need not read it back. */
class PartHash {
  constructor(readonly name: string, readonly hasher: Sha256Hasher, public bytes: number) {}

  update(chunk: Uint8Array): void {
    this.hasher.update(chunk);
    this.bytes += chunk.length;
  }
}

/** Drops in a row, without a byte gained, before giving up. */
const MAX_RETRIES = 3;
/** Doubled after every drop in a row. */
const FIRST_RETRY_DELAY_MS = 500;
const STALL_TIMEOUT_MS = 30_000;
const PROGRESS_INTERVAL_MS = 100;
/** How quickly the reported speed follows a change of speed. */
const SPEED_SMOOTHING_SECONDS = 3;
const WRITE_BYTES = 2 ** 20;
const FIRST_COMMIT_BYTES = 64 * 2 ** 20;

/** The request of a download in progress, beside its parts; removed once the manifest is written. */
const REQUEST_FILE = 'download.part.json';
const partName = (name: string) => `${name}.part`;
const partRecordName = (name: string) => `${name}.part.json`;
const isQuotaError = (error: unknown) => error instanceof DOMException && error.name === 'QuotaExceededError';

function formatBytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Saves the model described by `request` in `store` and returns it as listed. A model already
 * saved is only checked on disk; a partly downloaded one is continued.
 */
export async function downloadModel(store: ModelStore, request: DownloadRequest, options: DownloadOptions = {}): Promise<CachedModel> {
  const saved = await store.manifest(request.id);
  if (saved) {
    if (await isIntact(store, request.id)) return toCachedModel(saved);
    await store.delete(request.id);
  }
  // Recorded first, so a later attempt can resume with the very URLs (and hub commit) this one used.
  await writeTextFile(await store.directory(request.id), REQUEST_FILE, JSON.stringify(request));
  const download = new ModelDownload(store, request, options);
  const weightsName = weightsFileName(request.weightsUrl);
  await download.file(configFileName(request.configUrl), request.configUrl);
  await download.file(weightsName, request.weightsUrl);
  if (weightsName.endsWith('.index.json')) {
    const index = await (await (await store.directory(request.id)).getFileHandle(weightsName)).getFile();
    for (const shard of shardFileNames(await index.text())) {
      await download.file(checkedFileName(shard), new URL(shard, new URL(request.weightsUrl, location.href)).href);
    }
  }
  const { source, conversation } = request;
  const manifest = { id: request.id, label: request.label, files: download.storedFiles, savedAt: Date.now(), ...(source ? { source } : {}), ...(conversation ? { conversation } : {}) };
  await store.writeManifest(manifest);
  const directory = await store.directory(request.id);
  for (const file of manifest.files) await removeFile(directory, partRecordName(file.name));
  await removeFile(directory, REQUEST_FILE);
  return toCachedModel(manifest);
}

/** The request of a download of `id` that was begun and not finished, or null. */
export async function unfinishedDownload(store: ModelStore, id: string): Promise<DownloadRequest | null> {
  const directory = await store.existingDirectory(id);
  if (!directory || (await store.manifest(id))) return null;
  const request = (await readJsonFile(directory, REQUEST_FILE)) as DownloadRequest | null;
  return typeof request?.weightsUrl === 'string' && typeof request.configUrl === 'string' && request.id === id ? request : null;
}

async function isIntact(store: ModelStore, id: string): Promise<boolean> {
  try {
    await store.openFiles(id);
    return true;
  } catch (error) {
    if (error instanceof ModelStoreError) return false;
    throw error;
  }
}

const urlFileName = (url: string) => decodeURIComponent(new URL(url, location.href).pathname.split('/').pop() ?? '');

/** A name the store can keep a file under without clashing with its own bookkeeping files. */
function checkedFileName(name: string): string {
  if (!/^[^/\\]+$/.test(name) || name === '.' || name === '..' || name === MANIFEST_FILE || name.endsWith('.part') || name.endsWith('.part.json')) {
    throw new DownloadError(`"${name}" cannot be saved as a model file: give the weights a plain file name`);
  }
  return name;
}

function weightsFileName(url: string): string {
  const name = checkedFileName(urlFileName(url));
  if (!/\.(safetensors|safetensors\.index\.json|bin)$/.test(name)) {
    throw new DownloadError(`"${name}" is not a weight file this app reads: use a .safetensors file (with its config.json) or gpt2_weights.bin (with gpt2_config.txt)`);
  }
  return name;
}

/** The config is saved under the name the loader looks for, whatever the URL calls it. */
const configFileName = (url: string) => (urlFileName(url).endsWith('.json') ? 'config.json' : 'gpt2_config.txt');

function asPartRecord(value: unknown): PartRecord | null {
  const record = value as PartRecord | null;
  return typeof record?.url === 'string' ? record : null;
}

function parseContentRange(header: string | null): { start: number; total: number } | null {
  const match = /^bytes (\d+)-\d+\/(\d+)$/.exec(header ?? '');
  return match ? { start: Number(match[1]), total: Number(match[2]) } : null;
}

/** The body's size, unless it is compressed on the wire (Content-Length then counts other bytes). */
function bodySize(response: Response): number | undefined {
  const length = response.headers.get('content-length');
  const encoding = response.headers.get('content-encoding');
  return length !== null && (!encoding || encoding === 'identity') ? Number(length) : undefined;
}

/**
 * If-Range makes a cross-origin request non-simple, and the hub's CDN fails the preflight that
 * would follow, so it is only sent to the page's own origin. Elsewhere the ETag of the 206
 * response is compared with the recorded one instead, which catches the same change.
 */
function canSendIfRange(url: string, etag: string | undefined): etag is string {
  return etag !== undefined && !etag.startsWith('W/') && new URL(url, location.href).origin === location.origin;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const stop = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/** One downloadModel call: the files stored so far and the progress it reports. */
class ModelDownload {
  readonly storedFiles: StoredFile[] = [];
  private readonly progress: ProgressReporter;
  private readonly fetch: typeof fetch;
  private readonly stallTimeoutMs: number;
  private partHash?: PartHash;

  constructor(private readonly store: ModelStore, private readonly request: DownloadRequest, private readonly options: DownloadOptions) {
    this.progress = new ProgressReporter(options.onProgress);
    this.fetch = policyAwareFetch(options.fetch ?? ((input, init) => fetch(input, init)));
    this.stallTimeoutMs = options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  }

  /** Stores `url` as `name`, continuing what an earlier attempt stored, retrying dropped connections. */
  async file(name: string, url: string): Promise<void> {
    const { signal } = this.options;
    let dropsInARow = 0;
    let restarted = false;
    for (;;) {
      const state = await this.partState(name, url);
      try {
        const stored = await this.finishedEarlier(name, state) ?? await this.attempt(name, url, state);
        this.storedFiles.push(stored);
        return;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (isQuotaError(error)) throw await this.quotaError(name, url);
        if (error instanceof MustRestart) {
          if (restarted) throw new DownloadError(`the download of ${name} had to start over twice (${error.message}): press Download to try again`);
          restarted = true;
          await this.discardPart(name);
          continue;
        }
        if (!(error instanceof ConnectionLost)) throw error;
        const now = await this.partState(name, url);
        dropsInARow = now.storedBytes > state.storedBytes ? 1 : dropsInARow + 1;
        if (dropsInARow > MAX_RETRIES) throw this.gaveUp(name, url, now, error);
        await sleep(FIRST_RETRY_DELAY_MS * 2 ** (dropsInARow - 1), signal);
      }
    }
  }

  private async partState(name: string, url: string): Promise<PartState> {
    const directory = await this.store.existingDirectory(this.request.id);
    if (!directory) return { record: null, storedBytes: 0 };
    const record = asPartRecord(await readJsonFile(directory, partRecordName(name)));
    const storedBytes = await fileSize(directory, partName(name));
    if (record?.url === url) return { record, storedBytes: storedBytes ?? 0 };
    // A part from another URL, or whose record is lost, cannot be trusted to continue.
    if (storedBytes !== null) await removeFile(directory, partName(name));
    return { record: null, storedBytes: 0 };
  }

  /** The file if an earlier attempt stored all of it (it may have stopped before renaming it). */
  private async finishedEarlier(name: string, state: PartState): Promise<StoredFile | null> {
    const total = state.record?.bytesTotal;
    if (total === undefined) return null;
    const { etag, sha256: expected } = state.record!;
    const directory = await this.store.directory(this.request.id);
    // A part is given its own name only once it is checked.
    if ((await fileSize(directory, name)) === total) return { name, bytes: total, etag, sha256: expected };
    if (state.storedBytes !== total) return null;
    let sha256: string | undefined;
    if (expected !== undefined) {
      sha256 = hexDigest(await hashFileStart(await (await directory.getFileHandle(partName(name))).getFile(), total));
      await this.checkDigest(name, expected, sha256);
    }
    await this.keep(directory, name);
    return { name, bytes: total, etag, sha256 };
  }

  private async attempt(name: string, url: string, state: PartState): Promise<StoredFile> {
    const headers: Record<string, string> = {};
    const directory = await this.store.directory(this.request.id);
    if (state.storedBytes > 0) {
      headers.Range = `bytes=${state.storedBytes}-`;
      if (canSendIfRange(url, state.record?.etag)) headers['If-Range'] = state.record!.etag!;
      // Before the request rather than after: a long read from disk would leave its connection idle.
      if (state.record?.sha256 !== undefined) await this.hashOfPartStart(directory, name, state.storedBytes);
    }
    const inactivity = new InactivityTimeout(this.stallTimeoutMs, this.options.signal);
    let response: Response;
    try {
      // no-store: the file goes to OPFS; a second copy in the HTTP cache would only eat the quota.
      response = await inactivity.watch(this.fetch(url, { headers, cache: 'no-store', signal: inactivity.signal }));
    } catch (error) {
      if (error instanceof RefusedByPolicy) throw new DownloadError(error.message);
      throw new ConnectionLost(false, inactivity.stalled ?? error);
    }
    let checked: { start: number; record: PartRecord };
    try {
      checked = this.checkResponse(response, name, url, state);
      if (checked.start === 0 && checked.record.sha256 === undefined && response.redirected) {
        checked.record.sha256 = await this.lfsPointerSha256(url, checked.record.bytesTotal);
      }
    } catch (error) {
      // Closes the connection instead of leaving an unread body on it.
      await response.body?.cancel().catch(() => {});
      throw error;
    }
    const { start, record } = checked;
    if (start === 0) await writeTextFile(directory, partRecordName(name), JSON.stringify(record));
    this.progress.begin(name, record.bytesTotal ?? 0, start);
    const hash = record.sha256 === undefined ? undefined : await this.hashOfPartStart(directory, name, start);

    const writer = await PartWriter.open(await directory.getFileHandle(partName(name), { create: true }), start);
    try {
      await this.receive(response, writer, inactivity, hash);
    } catch (error) {
      // Keep what arrived, unless the disk is full: then nothing of this file is worth keeping.
      if (isQuotaError(error)) await writer.abort();
      else await writer.close();
      throw error;
    }
    await writer.close();

    const storedBytes = (await fileSize(directory, partName(name))) ?? 0;
    if (record.bytesTotal !== undefined && storedBytes !== record.bytesTotal) {
      throw new MustRestart(`the server sent ${storedBytes} of ${record.bytesTotal} bytes`);
    }
    if (record.bytesTotal === undefined) await writeTextFile(directory, partRecordName(name), JSON.stringify({ ...record, bytesTotal: storedBytes }));
    let sha256: string | undefined;
    if (hash) {
      this.partHash = undefined;
      sha256 = hexDigest(hash.hasher);
      await this.checkDigest(name, record.sha256!, sha256);
    }
    await this.keep(directory, name);
    this.progress.end(storedBytes);
    return { name, bytes: storedBytes, etag: record.etag, sha256 };
  }

  /**
   * The hash of the first `bytes` of `name`'s part: the last attempt's, if it got exactly that
   * far (its bytes are the ones on disk), else read back from disk.
   */
  private async hashOfPartStart(directory: FileSystemDirectoryHandle, name: string, bytes: number): Promise<PartHash> {
    if (this.partHash?.name === name && this.partHash.bytes === bytes) return this.partHash;
    const hasher = bytes === 0 ? newSha256() : await hashFileStart(await (await directory.getFileHandle(partName(name))).getFile(), bytes);
    this.partHash = new PartHash(name, hasher, bytes);
    return this.partHash;
  }

  /** The SHA-256 in the hub's LFS pointer for `url`, given up on (unchecked) after the stall timeout. */
  private async lfsPointerSha256(url: string, bytesTotal: number | undefined): Promise<string | undefined> {
    const { signal } = this.options;
    const timeout = AbortSignal.timeout(this.stallTimeoutMs);
    const sha256 = await sha256FromLfsPointer(url, bytesTotal, this.fetch, signal ? AbortSignal.any([signal, timeout]) : timeout);
    signal?.throwIfAborted();
    return sha256;
  }

  /** Removes the part and says so if its SHA-256 is not the one the server gave. */
  private async checkDigest(name: string, expected: string, actual: string): Promise<void> {
    if (actual === expected) return;
    await this.discardPart(name);
    throw new DownloadError(`the downloaded file ${name} is damaged: its SHA-256 is ${actual}, but the server says ${expected}; press Download to download it again`);
  }

  /** Where the response's body goes in the file, and the record of the file it comes from. */
  private checkResponse(response: Response, name: string, url: string, state: PartState): { start: number; record: PartRecord } {
    if (response.status === 416) throw new MustRestart('the server no longer has the bytes after the part already stored');
    if (!response.ok) {
      throw new DownloadError(`could not download ${name}: ${url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    }
    if ((response.headers.get('content-type') ?? '').includes('text/html')) {
      throw new DownloadError(`could not download ${name}: ${url} returned a web page, not a model file; check the address`);
    }
    const etag = response.headers.get('etag') ?? undefined;
    if (response.status !== 206) {
      // After a redirect the ETag is the CDN's, not the hub's (see file-sha256.ts).
      const sha256 = response.redirected ? undefined : sha256FromEtag(etag);
      return { start: 0, record: { url, etag, bytesTotal: bodySize(response), sha256 } };
    }

    const range = parseContentRange(response.headers.get('content-range'));
    const recorded = state.record;
    if (!range || range.start !== state.storedBytes) throw new MustRestart('the server sent another range than the one asked for');
    if (recorded?.etag !== undefined && etag !== undefined && etag !== recorded.etag) throw new MustRestart('the file changed on the server');
    if (recorded?.bytesTotal !== undefined && range.total !== recorded.bytesTotal) throw new MustRestart('the file changed size on the server');
    return { start: range.start, record: { url, etag: recorded?.etag ?? etag, bytesTotal: range.total, sha256: recorded?.sha256 } };
  }

  private async receive(response: Response, writer: PartWriter, inactivity: InactivityTimeout, hash: PartHash | undefined): Promise<void> {
    if (!response.body) return;
    const reader = response.body.getReader();
    for (;;) {
      const chunk = await inactivity.watch(reader.read()).catch((error: unknown) => {
        throw new ConnectionLost(true, inactivity.stalled ?? error);
      });
      if (chunk.done) return;
      await writer.write(chunk.value);
      hash?.update(chunk.value);
      this.progress.update(writer.bytes);
    }
  }

  /** Gives the verified part its own name. */
  private async keep(directory: FileSystemDirectoryHandle, name: string): Promise<void> {
    await removeFile(directory, name);
    // TypeScript's DOM types lack FileSystemHandle.move, which browsers have for OPFS files.
    const part = (await directory.getFileHandle(partName(name))) as FileSystemFileHandle & { move(newName: string): Promise<void> };
    await part.move(name);
  }

  private async discardPart(name: string): Promise<void> {
    const directory = await this.store.existingDirectory(this.request.id);
    if (!directory) return;
    await removeFile(directory, partName(name));
    await removeFile(directory, partRecordName(name));
  }

  private gaveUp(name: string, url: string, state: PartState, error: ConnectionLost): DownloadError {
    const total = state.record?.bytesTotal;
    if (error.cause instanceof ServerStalled) {
      const kept = state.storedBytes === 0 ? '' : ` (the ${formatBytes(state.storedBytes)}${total === undefined ? '' : ` of ${formatBytes(total)}`} stored so far is kept)`;
      return new DownloadError(`the server stopped sending data: no bytes of ${name} arrived for ${this.stallTimeoutMs / 1000} s, and retrying did not help${kept}; press Download to try again`);
    }
    if (!error.duringBody && state.storedBytes === 0) {
      return new DownloadError(`could not reach ${url} (${error.message}): check the connection and press Download to try again`);
    }
    const of = total === undefined ? '' : ` of ${formatBytes(total)}`;
    return new DownloadError(`the download of ${name} stopped at ${formatBytes(state.storedBytes)}${of} (${error.message}); press Download to resume`);
  }

  /** Frees what this file took, and says how much room the model needs. Other models are untouched. */
  private async quotaError(name: string, url: string): Promise<DownloadError> {
    const { record } = await this.partState(name, url);
    await this.discardPart(name);
    const { usageBytes, quotaBytes } = await storageInfo();
    const neededBytes = this.storedFiles.reduce((sum, file) => sum + file.bytes, record?.bytesTotal ?? 0);
    return new DownloadError(
      `there is not enough storage for ${this.request.label}: it needs ${formatBytes(neededBytes)}, and the browser lets this app ` +
        `store only ${formatBytes(Math.max(0, quotaBytes - usageBytes))} more. Delete a cached model or free disk space, then press Download again`,
    );
  }
}

/**
 * Appends to a `.part` file. Network chunks are small and every OPFS write is a round trip to the
 * browser's storage process, so chunks are gathered into larger writes. OPFS writes go to a swap
 * file that replaces the file only on close(), so a closed tab would lose everything since the
 * writer opened: it commits now and then. Each reopen copies the part into a new swap file, so
 * commits come at doubling sizes, which keeps the copying under twice the file's size.
 */
class PartWriter {
  private readonly buffer = new Uint8Array(WRITE_BYTES);
  private bufferedBytes = 0;
  private committedBytes: number;

  /** `bytes`: the part's size once what is buffered is written. */
  private constructor(private readonly handle: FileSystemFileHandle, private writable: FileSystemWritableFileStream, public bytes: number) {
    this.committedBytes = bytes;
  }

  /** A writer appending at `start`; 0 empties the file. */
  static async open(handle: FileSystemFileHandle, start: number): Promise<PartWriter> {
    const writable = await handle.createWritable({ keepExistingData: start > 0 });
    if (start > 0) await writable.seek(start);
    return new PartWriter(handle, writable, start);
  }

  async write(chunk: Uint8Array): Promise<void> {
    for (let offset = 0; offset < chunk.length;) {
      const taken = Math.min(chunk.length - offset, this.buffer.length - this.bufferedBytes);
      this.buffer.set(chunk.subarray(offset, offset + taken), this.bufferedBytes);
      this.bufferedBytes += taken;
      this.bytes += taken;
      offset += taken;
      if (this.bufferedBytes === this.buffer.length) await this.flush();
    }
  }

  /** Writes what is buffered and commits everything; if that fails, the part keeps its last commit. */
  async close(): Promise<void> {
    try {
      await this.flush();
      await this.writable.close();
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  /** Drops what was written since the last commit. */
  async abort(): Promise<void> {
    // A stream that failed is closed already; there is nothing left to drop.
    await this.writable.abort().catch(() => {});
  }

  private async flush(): Promise<void> {
    if (this.bufferedBytes === 0) return;
    await this.writable.write(this.buffer.subarray(0, this.bufferedBytes));
    this.bufferedBytes = 0;
    if (this.bytes - this.committedBytes >= Math.max(FIRST_COMMIT_BYTES, this.committedBytes)) {
      await this.writable.close();
      this.committedBytes = this.bytes;
      this.writable = await this.handle.createWritable({ keepExistingData: true });
      await this.writable.seek(this.bytes);
    }
  }
}

/** Turns bytes stored into progress events: at most one per PROGRESS_INTERVAL_MS, smoothed speed. */
class ProgressReporter {
  private file = '';
  private bytesTotal = 0;
  private resumedFrom = 0;
  private bytesPerSecond = 0;
  private sampledAt = 0;
  private sampledBytes = 0;

  constructor(private readonly onProgress?: (progress: DownloadProgress) => void) {}

  /** A response for `file` arrived; its body goes on from `resumedFrom`. */
  begin(file: string, bytesTotal: number, resumedFrom: number): void {
    Object.assign(this, { file, bytesTotal, resumedFrom, sampledAt: performance.now(), sampledBytes: resumedFrom });
    this.emit(resumedFrom);
  }

  update(bytesDone: number): void {
    const now = performance.now();
    const seconds = (now - this.sampledAt) / 1000;
    if (seconds * 1000 < PROGRESS_INTERVAL_MS) return;
    const rate = (bytesDone - this.sampledBytes) / seconds;
    const weight = this.bytesPerSecond === 0 ? 1 : 1 - Math.exp(-seconds / SPEED_SMOOTHING_SECONDS);
    this.bytesPerSecond += weight * (rate - this.bytesPerSecond);
    this.sampledAt = now;
    this.sampledBytes = bytesDone;
    this.emit(bytesDone);
  }

  end(bytesDone: number): void {
    this.emit(bytesDone);
  }

  private emit(bytesDone: number): void {
    const { file, bytesTotal, bytesPerSecond, resumedFrom } = this;
    const secondsLeft = bytesPerSecond > 0 && bytesTotal > 0 ? Math.max(0, bytesTotal - bytesDone) / bytesPerSecond : null;
    this.onProgress?.({ file, bytesDone, bytesTotal, bytesPerSecond, secondsLeft, resumedFrom });
  }
}
