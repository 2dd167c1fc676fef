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

/**
 * int8 weights (one scale per row) against the f32 reference on this fixture: measured 0.20-0.41
 * across the five cases, top-1 agreement 162 of 171 positions. The bounds leave room for
 * rounding differences, not for a broken kernel (a wrong scale or a dropped row moves logits by
 * several units).
 */
export const INT8_MAX_LOGIT_ERROR = 0.6;
export const INT8_MIN_TOP1_AGREEMENT = 0.9;

/**
 * q4 weights (groups of 32, wte int8) on the same fixture: measured max logit error 5.47 and top-1
 * agreement 104 of 171 positions (61%). That is what 4 bits do to its random (untrained) weights,
 * about 14× int8's rounding per weight, as int8's error above predicts; the trained demo model's
 * held-out loss is the finer check (test/unit/demo-model.test.ts).
 */
export const Q4_MAX_LOGIT_ERROR = 7.5;
export const Q4_MIN_TOP1_AGREEMENT = 0.5;
