// The five numbers that define a GPT-2 (names as in HF config.json).
export interface Gpt2Config {
  vocabSize: number; // vocab_size: 50257 for every OpenAI checkpoint
  nCtx: number; // n_positions / n_ctx / max_seq_len: the longest sequence the model can see
  nEmbd: number; // n_embd / d_model: width of the residual stream
  nLayer: number; // n_layer / n_layers: transformer blocks
  nHead: number; // n_head / n_heads: attention heads; head size is nEmbd / nHead
}

export const headSize = (config: Gpt2Config): number => config.nEmbd / config.nHead;

/** Weights in the model; the LM head is tied to the token embedding, so it counts once. */
export function parameterCount(config: Gpt2Config): number {
  const { vocabSize, nCtx, nEmbd: d, nLayer } = config;
  const perLayer = 12 * d * d + 13 * d; // c_attn, attn c_proj, c_fc, mlp c_proj with biases, two LayerNorms
  return (vocabSize + nCtx) * d + nLayer * perLayer + 2 * d;
}
