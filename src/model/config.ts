// The five numbers that define a GPT-2 (names as in HF config.json).
export interface Gpt2Config {
  vocabSize: number; // vocab_size: 50257 for every OpenAI checkpoint
  nCtx: number; // n_positions / n_ctx / max_seq_len: the longest sequence the model can see
  nEmbd: number; // n_embd / d_model: width of the residual stream
  nLayer: number; // n_layer / n_layers: transformer blocks
  nHead: number; // n_head / n_heads: attention heads; head size is nEmbd / nHead
}

export const headSize = (config: Gpt2Config): number => config.nEmbd / config.nHead;
