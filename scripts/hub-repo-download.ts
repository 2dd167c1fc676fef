// `npm run download -- owner/name[@revision]`: saves a hub repository's GPT-2 checkpoint as it is,
// config.json and its weights (model.safetensors, else its shards, else pytorch_model.bin; see
// src/storage/hub-repo.ts), into <out>/<owner>--<name>[@revision]/, which `npm run logits` reads.
// Every file comes from the commit the revision pointed at when the download began; source.json
// keeps it, so a run cut short and started again continues each `<file>.partial` with a Range
// request, from the same commit, even if the branch has moved on since.
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { parseHubRepoName, resolveHubModel } from '../src/storage/hub-repo.ts';
import { causeOf, fetchOk } from './fetch-ok.ts';
import { shardFileNames } from '../src/weights/load-weights.ts';
import type { DownloadRequest } from '../src/worker/engine-api.ts';

interface SourceRecord {
  request: DownloadRequest;
  /** Set once every file is complete. */
  complete: boolean;
}

const SOURCE_FILE = 'source.json';
const fileNameOf = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').pop()!);

/** Downloads the repository named `name` from the hub at `hubUrl` into a folder under `outRoot`; returns the folder. */
export async function downloadHubRepo(name: string, hubUrl: string, outRoot: string, log: (line: string) => void): Promise<string> {
  const { repo, revision } = parseHubRepoName(name);
  const label = revision === 'main' ? repo : `${repo}@${revision}`;
  const outDir = resolve(outRoot, label.replace('/', '--'));
  const sourcePath = join(outDir, SOURCE_FILE);
  const recorded = existsSync(sourcePath) ? (JSON.parse(await readFile(sourcePath, 'utf8')) as SourceRecord) : null;
  if (recorded?.complete) {
    log(`${outDir} already holds ${label} at commit ${recorded.request.source!.commit}`);
    return outDir;
  }
  const request = recorded?.request ?? (await resolveHubModel({ id: `hub:${label}`, label, hubUrl, repo, revision }));
  const commit = request.source!.commit;
  await mkdir(outDir, { recursive: true });
  await writeFile(sourcePath, JSON.stringify({ request, complete: false } satisfies SourceRecord, null, 2));
  log(`${label}: commit ${commit}${recorded ? ' (continuing the download begun earlier)' : ''}`);

  await fetchToFile(request.configUrl, join(outDir, 'config.json'), log);
  const weightsName = fileNameOf(request.weightsUrl);
  await fetchToFile(request.weightsUrl, join(outDir, weightsName), log);
  if (weightsName.endsWith('.index.json')) {
    for (const shard of shardFileNames(await readFile(join(outDir, weightsName), 'utf8'))) {
      await fetchToFile(new URL(shard, request.weightsUrl).href, join(outDir, shard), log);
    }
  }
  await writeFile(sourcePath, JSON.stringify({ request, complete: true } satisfies SourceRecord, null, 2));
  return outDir;
}

/** Saves `url` as `path`, continuing `<path>.partial` if an earlier run left one. */
async function fetchToFile(url: string, path: string, log: (line: string) => void): Promise<void> {
  if (existsSync(path)) return;
  const partial = `${path}.partial`;
  const stored = existsSync(partial) ? (await stat(partial)).size : 0;
  const response = await fetchOk(url, stored > 0 ? { headers: { Range: `bytes=${stored}-` } } : {});
  if (!response.body) throw new Error(`${url} sent no data`);
  const resumed = response.status === 206;
  try {
    // A 200 to a Range request is the whole file again: it replaces the part.
    await pipeline(Readable.fromWeb(response.body as NodeReadableStream), createWriteStream(partial, { flags: resumed ? 'a' : 'w' }));
  } catch (error) {
    const kept = (await stat(partial)).size;
    throw new Error(`the download of ${url} broke off after ${kept} bytes (${causeOf(error)}); run the command again to continue it`);
  }
  const received = (await stat(partial)).size;
  const expected = Number(response.headers.get('content-range')?.split('/')[1] ?? response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(expected) && received !== expected) {
    throw new Error(`the download of ${url} stopped at ${received} of ${expected} bytes; run the command again to continue it`);
  }
  await rename(partial, path);
  log(`${fileNameOf(url)}: ${received} bytes${resumed ? ` (continued from ${stored})` : ''}`);
}
