// The SHA-256 a server gives for a file, and hashing a download as it arrives, so that damage on the
// way (a flipped bit, a proxy that mangles the body) is caught before a model is marked as saved.
//
// Where the hash comes from: the HF hub names an LFS file's SHA-256 in the ETag of its own answer
// (`X-Linked-Etag` beside the redirect to its CDN). A browser's fetch follows that redirect and
// shows only the CDN's headers, and for files in the hub's Xet storage the CDN's ETag is reported
// to be 64 hex digits of another hash, not the SHA-256. So a 64-hex ETag counts only when the
// server answered itself (a mirror, the test hub); after a redirect the hub's LFS pointer,
// `raw/<rev>/<file>`, is asked instead.
//
// WebCrypto's digest() is not incremental and a multi-GB file cannot be held in memory to hash it,
// hence @noble/hashes.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export type Sha256Hasher = ReturnType<typeof sha256.create>;

export const newSha256 = (): Sha256Hasher => sha256.create();

export const hexDigest = (hasher: Sha256Hasher): string => bytesToHex(hasher.digest());

/** Reading a stored part back from disk to hash it, this many bytes at a time. */
const READ_BYTES = 8 * 2 ** 20;
/** An LFS pointer is about 130 bytes; anything much larger is the file itself. */
const MAX_POINTER_BYTES = 1024;

/** The SHA-256 an ETag names, if it is one: `"<64 hex digits>"`, or weak, `W/"<64 hex digits>"`. */
export function sha256FromEtag(etag: string | undefined): string | undefined {
  return /^(?:W\/)?"([0-9a-f]{64})"$/i.exec(etag ?? '')?.[1].toLowerCase();
}

/**
 * The SHA-256 the hub's LFS pointer gives for the file at a `…/resolve/<rev>/<file>` URL, if the
 * pointer is there and is for a file of `bytesTotal` bytes (a file replaced in between is not).
 * Anything else (no such URL, no pointer, no network, `signal` aborted) gives undefined: the
 * download then goes on unchecked, as it did before there was a check, rather than failing.
 */
export async function sha256FromLfsPointer(url: string, bytesTotal: number | undefined, fetchFile: typeof fetch, signal: AbortSignal): Promise<string | undefined> {
  const pointerUrl = new URL(url, location.href);
  if (!pointerUrl.pathname.includes('/resolve/')) return undefined;
  pointerUrl.pathname = pointerUrl.pathname.replace('/resolve/', '/raw/');
  let text: string;
  try {
    const response = await fetchFile(pointerUrl.href, { signal });
    const length = Number(response.headers.get('content-length') ?? 0);
    if (!response.ok || length > MAX_POINTER_BYTES) {
      await response.body?.cancel();
      return undefined;
    }
    text = await response.text();
  } catch {
    return undefined;
  }
  const pointer = /^version https:\/\/git-lfs\.github\.com\/spec\/v1\noid sha256:([0-9a-f]{64})\nsize (\d+)\n?$/.exec(text);
  if (!pointer || (bytesTotal !== undefined && Number(pointer[2]) !== bytesTotal)) return undefined;
  return pointer[1];
}

/** A hasher fed the first `bytes` bytes of `file`, read in chunks: a part may be gigabytes. */
export async function hashFileStart(file: Blob, bytes: number): Promise<Sha256Hasher> {
  const hasher = newSha256();
  for (let offset = 0; offset < bytes; offset += READ_BYTES) {
    hasher.update(new Uint8Array(await file.slice(offset, Math.min(bytes, offset + READ_BYTES)).arrayBuffer()));
  }
  return hasher;
}
