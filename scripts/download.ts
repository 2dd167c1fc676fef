// npm run download -- [gpt2 | gpt2-medium | gpt2-large | gpt2-xl | distilgpt2] [--hub <url>] [--out <dir>]
// npm run download -- --from <path/to/model.safetensors> [--out <dir>]
// npm run download -- owner/name[@revision] [--hub <url>] [--out <dir>]
//
// A hub repository named owner/name (or a DialoGPT from the catalog) is saved as it is (config.json
// and its weights), pinned to a commit: see hub-repo-download.ts. The rest is about the other forms.
//
// Makes the legacy weight files from a HuggingFace GPT-2 checkpoint, as the old Python download
// script did, without Python: <out>/<size>/ receives
//   gpt2_weights.bin         u32 count, then per tensor u32 name_len, name, u32 ndims, u32 dims[ndims],
//                            f32 data (little-endian), tensors named and ordered as in the HF
//                            GPT2LMHeadModel state dict (transformer.wte.weight first)
//   gpt2_config.txt          vocab_size, max_seq_len, d_model, n_layers, n_heads as key=value lines
//   gpt2_weight_mapping.txt  one line per tensor, in file order: `<checkpoint name> -> <legacy name> [<dims>]`,
//                            e.g. `h.0.attn.c_attn.weight -> transformer.h.0.attn.c_attn.weight [768, 2304]`
// <out> defaults to assets/weights; <size> is 124M, 355M, 774M, 1.5B or 82M (distilgpt2), and for
// --from the matching one of those or the model's parameter count (e.g. 3.3M).
//
// The checkpoint (model.safetensors, F32, F16 or BF16) comes from <hub>/<repo>/resolve/main/, the
// hub being https://huggingface.co unless --hub or GPT2_HUB_URL names another, or with --from from
// a local file with its config.json beside it. It streams straight into gpt2_weights.bin (up to
// 6.2 GB: never held in memory) through a .partial file that is renamed only when complete.
// The attention-mask buffers and lm_head.weight (tied to wte) are left out.
import { createReadStream, rmSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Gpt2Config } from '../src/model/config.ts';
import { gpt2ConfigFromJson } from './hf-config.ts';
import { DEFAULT_HUB_URL, MODEL_CATALOG } from '../src/models/catalog.ts';
import { hubFileUrl } from '../src/storage/hub-repo.ts';
import { causeOf, fetchOk } from './fetch-ok.ts';
import { downloadHubRepo } from './hub-repo-download.ts';
import { sizeLabelFor } from './hub-models.ts';
import { weightMappingText } from './legacy-weights-plan.ts';
import { legacyConfigText } from './model-files.ts';
import { SafetensorsStream } from './safetensors-stream.ts';
import { writeLegacyWeights } from './safetensors-to-legacy.ts';

const USAGE =
  'usage: npm run download -- [gpt2 | gpt2-medium | gpt2-large | gpt2-xl | distilgpt2] [--hub <url>] [--out <dir>]\n' +
  '       npm run download -- --from <path/to/model.safetensors> [--out <dir>]\n' +
  '       npm run download -- owner/name[@revision] [--hub <url>] [--out <dir>]   (a hub repository, saved as it is)\n';

/** A checkpoint ready to stream: its config, and its bytes from the first. */
interface Checkpoint {
  sourceName: string; // its URL or path, for messages
  config: Gpt2Config;
  sizeLabel: string;
  byteLength: number | undefined;
  chunks: AsyncIterable<Uint8Array>;
}

/** The response body, with a connection that breaks mid-file reported as such. */
async function* bodyChunks(body: ReadableStream<Uint8Array>, url: string): AsyncGenerator<Uint8Array> {
  let received = 0;
  try {
    // Node's ReadableStream is async iterable (stopping early cancels it); the DOM typings do not say so.
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.length;
      yield chunk;
    }
  } catch (error) {
    throw new Error(`the download of ${url} broke off after ${received} bytes (${causeOf(error)}); run the command again`);
  }
}

async function hubCheckpoint(modelName: string, hubUrl: string): Promise<Checkpoint> {
  const model = MODEL_CATALOG.find((entry) => entry.id === modelName);
  if (!model) throw new Error(`unknown model "${modelName}"; choose one of ${MODEL_CATALOG.map((entry) => entry.id).join(', ')}`);
  const configUrl = hubFileUrl(hubUrl, model.repo, 'config.json');
  const config = gpt2ConfigFromJson(await (await fetchOk(configUrl)).text(), configUrl);
  const weightsUrl = hubFileUrl(hubUrl, model.repo, 'model.safetensors');
  const response = await fetchOk(weightsUrl);
  if (!response.body) throw new Error(`${weightsUrl} sent no data`);
  const length = response.headers.get('content-length');
  return {
    sourceName: weightsUrl,
    config,
    sizeLabel: model.sizeLabel,
    byteLength: length === null ? undefined : Number(length),
    chunks: bodyChunks(response.body, weightsUrl),
  };
}

