// Serves files from disk the way the HuggingFace hub does: Content-Length, ETag, HEAD, and
// single-range requests (206 / 416), so tests and the headless tools exercise the same download
// code the app uses against the real hub.
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

export function serveFile(request: IncomingMessage, response: ServerResponse, path: string): void {
  let size: number;
  let mtimeMs: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new Error('not a file');
    ({ size, mtimeMs } = stat);
  } catch {
    response.statusCode = 404;
    response.end('Entry not found');
    return;
  }
  response.setHeader('Accept-Ranges', 'bytes');
  response.setHeader('ETag', `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`);
  response.setHeader('Content-Type', 'application/octet-stream');
  response.setHeader('Access-Control-Allow-Origin', '*');
  response.setHeader('Access-Control-Expose-Headers', 'Content-Length, Content-Range, ETag, Accept-Ranges');

  let start = 0;
  let end = size - 1;
  const range = request.headers.range;
  if (range) {
    const match = /^bytes=(\d*)-(\d*)$/.exec(range);
    const first = match?.[1] ? Number(match[1]) : NaN;
    const last = match?.[2] ? Number(match[2]) : size - 1;
    if (!match || Number.isNaN(first) || first >= size || last < first) {
      response.statusCode = 416;
      response.setHeader('Content-Range', `bytes */${size}`);
      response.end();
      return;
    }
    start = first;
    end = Math.min(last, size - 1);
    response.statusCode = 206;
    response.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  }
  response.setHeader('Content-Length', String(end - start + 1));
  if (request.method === 'HEAD' || size === 0) {
    response.end();
    return;
  }
  createReadStream(path, { start, end }).pipe(response);
}
