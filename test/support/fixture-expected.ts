// One case of the shared tiny fixture's expected.json, computed by an independent float64
// implementation (see ../shared/fixtures/tiny-gpt2).
export interface ExpectedCase {
  tokens: number[];
  /** Full-vocabulary logits after the last token, from the F32 weights. */
  last_logits: number[];
  /** The same, from the weights rounded to f16 (what model.f16.safetensors should give). */
  last_logits_f16_weights: number[];
  all_positions_argmax: number[];
  /** Up to 12 greedy tokens; empty when the prompt fills the context. */
  greedy_continuation: number[];
}
