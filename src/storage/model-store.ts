// Models saved in the origin private file system (OPFS), so a model downloaded once loads with the
// network off. Each model has its own directory holding its files under their own names, and a
// manifest, model.json, written last: a directory without one is a download still in progress (or
// abandoned), never a model. Files are handed out as OPFS Files, which stream from disk.
import type { CachedModel, ConversationFormat, HubSource, StorageInfo } from '../worker/engine-api.ts';

export const MANIFEST_FILE = 'model.json';

/** One file of a saved model, as the manifest records it. */
export interface StoredFile {
  name: string;
  bytes: number;
  etag?: string;
  /** The SHA-256 (hex) the download computed and found equal to the server's; absent if the server gave none. */
  sha256?: string;
}

/** model.json: written only once every file is complete and verified. */
export interface ModelManifest {
  id: string;
  label: string;
  files: StoredFile[];
  savedAt: number;
  /** For a hub repository, the commit its files were fetched from. */
  source?: HubSource;
  conversation?: ConversationFormat;
}

/** A saved model is missing or damaged. */
export class ModelStoreError extends Error {
  override name = 'ModelStoreError';
}

// tsconfig's lib leaves out DOM.AsyncIterable, where TypeScript declares a directory's entries().
const entriesOf = (directory: FileSystemDirectoryHandle) =>
  (directory as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries();

const isNotFound = (error: unknown) => error instanceof DOMException && (error.name === 'NotFoundError' || error.name === 'TypeMismatchError');

/**
 * The directory name for a model id. Ids are free text ("gpt2", "custom:<hash>", a repo path), and
 * OPFS refuses "/", "\", "." and "..": every character outside [A-Za-z0-9_-] becomes ~XX (its
 * UTF-8 bytes in hex), which no two ids share because "~" itself is escaped.
 */
function directoryNameFor(id: string): string {
  let name = '';
  for (const byte of new TextEncoder().encode(id)) {
    const char = String.fromCharCode(byte);
    name += /[A-Za-z0-9_-]/.test(char) ? char : `~${byte.toString(16).padStart(2, '0')}`;
  }
  return name || '~';
}

/** The size of `name` in `directory`, or null if there is no such file. */
export async function fileSize(directory: FileSystemDirectoryHandle, name: string): Promise<number | null> {
  try {
    return (await (await directory.getFileHandle(name)).getFile()).size;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** Deletes `name` from `directory` if it is there. */
export async function removeFile(directory: FileSystemDirectoryHandle, name: string): Promise<void> {
  try {
    await directory.removeEntry(name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** Replaces `name` in `directory` with `text`. */
export async function writeTextFile(directory: FileSystemDirectoryHandle, name: string, text: string): Promise<void> {
  const writable = await (await directory.getFileHandle(name, { create: true })).createWritable();
  await writable.write(text);
  await writable.close();
}

/** The JSON in `name`, or null if the file is missing or is not JSON. */
export async function readJsonFile(directory: FileSystemDirectoryHandle, name: string): Promise<unknown> {
  try {
    return JSON.parse(await (await (await directory.getFileHandle(name)).getFile()).text());
  } catch (error) {
    if (isNotFound(error) || error instanceof SyntaxError) return null;
    throw error;
  }
}

function asManifest(value: unknown): ModelManifest | null {
  const manifest = value as ModelManifest | null;
  const valid = typeof manifest?.id === 'string' && typeof manifest.label === 'string' && typeof manifest.savedAt === 'number' &&
    Array.isArray(manifest.files) && manifest.files.every((file) => typeof file?.name === 'string' && typeof file.bytes === 'number');
  return valid ? manifest : null;
}

export const toCachedModel = (manifest: ModelManifest): CachedModel => ({
  id: manifest.id,
  label: manifest.label,
  bytes: manifest.files.reduce((sum, file) => sum + file.bytes, 0),
  files: manifest.files.map((file) => file.name),
  savedAt: manifest.savedAt,
  ...(manifest.source ? { source: manifest.source } : {}),
  ...(manifest.conversation ? { conversation: manifest.conversation } : {}),
});

export class ModelStore {
  /** `root` holds one directory per model and nothing else. */
  constructor(private readonly root: FileSystemDirectoryHandle) {}

  /** The store in the OPFS directory `directoryName` (tests use their own, to start empty). */
  static async open(directoryName = 'models'): Promise<ModelStore> {
    const opfs = await navigator.storage.getDirectory();
    return new ModelStore(await opfs.getDirectoryHandle(directoryName, { create: true }));
  }

  /** Every completely saved model, by label. */
  async list(): Promise<CachedModel[]> {
    const models: CachedModel[] = [];
    for await (const [, handle] of entriesOf(this.root)) {
      if (handle.kind !== 'directory') continue;
      const manifest = asManifest(await readJsonFile(handle as FileSystemDirectoryHandle, MANIFEST_FILE));
      if (manifest) models.push(toCachedModel(manifest));
    }
    return models.sort((a, b) => a.label.localeCompare(b.label));
  }

  /** The manifest of a completely saved model, or null. */
  async manifest(id: string): Promise<ModelManifest | null> {
    return (await this.saved(id))?.manifest ?? null;
  }

  /** A completely saved model's manifest and its directory (where files beside it go), or null. */
  async saved(id: string): Promise<{ manifest: ModelManifest; directory: FileSystemDirectoryHandle } | null> {
    const directory = await this.existingDirectory(id);
    const manifest = directory && asManifest(await readJsonFile(directory, MANIFEST_FILE));
    return directory && manifest ? { manifest, directory } : null;
  }

  /**
   * A saved model's files, ready for `resolveModelSource({ kind: 'files', ... })`. They are read
   * from disk as they are streamed; nothing is loaded here.
   */
  async openFiles(id: string): Promise<File[]> {
    const manifest = await this.manifest(id);
    if (!manifest) throw new ModelStoreError(`"${id}" is not saved in this browser (or its download did not finish): download it again`);
    const directory = (await this.existingDirectory(id))!;
    const files: File[] = [];
    for (const stored of manifest.files) {
      let file: File | null = null;
      try {
        file = await (await directory.getFileHandle(stored.name)).getFile();
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      if (file?.size !== stored.bytes) {
        throw new ModelStoreError(`the saved copy of ${manifest.label} is damaged (${stored.name} is missing or has the wrong size): delete it and download it again`);
      }
      files.push(file);
    }
    return files;
  }

  /** A model's directory, created if need be; the downloader writes its files there. */
  directory(id: string): Promise<FileSystemDirectoryHandle> {
    return this.root.getDirectoryHandle(directoryNameFor(id), { create: true });
  }

  /** A model's directory if anything of it is stored. */
  async existingDirectory(id: string): Promise<FileSystemDirectoryHandle | null> {
    try {
      return await this.root.getDirectoryHandle(directoryNameFor(id));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** Marks a model complete. Call only once every file in `manifest` is stored and verified. */
  async writeManifest(manifest: ModelManifest): Promise<void> {
    await writeTextFile(await this.directory(manifest.id), MANIFEST_FILE, JSON.stringify(manifest));
  }

  /** Removes a model's directory, complete or not; other models are untouched. */
  async delete(id: string): Promise<void> {
    try {
      await this.root.removeEntry(directoryNameFor(id), { recursive: true });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/** How much the app stores, how much the browser lets it store, and whether that is kept. */
export async function storageInfo(): Promise<StorageInfo> {
  const [estimate, persisted] = await Promise.all([navigator.storage.estimate(), navigator.storage.persisted()]);
  return { usageBytes: estimate.usage ?? 0, quotaBytes: estimate.quota ?? 0, persisted };
}

/**
 * Asks the browser not to evict the app's storage (a multi-GB model is the first thing it would
 * drop under storage pressure). Workers have no `persist()`, so there this only reports whether
 * the page already obtained it; the page should ask, e.g. when the first download starts.
 */
export async function requestPersistence(): Promise<boolean> {
  const storage = navigator.storage as StorageManager & { persist?: () => Promise<boolean> };
  return storage.persist ? storage.persist() : storage.persisted();
}
