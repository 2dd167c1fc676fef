// The GPT-2 checkpoints the app (and `npm run download`) offers, smallest first, and where on the hub their files are.
import type { Gpt2Config } from '../model/config.ts';
import type { ConversationFormat, HubModelRequest } from '../worker/engine-api.ts';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface CatalogEntry {
  /** Storage key of the downloaded model, and its name on the command line. */
  id: string;
  label: string;
  /** Its folder under assets/weights/ for `npm run download`: OpenAI's checkpoints by parameter count, as the legacy script named them. */
  sizeLabel: string;
  /** HF hub repository, "owner/name". */
  repo: string;
  config: Gpt2Config;
  /** Weights, with the LM head counted once (it is tied to the token embedding). */
  parameters: number;
  /** Size of the weight file the app downloads (model.safetensors, or DialoGPT's pytorch_model.bin). */
  downloadBytes: number;
  /** How chat mode talks to it; left out, as a transcript GPT-2 continues. */
  conversation?: ConversationFormat;
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
  // Microsoft's DialoGPT: GPT-2 trained on Reddit conversations, published as pytorch_model.bin.
  // Sizes are estimates (F32 weights and the mask buffers, like GPT-2's own files), not read from the hub.
  { id: 'dialogpt-small', label: 'DialoGPT Small (124M, chat)', sizeLabel: 'DialoGPT-small', repo: 'microsoft/DialoGPT-small', config: gpt2Shape(768, 12, 12), parameters: 124_439_808, downloadBytes: 548_000_000, conversation: 'dialogpt' },
  { id: 'dialogpt-medium', label: 'DialoGPT Medium (355M, chat)', sizeLabel: 'DialoGPT-medium', repo: 'microsoft/DialoGPT-medium', config: gpt2Shape(1024, 24, 16), parameters: 354_823_168, downloadBytes: 1_520_000_000, conversation: 'dialogpt' },
  { id: 'dialogpt-large', label: 'DialoGPT Large (774M, chat)', sizeLabel: 'DialoGPT-large', repo: 'microsoft/DialoGPT-large', config: gpt2Shape(1280, 36, 20), parameters: 774_030_080, downloadBytes: 3_247_000_000, conversation: 'dialogpt' },
];

/** The hub repository behind `entry`, at the head of its main branch, from the hub at `hubUrl` (the HF hub, or a mirror of it). */
export function hubRequestFor(entry: CatalogEntry, hubUrl: string = DEFAULT_HUB_URL): HubModelRequest {
  return {
    id: entry.id,
    label: entry.label,
    hubUrl,
    repo: entry.repo,
    revision: 'main',
    ...(entry.conversation ? { conversation: entry.conversation } : {}),
  };
}
