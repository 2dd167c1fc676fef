// The GPT-2 checkpoints the app (and `npm run download`) offers, smallest first, and where on the hub their files are.
import type { Gpt2Config } from '../model/config.ts';
import type { DownloadRequest } from '../worker/engine-api.ts';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface CatalogEntry {
  /** Storage key of the downloaded model, and its name on the command line. */
  id: string;
  label: string;
  /** Parameter count as the legacy download script named its folders under assets/weights/. */
  sizeLabel: string;
  /** HF hub repository, "owner/name". */
  repo: string;
  config: Gpt2Config;
  /** Weights, with the LM head counted once (it is tied to the token embedding). */
  parameters: number;
  /** Size of the repository's model.safetensors, which also holds the attn.bias mask buffers. */
  downloadBytes: number;
}

/** What the model list needs of a model it offers for download. */
export type ModelChoice = Pick<CatalogEntry, 'id' | 'label' | 'downloadBytes'>;

const gpt2Shape = (nEmbd: number, nLayer: number, nHead: number): Gpt2Config => ({ vocabSize: 50257, nCtx: 1024, nEmbd, nLayer, nHead });

export const MODEL_CATALOG: readonly CatalogEntry[] = [
  { id: 'distilgpt2', label: 'DistilGPT-2 (82M)', sizeLabel: '82M', repo: 'distilbert/distilgpt2', config: gpt2Shape(768, 6, 12), parameters: 81_912_576, downloadBytes: 352_824_413 },
  { id: 'gpt2', label: 'GPT-2 (124M)', sizeLabel: '124M', repo: 'openai-community/gpt2', config: gpt2Shape(768, 12, 12), parameters: 124_439_808, downloadBytes: 548_105_171 },
  // The sizes below are about right (4 bytes per weight and mask value plus the header), not read from the hub.
  { id: 'gpt2-medium', label: 'GPT-2 Medium (355M)', sizeLabel: '355M', repo: 'openai-community/gpt2-medium', config: gpt2Shape(1024, 24, 16), parameters: 354_823_168, downloadBytes: 1_519_974_136 },
  { id: 'gpt2-large', label: 'GPT-2 Large (774M)', sizeLabel: '774M', repo: 'openai-community/gpt2-large', config: gpt2Shape(1280, 36, 20), parameters: 774_030_080, downloadBytes: 3_247_150_000 },
  { id: 'gpt2-xl', label: 'GPT-2 XL (1.5B)', sizeLabel: '1.5B', repo: 'openai-community/gpt2-xl', config: gpt2Shape(1600, 48, 25), parameters: 1_557_611_200, downloadBytes: 6_431_830_000 },
];

/** `<hub>/<repo>/resolve/main/<file>`, the hub's address for a file on a repo's main branch. */
export function hubFileUrl(hubBaseUrl: string, repo: string, file: string): string {
  return `${hubBaseUrl.replace(/\/+$/, '')}/${repo}/resolve/main/${file}`;
}

/** The request that downloads `entry` from the hub at `hubBaseUrl` (the HF hub, or a mirror of it). */
export function downloadRequestFor(entry: CatalogEntry, hubBaseUrl: string = DEFAULT_HUB_URL): DownloadRequest {
  return {
    id: entry.id,
    label: entry.label,
    configUrl: hubFileUrl(hubBaseUrl, entry.repo, 'config.json'),
    weightsUrl: hubFileUrl(hubBaseUrl, entry.repo, 'model.safetensors'),
  };
}