async function localCheckpoint(path: string): Promise<Checkpoint> {
  const stats = await stat(path).catch(() => undefined);
  if (!stats?.isFile()) throw new Error(`${path} is not a file; --from takes the path of a model.safetensors`);
  const configPath = join(dirname(path), 'config.json');
  const configText = await readFile(configPath, 'utf8').catch(() => {
    throw new Error(`${basename(path)} needs its config.json beside it, and ${configPath} does not exist`);
  });
  const config = gpt2ConfigFromJson(configText, configPath);
  return {
    sourceName: path,
    config,
    sizeLabel: sizeLabelFor(config),
    byteLength: stats.size,
    chunks: createReadStream(path, { highWaterMark: 1 << 20 }),
  };
}

/** Passes chunks through, showing how far along they are when a person is watching the terminal. */
async function* withProgress(chunks: AsyncIterable<Uint8Array>, label: string, byteLength: number | undefined): AsyncGenerator<Uint8Array> {
  const megabytes = (bytes: number) => (bytes / 1e6).toFixed(0);
  const total = byteLength === undefined ? '' : ` / ${megabytes(byteLength)}`;
  let bytesSoFar = 0;
  let shownAt = 0;
  for await (const chunk of chunks) {
    bytesSoFar += chunk.length;
    if (process.stderr.isTTY && bytesSoFar - shownAt >= 10e6) {
      process.stderr.write(`\r${label}: ${megabytes(bytesSoFar)}${total} MB`);
      shownAt = bytesSoFar;
    }
    yield chunk;
  }
  if (process.stderr.isTTY && shownAt > 0) process.stderr.write('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      hub: { type: 'string' },
      out: { type: 'string', default: 'assets/weights' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (positionals.length > 1) throw new Error(`give one model name, not ${positionals.length} (${positionals.join(' ')})`);
  if (values.from !== undefined && positionals.length > 0) throw new Error('give a model name or --from <file>, not both');

  const hubUrl = values.hub ?? process.env.GPT2_HUB_URL ?? DEFAULT_HUB_URL;
  // DialoGPT comes as pytorch_model.bin, which the legacy converter below does not read: it is saved as it is.
  const repoName = positionals[0]?.includes('/') ? positionals[0] : MODEL_CATALOG.find((entry) => entry.id === positionals[0] && entry.conversation)?.repo;
  if (repoName) {
    const outDir = await downloadHubRepo(repoName, hubUrl, values.out, (line) => process.stdout.write(`${line}\n`));
    process.stdout.write(`wrote ${outDir}\n`);
    return;
  }
  const checkpoint =
    values.from !== undefined
      ? await localCheckpoint(values.from)
      : await hubCheckpoint(positionals[0] ?? 'gpt2', hubUrl);
  const label = values.from !== undefined ? 'reading' : 'downloading';
  const safetensors = await SafetensorsStream.open(withProgress(checkpoint.chunks, label, checkpoint.byteLength), checkpoint.sourceName);

  const outDir = resolve(values.out, checkpoint.sizeLabel);
  await mkdir(outDir, { recursive: true });
  const weightsPath = join(outDir, 'gpt2_weights.bin');
  const partialPath = `${weightsPath}.partial`;
  // Ctrl-C during a multi-gigabyte download should not leave a file that size behind.
  const removePartial = () => {
    rmSync(partialPath, { force: true });
    process.exit(130);
  };
  process.once('SIGINT', removePartial);
  try {
    const plan = await writeLegacyWeights(safetensors, checkpoint.config, partialPath, checkpoint.sourceName);
    await writeFile(join(outDir, 'gpt2_config.txt'), legacyConfigText(checkpoint.config));
    await writeFile(join(outDir, 'gpt2_weight_mapping.txt'), weightMappingText(plan));
    await rename(partialPath, weightsPath);
    const megabytes = (plan.fileBytes / 1e6).toFixed(1);
    process.stdout.write(`wrote ${outDir}: gpt2_weights.bin (${plan.records.length} tensors, ${megabytes} MB), gpt2_config.txt, gpt2_weight_mapping.txt\n`);
  } catch (error) {
    await rm(partialPath, { force: true });
    throw error;
  } finally {
    process.off('SIGINT', removePartial);
  }
}

main().catch((error: Error) => {
  process.stderr.write(`error: ${error.message}\n`);
  process.exitCode = 1;
});
