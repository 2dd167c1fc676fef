// GPT-2 state-dict names (HF and the legacy export share them) and the slot each one fills. The
// one place that knows which checkpoint tensor is which weight.
import { MODEL_WIDE_SLOTS, SLOTS_PER_LAYER } from './slots';

// Below -1, which stays the error return everywhere.
/** A tensor the model does not use: unknown names and the attention-mask buffers. */
export const NAME_SKIPPED: i32 = -2;
/** lm_head.weight: tied to wte, so only its shape is checked. */
export const NAME_TIED_HEAD: i32 = -3;
/** A layer weight for a layer index the config does not have. */
export const NAME_LAYER_OUT_OF_RANGE: i32 = -4;

const PREFIX = 'transformer.';

// Model-wide slots 0..3, by kind.
const MODEL_WIDE_NAMES = ['wte.weight', 'wpe.weight', 'ln_f.weight', 'ln_f.bias'];

// Per-layer slots in kind order (kinds 4..15), each after `h.{i}.`.
const LAYER_NAMES = [
  'ln_1.weight',
  'ln_1.bias',
  'attn.c_attn.weight',
  'attn.c_attn.bias',
  'attn.c_proj.weight',
  'attn.c_proj.bias',
  'ln_2.weight',
  'ln_2.bias',
  'mlp.c_fc.weight',
  'mlp.c_fc.bias',
  'mlp.c_proj.weight',
  'mlp.c_proj.bias',
];

/** The canonical (unprefixed) name of a slot's tensor, for messages. */
export function slotName(slot: i32): string {
  if (slot < MODEL_WIDE_SLOTS) return MODEL_WIDE_NAMES[slot];
  const layer = (slot - MODEL_WIDE_SLOTS) / SLOTS_PER_LAYER;
  return `h.${layer}.${LAYER_NAMES[(slot - MODEL_WIDE_SLOTS) % SLOTS_PER_LAYER]}`;
}

/**
 * The slot a checkpoint tensor fills, or NAME_SKIPPED / NAME_TIED_HEAD /
 * NAME_LAYER_OUT_OF_RANGE. Names may carry HF's `transformer.` prefix.
 */
export function slotForName(fullName: string, nLayer: i32): i32 {
  const name = fullName.startsWith(PREFIX) ? fullName.substring(PREFIX.length) : fullName;
  const modelWide = MODEL_WIDE_NAMES.indexOf(name);
  if (modelWide >= 0) return modelWide;
  if (name == 'lm_head.weight') return NAME_TIED_HEAD;
  if (!name.startsWith('h.')) return NAME_SKIPPED;

  const dot = name.indexOf('.', 2);
  if (dot < 0) return NAME_SKIPPED;
  const layer = parseLayerIndex(name.substring(2, dot));
  const kindOffset = LAYER_NAMES.indexOf(name.substring(dot + 1));
  // Includes h.{i}.attn.bias and h.{i}.attn.masked_bias: causal-mask buffers, not weights.
  if (layer < 0 || kindOffset < 0) return NAME_SKIPPED;
  if (layer >= nLayer) return NAME_LAYER_OUT_OF_RANGE;
  return MODEL_WIDE_SLOTS + layer * SLOTS_PER_LAYER + kindOffset;
}

// Canonical decimal ("0", "17"), else -1; "01" or "+1" is not a layer GPT-2 would write.
function parseLayerIndex(text: string): i32 {
  if (text.length == 0 || text.length > 6 || (text.length > 1 && text.charCodeAt(0) == 0x30)) return -1;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    value = value * 10 + (c - 0x30);
  }
  return value;
}
