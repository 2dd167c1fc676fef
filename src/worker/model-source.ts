// Turns a ModelSource (URLs, or files the user picked) into what the weight loader reads: the
// format, the config bytes and one streamable file per shard. Nothing here reads weight data.
import type { ModelSource, WeightsFormat } from './engine-api.ts';
import type { WeightFile } from './load-weights.ts';
import { shardFileNames } from './load-weights.ts';

export interface ResolvedModel {
  format: WeightsFormat;
  config: { format: 'json' | 'text'; bytes: Uint8Array };
  files: WeightFile[];
}

/** A model's files could not be fetched or are not what they claim to be. */
export class ModelSourceError extends Error {
  override name = 'ModelSourceError';
}

const fileName = (url: string) => new URL(url, 'http://x/').pathname.split('/').pop() ?? url;

function formatOf(name: string): WeightsFormat {
  if (name.endsWith('.bin')) return 'legacy-bin';
  if (name.endsWith('.safetensors') || name.endsWith('.safetensors.index.json')) return 'safetensors';
  throw new ModelSourceError(
    `"${name}" is not a weight file this app reads: use a .safetensors file (with its config.json) ` +
      'or gpt2_weights.bin (with gpt2_config.txt)',
  );
}

async function fetchOk(url: string, signal?: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ModelSourceError(`could not reach ${url} (${(error as Error).message}); check the connection and try again`);
  }
  if (!response.ok) {
    throw new ModelSourceError(`${url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  if ((response.headers.get('content-type') ?? '').includes('text/html')) {
    throw new ModelSourceError(`${url} returned a web page instead of a model file; check the address`);
  }
  return response;
}

/** A weight file behind a URL: its size comes from the response, which is then streamed once. */
async function urlWeightFile(url: string, signal?: AbortSignal): Promise<WeightFile> {
  const response = await fetchOk(url, signal);
  const length = response.headers.get('content-length');
  if (length === null || !response.body) {
    throw new ModelSourceError(`${url} did not say how large the file is (no Content-Length)`);
  }
  const body = response.body;
  return { name: fileName(url), size: Number(length), stream: () => body };
}

async function resolveUrls(source: Extract<ModelSource, { kind: 'url' }>, signal?: AbortSignal): Promise<ResolvedModel> {
  const format = formatOf(fileName(source.weightsUrl));
  const config = {
    format: fileName(source.configUrl).endsWith('.json') ? ('json' as const) : ('text' as const),
    bytes: new Uint8Array(await (await fetchOk(source.configUrl, signal)).arrayBuffer()),
  };
  if (!source.weightsUrl.endsWith('.index.json')) {
    return { format, config, files: [await urlWeightFile(source.weightsUrl, signal)] };
  }
  const index = await (await fetchOk(source.weightsUrl, signal)).text();
  const files: WeightFile[] = [];
  for (const shard of shardFileNames(index)) files.push(await urlWeightFile(new URL(shard, source.weightsUrl).href, signal));
  return { format, config, files };
}

async function resolveFiles(files: File[]): Promise<ResolvedModel> {
  const byName = (name: string) => files.find((file) => file.name === name);
  const legacyWeights = files.find((file) => file.name.endsWith('.bin'));
  if (legacyWeights) {
    const config = byName('gpt2_config.txt') ?? files.find((file) => file.name.endsWith('.txt'));
    if (!config) throw new ModelSourceError(`${legacyWeights.name} needs its gpt2_config.txt: pick both files together`);
    return { format: 'legacy-bin', config: { format: 'text', bytes: new Uint8Array(await config.arrayBuffer()) }, files: [legacyWeights] };
  }
  const config = byName('config.json');
  if (!config) throw new ModelSourceError('a .safetensors model needs its config.json: pick both files together');
  const configBytes = { format: 'json' as const, bytes: new Uint8Array(await config.arrayBuffer()) };
  const index = files.find((file) => file.name.endsWith('.safetensors.index.json'));
  if (index) {
    const shards = shardFileNames(await index.text()).map((name) => {
      const shard = byName(name);
      if (!shard) throw new ModelSourceError(`shard ${name} named in ${index.name} was not picked: pick every shard file`);
      return shard;
    });
    return { format: 'safetensors', config: configBytes, files: shards };
  }
  const weights = files.filter((file) => file.name.endsWith('.safetensors'));
  if (weights.length !== 1) {
    throw new ModelSourceError(weights.length === 0
      ? 'no weight file picked: pick a .safetensors file (with config.json) or gpt2_weights.bin (with gpt2_config.txt)'
      : 'several .safetensors files picked: pick one, or a sharded checkpoint with its model.safetensors.index.json');
  }
  return { format: 'safetensors', config: configBytes, files: weights };
}

/** A 'cached' source must have been turned into its files on disk by the caller. */
export function resolveModelSource(source: Exclude<ModelSource, { kind: 'cached' }>, signal?: AbortSignal): Promise<ResolvedModel> {
  return source.kind === 'url' ? resolveUrls(source, signal) : resolveFiles(source.files);
}
