// Linear layer for a few rows (decoding) on GPUs with subgroups: matrix-vector products whose
// weight reads are coalesced. linear-common.wgsl (bindings, shapes, epilogue) and the matrix
// storage type follow this source.
//
// A subgroup computes 4 consecutive outputs n0..n0+3: its S lanes take interleaved words of the
// rows (lane l reads words l, l + S, ...), so each step reads S consecutive 16-byte words of each
// of the 4 weight rows, and each input word is loaded once for 4 weight words. subgroupAdd then
// totals each output across the lanes. A workgroup covers BLOCKS_PER_WORKGROUP such blocks of 4,
// which its subgroups take in turn, so the dispatch does not depend on the subgroup size (set
// BLOCKS_PER_WORKGROUP to the number of subgroups a workgroup holds). Subgroups are taken to be
// consecutive invocations, as on every implementation.
// Dispatch: ceil(N / (4 · BLOCKS_PER_WORKGROUP)) workgroups, folded into x/y.

enable subgroups;
// Every lane of a subgroup takes part in the same blocks and reaches each subgroupAdd; the
// analysis cannot see that through the lane-strided loop.
diagnostic(off, subgroup_uniformity);

@group(0) @binding(2) var<storage, read> weight: array<MatrixWord>;

const WORKGROUP_SIZE = 64u;
const OUTPUTS_PER_BLOCK = 4u;
override BLOCKS_PER_WORKGROUP: u32 = 2u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32) {
  let workgroup = wid.x + wid.y * groups.x;
  for (var block = lid / subgroupSize; block < BLOCKS_PER_WORKGROUP; block += WORKGROUP_SIZE / subgroupSize) {
    let n0 = (workgroup * BLOCKS_PER_WORKGROUP + block) * OUTPUTS_PER_BLOCK;
    if (n0 >= N) { return; }
    // Past the last row (N not a multiple of 4) row N - 1 is read again and its sum not stored.
    let row0 = n0 * WORDS_PER_ROW;
    let row1 = min(n0 + 1u, N - 1u) * WORDS_PER_ROW;
    let row2 = min(n0 + 2u, N - 1u) * WORDS_PER_ROW;
    let row3 = min(n0 + 3u, N - 1u) * WORDS_PER_ROW;
    for (var r = 0u; r < step.rows; r++) {
      var a0 = vec4<f32>();
      var a1 = vec4<f32>();
      var a2 = vec4<f32>();
      var a3 = vec4<f32>();
      for (var k = lane; k < WORDS_PER_ROW; k += subgroupSize) {
        let x = inputWord(r, k);
        a0 += wordProducts(x, weight[row0 + k]);
        a1 += wordProducts(x, weight[row1 + k]);
        a2 += wordProducts(x, weight[row2 + k]);
        a3 += wordProducts(x, weight[row3 + k]);
      }
      let sums = subgroupAdd(vec4<f32>(total(a0), total(a1), total(a2), total(a3))) * DOT_SCALE;
      if (lane == 0u) {
        for (var i = 0u; i < OUTPUTS_PER_BLOCK; i++) {
          if (n0 + i < N) { storeOutput(r, n0 + i, sums[i]); }
        }
      }
    }
  }
}
