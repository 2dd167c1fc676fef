// The test oracle: GPT-2's forward pass (HF GPT2LMHeadModel semantics) in plain float64
// TypeScript, written to be read against the model's definition rather than to be fast. No KV
// cache: every call runs the whole sequence. Activations are one Float64Array row per position.
import { type Gpt2Config, headSize } from '../../src/model/config.ts';
import { type NamedTensor, elementCount, gpt2TensorShapes } from '../../scripts/model-files.ts';

const LAYER_NORM_EPSILON = 1e-5;

/** One row of a Conv1D linear layer: x (in) · weight (in, out) + bias (out) -> (out). */
function linear(x: Float64Array, weight: Float32Array, bias: Float32Array): Float64Array {
  const outWidth = bias.length;
  const y = Float64Array.from(bias);
  for (let i = 0; i < x.length; i++) {
    for (let j = 0; j < outWidth; j++) y[j] += x[i] * weight[i * outWidth + j];
  }
  return y;
}

/** (d) -> (d), biased variance as torch.nn.LayerNorm. */
function layerNorm(x: Float64Array, weight: Float32Array, bias: Float32Array): Float64Array {
  const mean = x.reduce((sum, value) => sum + value, 0) / x.length;
  const variance = x.reduce((sum, value) => sum + (value - mean) ** 2, 0) / x.length;
  const scale = 1 / Math.sqrt(variance + LAYER_NORM_EPSILON);
  return x.map((value, i) => (value - mean) * scale * weight[i] + bias[i]);
}

/** gelu_new, the tanh approximation GPT-2 was trained with. */
function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

function addInPlace(target: Float64Array, addend: Float64Array): void {
  for (let i = 0; i < target.length; i++) target[i] += addend[i];
}

function argmax(values: Float64Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export class ReferenceGpt2 {
  private readonly weights = new Map<string, Float32Array>();

  /** `tensors` are named as in an HF state dict, with or without the `transformer.` prefix. */
  constructor(
    readonly config: Gpt2Config,
    tensors: readonly NamedTensor[],
  ) {
    const byName = new Map(tensors.map((tensor) => [tensor.name.replace(/^transformer\./, ''), tensor]));
    for (const { name, shape } of gpt2TensorShapes(config, { prefix: '' })) {
      const tensor = byName.get(name);
      if (!tensor) throw new Error(`missing tensor ${name}`);
      if (tensor.shape.join() !== shape.join() || tensor.data.length !== elementCount(shape)) {
        throw new Error(`${name} has shape [${tensor.shape}], expected [${shape}]`);
      }
      this.weights.set(name, tensor.data);
    }
  }

  private weight(name: string): Float32Array {
    return this.weights.get(name)!;
  }

  /** Full-vocabulary logits for every position: (T) tokens -> T rows of (vocabSize). */
  logits(tokens: readonly number[]): Float64Array[] {
    return this.finalHiddenStates(tokens).map((row) => this.lmHead(row));
  }

  lastLogits(tokens: readonly number[]): Float64Array {
    return this.lmHead(this.finalHiddenStates(tokens).at(-1)!);
  }

  argmaxPerPosition(tokens: readonly number[]): number[] {
    return this.finalHiddenStates(tokens).map((row) => argmax(this.lmHead(row)));
  }

  /** `count` tokens chosen greedily after `tokens` (ties go to the lowest token id). */
  greedy(tokens: readonly number[], count: number): number[] {
    const sequence = [...tokens];
    for (let step = 0; step < count; step++) sequence.push(argmax(this.lastLogits(sequence)));
    return sequence.slice(tokens.length);
  }

  /** (T) tokens -> T rows of (d): embeddings, the blocks, then ln_f. */
  private finalHiddenStates(tokens: readonly number[]): Float64Array[] {
    const { vocabSize, nCtx, nLayer } = this.config;
    if (tokens.length === 0 || tokens.length > nCtx) throw new Error(`need 1..${nCtx} tokens, got ${tokens.length}`);
    const bad = tokens.find((token) => !Number.isInteger(token) || token < 0 || token >= vocabSize);
    if (bad !== undefined) throw new Error(`token ${bad} is outside the vocabulary of ${vocabSize}`);

    const residual = tokens.map((token, position) => {
      const tokenEmbedding = this.row('wte.weight', token);
      const positionEmbedding = this.row('wpe.weight', position);
      return tokenEmbedding.map((value, i) => value + positionEmbedding[i]);
    });
    for (let layer = 0; layer < nLayer; layer++) {
      const block = `h.${layer}.`;
      const attentionOut = this.attention(residual.map((x) => this.layerNorm(block + 'ln_1', x)), block);
      residual.forEach((x, t) => addInPlace(x, attentionOut[t]));
      residual.forEach((x) => addInPlace(x, this.mlp(this.layerNorm(block + 'ln_2', x), block)));
    }
    return residual.map((x) => this.layerNorm('ln_f', x));
  }

  /** Causal multi-head self-attention: T rows of (d) -> T rows of (d). */
  private attention(rows: Float64Array[], block: string): Float64Array[] {
    const d = this.config.nEmbd;
    const hd = headSize(this.config);
    const qkv = rows.map((x) => this.linear(block + 'attn.c_attn', x)); // T rows of (3d): Q | K | V
    const mixed = rows.map(() => new Float64Array(d));
    for (let head = 0; head < this.config.nHead; head++) {
      const q = head * hd;
      const k = d + head * hd;
      const v = 2 * d + head * hd;
      for (let t = 0; t < rows.length; t++) {
        // Position t attends to positions 0..t only.
        const scores = new Float64Array(t + 1);
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += qkv[t][q + i] * qkv[s][k + i];
          scores[s] = dot / Math.sqrt(hd);
        }
        const maxScore = Math.max(...scores);
        const weights = scores.map((score) => Math.exp(score - maxScore));
        const total = weights.reduce((sum, weight) => sum + weight, 0);
        for (let s = 0; s <= t; s++) {
          for (let i = 0; i < hd; i++) mixed[t][q + i] += (weights[s] / total) * qkv[s][v + i];
        }
      }
    }
    return mixed.map((y) => this.linear(block + 'attn.c_proj', y));
  }

  /** (d) -> (4d) -> gelu -> (d). */
  private mlp(x: Float64Array, block: string): Float64Array {
    const hidden = this.linear(block + 'mlp.c_fc', x).map(gelu);
    return this.linear(block + 'mlp.c_proj', hidden);
  }

  /** Tied LM head: (d) -> (vocabSize), logits[v] = h · wte[v]. */
  private lmHead(h: Float64Array): Float64Array {
    const { vocabSize, nEmbd } = this.config;
    const wte = this.weight('wte.weight');
    const logits = new Float64Array(vocabSize);
    for (let token = 0; token < vocabSize; token++) {
      let dot = 0;
      for (let i = 0; i < nEmbd; i++) dot += h[i] * wte[token * nEmbd + i];
      logits[token] = dot;
    }
    return logits;
  }

  private row(name: string, index: number): Float64Array {
    const width = this.config.nEmbd;
    return Float64Array.from(this.weight(name).subarray(index * width, (index + 1) * width));
  }

  private linear(layer: string, x: Float64Array): Float64Array {
    return linear(x, this.weight(layer + '.weight'), this.weight(layer + '.bias'));
  }

  private layerNorm(layer: string, x: Float64Array): Float64Array {
    return layerNorm(x, this.weight(layer + '.weight'), this.weight(layer + '.bias'));
  }
}
