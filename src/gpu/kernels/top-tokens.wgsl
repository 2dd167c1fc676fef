// What the app shows of the next-token distribution, summarised where it was computed: the
// TOP_TOKENS largest logits of each row with their log-probabilities, and the log-probability of a
// given target token (the pass's next token, when a prompt is scored), so a decode step reads back
// TOP_TOKENS × 8 bytes instead of the whole row. Ranked as argmax.wgsl ranks (ties to the lower
// index, NaN never wins), so ids[0] is greedy decoding's token. A NaN logit counts as probability
// 0, like −∞.
//
// step:    rows (R)
// logits:  (R, VOCAB)    targets: (R) u32, a token id per row
// summaries: (R) TopTokens out    targetLogprobs: (R) out, logits[r, targets[r]] − logSumExp(logits[r])
// One workgroup per row. TOP_TOKENS (a const) comes with the source, from the model interface.
//
// Each thread keeps the TOP_TOKENS best of its strided slice of the row, sorted, in private memory;
// then TOP_TOKENS rounds of a tie-aware argmax over the threads' best untaken candidates pick the
// row's top in order, the winning thread moving on to its next. The row's maximum is then known, and
// a second read of the row sums exp(logit − max) for the log-sum-exp.

struct Step { rows: u32, pos0: u32 }

struct TopTokens {
  ids: array<u32, TOP_TOKENS>,
  logprobs: array<f32, TOP_TOKENS>,
}

override VOCAB: u32;
const WORKGROUP_SIZE = 256u;
// The id of no token: every real candidate beats it.
const NO_TOKEN = 0xffffffffu;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> summaries: array<TopTokens>;
@group(0) @binding(4) var<storage, read_write> targetLogprobs: array<f32>;

var<workgroup> offeredKey: array<u32, WORKGROUP_SIZE>;
var<workgroup> offeredId: array<u32, WORKGROUP_SIZE>;
var<workgroup> partialSums: array<f32, WORKGROUP_SIZE>;

// A u32 that orders as the f32 does, compared as integers so that no float comparison meets a NaN
// (which compilers may assume away): −0 as +0, every NaN below −∞ (key 0), sharing it with NO_TOKEN.
fn orderKey(value: f32) -> u32 {
  let bits = bitcast<u32>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return 0u; }
  if (bits == 0x80000000u) { return 0x80000000u; }
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

// Whether candidate (key a, id i) ranks above (key b, id j).
fn beats(a: u32, i: u32, b: u32, j: u32) -> bool {
  return a > b || (a == b && i < j);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  if (row >= step.rows) { return; }
  let base = row * VOCAB;

  // This thread's best, best first, ended by a NO_TOKEN entry that is never displaced. Ids arrive
  // in increasing order, so an equal key never moves ahead of the one already there.
  var bestKey: array<u32, TOP_TOKENS + 1>;
  var bestId: array<u32, TOP_TOKENS + 1>;
  for (var i = 0u; i <= TOP_TOKENS; i++) {
    bestKey[i] = 0u;
    bestId[i] = NO_TOKEN;
  }
  for (var v = lid; v < VOCAB; v += WORKGROUP_SIZE) {
    let key = orderKey(logits[base + v]);
    if (!beats(key, v, bestKey[TOP_TOKENS - 1u], bestId[TOP_TOKENS - 1u])) { continue; }
    var slot = TOP_TOKENS - 1u;
    while (slot > 0u && beats(key, v, bestKey[slot - 1u], bestId[slot - 1u])) {
      bestKey[slot] = bestKey[slot - 1u];
      bestId[slot] = bestId[slot - 1u];
      slot--;
    }
    bestKey[slot] = key;
    bestId[slot] = v;
  }

  // Round by round, the best of what the threads offer; thread v % WORKGROUP_SIZE read token v.
  var ranked: array<u32, TOP_TOKENS>;
  var next = 0u;
  for (var rank = 0u; rank < TOP_TOKENS; rank++) {
    offeredKey[lid] = bestKey[next];
    offeredId[lid] = bestId[next];
    workgroupBarrier();
    for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
      if (lid < stride && beats(offeredKey[lid + stride], offeredId[lid + stride], offeredKey[lid], offeredId[lid])) {
        offeredKey[lid] = offeredKey[lid + stride];
        offeredId[lid] = offeredId[lid + stride];
      }
      workgroupBarrier();
    }
    let winner = offeredId[0];
    ranked[rank] = winner;
    if (winner % WORKGROUP_SIZE == lid) { next++; }
    // Every thread has read the winner before the next round's offers overwrite it.
    workgroupBarrier();
  }

  // log Σ exp(logit) = max + log Σ exp(logit − max): no exp overflows, the largest term is 1.
  let maxLogit = logits[base + ranked[0]];
  var sum = 0.0;
  for (var v = lid; v < VOCAB; v += WORKGROUP_SIZE) {
    let logit = logits[base + v];
    if (orderKey(logit) != 0u) { sum += exp(logit - maxLogit); }
  }
  partialSums[lid] = sum;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partialSums[lid] += partialSums[lid + stride]; }
    workgroupBarrier();
  }
  let logSumExp = maxLogit + log(partialSums[0]);

  if (lid < TOP_TOKENS) {
    summaries[row].ids[lid] = ranked[lid];
    summaries[row].logprobs[lid] = logits[base + ranked[lid]] - logSumExp;
  }
  if (lid == 0u) { targetLogprobs[row] = logits[base + targets[row]] - logSumExp; }
}
