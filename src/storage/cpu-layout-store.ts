// The CPU backend's ready-made weights, kept beside a saved model's files: after the first load of
// a saved model with int8 (or q4) weights, the memory region the weights were quantized into is
// written to the model's directory, so the next load reads it back as it is, with no parsing and no
// quantization. Two files per weights format: the bytes (cpu-int8.layout), then, written last, a
// header (cpu-int8.layout.json) that names the model files it was made from, the app's layout
// version and the tensors' shapes. A layout whose header is missing, or names other files (the
// model was downloaded again) or another version, is not used; a new one replaces it.
import type { CpuLayoutDescription } from '../cpu/load-cpu-model.ts';
import { CPU_LAYOUT_VERSION, type CpuWeightsDtype } from '../cpu/cpu-weights.ts';
import { fileSize, readJsonFile, removeFile, writeTextFile, type ModelManifest, type StoredFile } from './model-store.ts';

/** Formats worth a saved layout: they cost a quantization pass. f32 and f16 are copied from the
 *  file about as fast as they would be from a saved copy, which would double their disk use. */
export const SAVED_LAYOUT_DTYPES: readonly CpuWeightsDtype[] = ['int8', 'q4'];

const dataFileName = (dtype: CpuWeightsDtype) => `cpu-${dtype}.layout`;
const headerFileName = (dtype: CpuWeightsDtype) => `cpu-${dtype}.layout.json`;

/** Written in pieces: each is copied out of the model's (maybe shared) memory before it is written. */
const WRITE_CHUNK_BYTES = 8 << 20;
/** Read in pieces, each then copied into the model's memory. */
const READ_CHUNK_BYTES = 16 << 20;

interface LayoutHeader extends CpuLayoutDescription {
  version: number;
  /** The model's files and when they were saved: another download of the model changes these. */
  madeFrom: { files: StoredFile[]; savedAt: number };
}

const madeFrom = (manifest: ModelManifest) => ({ files: manifest.files, savedAt: manifest.savedAt });

/** A saved layout found for a model: what it holds, and the file of its bytes. */
export interface SavedLayout {
  layout: CpuLayoutDescription;
  handle: FileSystemFileHandle;
}

/** The layout saved for `manifest`'s model in `dtype`, if one was made from these very files by this version of the app. */
export async function findCpuLayout(directory: FileSystemDirectoryHandle, manifest: ModelManifest, dtype: CpuWeightsDtype): Promise<SavedLayout | null> {
  if (!SAVED_LAYOUT_DTYPES.includes(dtype)) return null;
  const header = await readJsonFile(directory, headerFileName(dtype)) as LayoutHeader | null;
  if (header?.version !== CPU_LAYOUT_VERSION || header.dtype !== dtype) return null;
  if (JSON.stringify(header.madeFrom) !== JSON.stringify(madeFrom(manifest))) return null;
  if (await fileSize(directory, dataFileName(dtype)) !== header.bytes) return null;
  const { config, slots, bytes } = header;
  return { layout: { config, dtype, slots, bytes }, handle: await directory.getFileHandle(dataFileName(dtype)) };
}

// FileSystemSyncAccessHandle, which exists in dedicated workers only (tsconfig's lib is the DOM's).
interface SyncReader {
  read(into: Uint8Array, options: { at: number }): number;
  close(): void;
}
const openSyncReader = (handle: FileSystemFileHandle) =>
  (handle as unknown as { createSyncAccessHandle(): Promise<SyncReader> }).createSyncAccessHandle();

/**
 * Reads a saved layout's bytes into the model with `write`, in order, reporting how far it has
 * read. A sync access handle reads 2–3× faster than the File (in Chromium a File's bytes come
 * through the browser process); while another tab holds one on the file, the File is read instead.
 */
export async function readCpuLayout(saved: SavedLayout, write: (offset: number, bytes: Uint8Array) => void,
  onProgress?: (bytesDone: number, bytesTotal: number) => void): Promise<void> {
  const { bytes } = saved.layout;
  let reader: SyncReader | null = null;
  try {
    reader = await openSyncReader(saved.handle);
  } catch {
    // NoModificationAllowedError: locked by another tab (or not in a worker).
  }
  const file = reader ? null : await saved.handle.getFile();
  const chunk = new Uint8Array(Math.min(bytes, READ_CHUNK_BYTES));
  try {
    for (let offset = 0; offset < bytes; offset += chunk.length) {
      const end = Math.min(bytes, offset + chunk.length);
      const read = file
        ? new Uint8Array(await file.slice(offset, end).arrayBuffer())
        : chunk.subarray(0, reader!.read(chunk.subarray(0, end - offset), { at: offset }));
      if (read.length !== end - offset) throw new Error(`the saved layout ended after ${offset + read.length} of its ${bytes} bytes`);
      write(offset, read);
      onProgress?.(end, bytes);
    }
  } finally {
    reader?.close();
  }
}

/**
 * Saves a model's weights region (`read(offset, length)` gives its bytes) as the layout for
 * `manifest`'s files. The header is removed first and written last, so a save cut short leaves no
 * layout that would be used.
 */
export async function saveCpuLayout(directory: FileSystemDirectoryHandle, manifest: ModelManifest, layout: CpuLayoutDescription,
  read: (offset: number, length: number) => Uint8Array): Promise<void> {
  await removeFile(directory, headerFileName(layout.dtype));
  const writable = await (await directory.getFileHandle(dataFileName(layout.dtype), { create: true })).createWritable();
  try {
    for (let offset = 0; offset < layout.bytes; offset += WRITE_CHUNK_BYTES) {
      await writable.write(read(offset, Math.min(WRITE_CHUNK_BYTES, layout.bytes - offset)).slice());
    }
    await writable.close();
  } catch (error) {
    await writable.abort().catch(() => {});
    await removeFile(directory, dataFileName(layout.dtype));
    throw error;
  }
  const header: LayoutHeader = { version: CPU_LAYOUT_VERSION, ...layout, madeFrom: madeFrom(manifest) };
  await writeTextFile(directory, headerFileName(layout.dtype), JSON.stringify(header));
}
