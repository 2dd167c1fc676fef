// Decides what goes where when a safetensors checkpoint becomes gpt2_weights.bin: which checkpoint
// tensor is which GPT-2 weight, the legacy file's order and names (the HF GPT2LMHeadModel state
// dict's, `transformer.` prefix included, as the legacy Python exporter wrote them), and each
// record's byte offset. The header's shapes fix every offset before any data arrives, so tensors
// can be written where they belong in whatever order the checkpoint stores them (HF files store
// them alphabetically: h.0, h.1, h.10, ..., wte last).
import type { Gpt2Config } from '../src/model/config.ts';
import { elementCount, gpt2TensorShapes, legacyBinRecord } from './model-files.ts';
import type { SafetensorsTensor } from './safetensors-stream.ts';

export interface LegacyRecord {
  source: SafetensorsTensor; // the checkpoint tensor it is made from
  legacyName: string;
  shape: number[];
  header: Uint8Array; // u32 name_len, name, u32 ndims, u32 dims[ndims]
  headerOffset: number; // file offset of the record
  dataOffset: number; // file offset of its f32 data, right after the header
}

export interface LegacyPlan {
  records: LegacyRecord[]; // in file order
  fileBytes: number;
}

const PREFIX = 'transformer.';
export const CONVERTIBLE_DTYPES = ['F32', 'F16', 'BF16'];

// Causal-mask buffers in older checkpoints, and the LM head, which GPT-2 ties to wte: not weights of their own.
const NOT_WEIGHTS = /^(h\.\d+\.attn\.(bias|masked_bias)|lm_head\.weight)$/;
// Anything under these names must be a weight this config has; other names (a classifier head) are not GPT-2's.
const GPT2_NAMESPACE = /^(wte|wpe|ln_f|h)\./;

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Maps the checkpoint's tensors onto the legacy file; throws if one is missing, extra or misshapen. */
export function planLegacyWeights(tensors: readonly SafetensorsTensor[], config: Gpt2Config, sourceName: string): LegacyPlan {
  const byBareName = new Map<string, SafetensorsTensor>();
  for (const tensor of tensors) {
    const bareName = tensor.name.startsWith(PREFIX) ? tensor.name.slice(PREFIX.length) : tensor.name;
    if (NOT_WEIGHTS.test(bareName) || !GPT2_NAMESPACE.test(bareName)) continue;
    const earlier = byBareName.get(bareName);
    if (earlier) throw new Error(`${sourceName} holds ${bareName} twice (as ${earlier.name} and ${tensor.name})`);
    byBareName.set(bareName, tensor);
  }

  const records: LegacyRecord[] = [];
  let offset = 4; // after the u32 tensor count
  for (const { name: bareName, shape } of gpt2TensorShapes(config, { prefix: '' })) {
    const source = byBareName.get(bareName);
    if (!source) throw new Error(`${sourceName} has no ${bareName}, which a GPT-2 with n_layer ${config.nLayer} needs`);
    byBareName.delete(bareName);
    if (shapeText(source.shape) !== shapeText(shape)) {
      throw new Error(`${sourceName}: ${source.name} has shape ${shapeText(source.shape)}, but config.json makes it ${shapeText(shape)}`);
    }
    if (!CONVERTIBLE_DTYPES.includes(source.dtype)) {
      throw new Error(`${sourceName}: ${source.name} is ${source.dtype}; only ${CONVERTIBLE_DTYPES.join(', ')} weights can be converted`);
    }
    const legacyName = PREFIX + bareName;
    // A record with no data is exactly the record's header.
    const header = legacyBinRecord({ name: legacyName, shape, data: new Float32Array(0) });
    records.push({ source, legacyName, shape, header, headerOffset: offset, dataOffset: offset + header.length });
    offset += header.length + 4 * elementCount(shape);
  }
  const [leftover] = byBareName.values();
  if (leftover) throw new Error(`${sourceName} holds ${leftover.name}, which a GPT-2 with n_layer ${config.nLayer} does not have`);
  return { records, fileBytes: offset };
}

/**
 * gpt2_weight_mapping.txt: one line per tensor of gpt2_weights.bin, in file order,
 * `<checkpoint name> -> <legacy name> [<dims>]`, e.g. `h.0.attn.c_attn.weight -> transformer.h.0.attn.c_attn.weight [768, 2304]`.
 */
export function weightMappingText(plan: LegacyPlan): string {
  return plan.records.map((record) => `${record.source.name} -> ${record.legacyName} ${shapeText(record.shape)}\n`).join('');
}
