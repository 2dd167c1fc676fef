// Causal self-attention, step 2 of 3: softmax over each query's visible scores, in place.
//
//   probs[t, head, p] = exp(scores[t, head, p] - max) / sum   for p ≤ pos0 + t
//
// step:    rows (T), pos0
// scores:  (T, H, N_CTX) read-write — scores in, probabilities out
// One thread per (t, head): three passes over at most N_CTX values (max, exp and sum,
// normalise), small beside the matrix products; subtracting the max keeps exp from overflowing.
// Dispatch: ceil(T · H / 64) workgroups, folded into x/y.

struct Step { rows: u32, pos0: u32 }

override H: u32;
override N_CTX: u32;
const WORKGROUP_SIZE = 64u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let query = (wid.x + wid.y * groups.x) * WORKGROUP_SIZE + lid; // t · H + head
  if (query >= step.rows * H) { return; }
  let visible = step.pos0 + query / H + 1u;
  let row = query * N_CTX;

  var maxScore = -3.4e38;
  for (var p = 0u; p < visible; p++) { maxScore = max(maxScore, scores[row + p]); }
  var sum = 0.0;
  for (var p = 0u; p < visible; p++) {
    let weight = exp(scores[row + p] - maxScore);
    scores[row + p] = weight;
    sum += weight;
  }
  let inverseSum = 1.0 / sum;
  for (var p = 0u; p < visible; p++) { scores[row + p] *= inverseSum; }
}
