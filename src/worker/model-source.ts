// Turns a ModelSource (URLs, or files the user picked) into what the weight loader reads: the
// format, the config bytes and one streamable file per shard. Nothing here reads weight data.
import type { ModelSource, WeightsFormat } from './engine-api.ts';
import type { WeightFile } from '../weights/load-weights.ts';
import { shardFileNames } from '../weights/load-weights.ts';
import { policyAwareFetch, RefusedByPolicy } from '../storage/policy-refusal.ts';

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

// A .bin is told apart by its config: HF's config.json comes with pytorch_model.bin, the legacy
// gpt2_config.txt with gpt2_weights.bin.
function formatOf(name: string, configName: string): WeightsFormat {
  if (name.endsWith('.bin')) return configName.endsWith('.json') ? 'pytorch-bin' : 'legacy-bin';
  if (name.endsWith('.safetensors') || name.endsWith('.safetensors.index.json')) return 'safetensors';
  throw new ModelSourceError(
    `"${name}" is not a weight file this app reads: use a .safetensors file or pytorch_model.bin (with its config.json), ` +
      'or gpt2_weights.bin (with gpt2_config.txt)',
  );
}

const fetchFile = policyAwareFetch((input, init) => fetch(input, init));

async function fetchOk(url: string, signal?: AbortSignal, headers?: Record<string, string>): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFile(url, { signal, headers });
  } catch (error) {
    if (signal?.aborted) throw error;
    if (error instanceof RefusedByPolicy) throw new ModelSourceError(error.message);
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
  const size = Number(length);
  return { name: fileName(url), size, stream: () => body, slice: (start, end) => ({ arrayBuffer: () => fetchRange(url, start, end, size, signal) }) };
}

/** Bytes [start, end) of the file at `url`, with a Range request. */
async function fetchRange(url: string, start: number, end: number, size: number, signal?: AbortSignal): Promise<ArrayBuffer> {
  if (end <= start) return new ArrayBuffer(0);
  const response = await fetchOk(url, signal, { Range: `bytes=${start}-${end - 1}` });
  const whole = response.status === 200 && start === 0 && end === size;
  if (response.status !== 206 && !whole) {
    await response.body?.cancel();
    throw new ModelSourceError(`${url} answered a request for part of the file with HTTP ${response.status}; reading a pytorch_model.bin needs a server that answers Range requests`);
  }
  const bytes = await response.arrayBuffer();
  if (bytes.byteLength !== end - start) throw new ModelSourceError(`${url} sent ${bytes.byteLength} bytes for a range of ${end - start}; check the address and try again`);
  return bytes;
}

async function resolveUrls(source: Extract<ModelSource, { kind: 'url' }>, signal?: AbortSignal): Promise<ResolvedModel> {
  const format = formatOf(fileName(source.weightsUrl), fileName(source.configUrl));
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
  const config = byName('config.json');
  const binWeights = files.find((file) => file.name.endsWith('.bin'));
  if (binWeights) {
    const legacyConfig = byName('gpt2_config.txt') ?? files.find((file) => file.name.endsWith('.txt'));
    if (legacyConfig) return { format: 'legacy-bin', config: { format: 'text', bytes: new Uint8Array(await legacyConfig.arrayBuffer()) }, files: [binWeights] };
    if (!config) {
      throw new ModelSourceError(`${binWeights.name} needs its config: pick config.json with a pytorch_model.bin, or gpt2_config.txt with a gpt2_weights.bin`);
    }
    return { format: 'pytorch-bin', config: { format: 'json', bytes: new Uint8Array(await config.arrayBuffer()) }, files: [binWeights] };
  }
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
      ? 'no weight file picked: pick a .safetensors file or pytorch_model.bin (with config.json), or gpt2_weights.bin (with gpt2_config.txt)'
      : 'several .safetensors files picked: pick one, or a sharded checkpoint with its model.safetensors.index.json');
  }
  return { format: 'safetensors', config: configBytes, files: weights };
}

/** A 'cached' source must have been turned into its files on disk by the caller. */
export function resolveModelSource(source: Exclude<ModelSource, { kind: 'cached' }>, signal?: AbortSignal): Promise<ResolvedModel> {
  return source.kind === 'url' ? resolveUrls(source, signal) : resolveFiles(source.files);
}
