// The GPT-2 checkpoints the app offers to download, and where on the hub their files are.
import type { DownloadRequest } from '../worker/engine-api.ts';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface CatalogEntry {
  /** Storage key of the downloaded model. */
  id: string;
  label: string;
  /** HF hub repository, "owner/name". */
  repo: string;
  /** Weights, with the LM head counted once (it is tied to the token embedding). */
  parameters: number;
  /** Size of the repository's model.safetensors, which also holds the attn.bias mask buffers. */
  downloadBytes: number;
}

export const MODEL_CATALOG: readonly CatalogEntry[] = [
  { id: 'distilgpt2', label: 'DistilGPT-2 (82M)', repo: 'distilbert/distilgpt2', parameters: 81_912_576, downloadBytes: 352_824_413 },
  { id: 'gpt2', label: 'GPT-2 (124M)', repo: 'openai-community/gpt2', parameters: 124_439_808, downloadBytes: 548_105_171 },
  // The sizes below are about right (4 bytes per weight and mask value plus the header), not read from the hub.
  { id: 'gpt2-medium', label: 'GPT-2 Medium (355M)', repo: 'openai-community/gpt2-medium', parameters: 354_823_168, downloadBytes: 1_519_974_136 },
  { id: 'gpt2-large', label: 'GPT-2 Large (774M)', repo: 'openai-community/gpt2-large', parameters: 774_030_080, downloadBytes: 3_247_150_000 },
  { id: 'gpt2-xl', label: 'GPT-2 XL (1.5B)', repo: 'openai-community/gpt2-xl', parameters: 1_557_611_200, downloadBytes: 6_431_830_000 },
];

/** The request that downloads `entry` from the hub at `hubBaseUrl` (the HF hub, or a mirror of it). */
export function downloadRequestFor(entry: CatalogEntry, hubBaseUrl: string = DEFAULT_HUB_URL): DownloadRequest {
  const repoUrl = `${hubBaseUrl.replace(/\/+$/, '')}/${entry.repo}/resolve/main`;
  return { id: entry.id, label: entry.label, configUrl: `${repoUrl}/config.json`, weightsUrl: `${repoUrl}/model.safetensors` };
}
