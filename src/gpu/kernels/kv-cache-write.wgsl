// Appends this pass's keys and values to the layer's KV cache, so later tokens attend to them
// without recomputing the prompt.
//
// step:    rows (T), pos0 (cache row of the first token)
// qkv:     (T, 3C) — Q | K | V side by side, as c_attn produces them
// kCache:  (nCtx, C) read-write    vCache: (nCtx, C) read-write
// One thread per (t, c).

struct Step { rows: u32, pos0: u32 }

override C: u32;
const WORKGROUP_SIZE = 64u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(3) var<storage, read_write> vCache: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * groups.x) * WORKGROUP_SIZE + lid;
  if (i >= step.rows * C) { return; }
  let t = i / C;
  let c = i % C;
  let cacheIndex = (step.pos0 + t) * C + c;
  kCache[cacheIndex] = qkv[t * 3u * C + C + c];
  vCache[cacheIndex] = qkv[t * 3u * C + 2u * C + c];
}
