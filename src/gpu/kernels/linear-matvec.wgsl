// Linear layer for a few rows (decoding): matrix-vector products with no barriers, no workgroup
// memory and no subgroup operations, for software adapters (SwiftShader), where invocations are
// the lanes of a CPU's SIMD registers, and for devices without subgroups. linear-common.wgsl
// (bindings, shapes, epilogue) and the matrix storage type follow this source.
//
// Each thread computes 4 consecutive outputs n0..n0+3, walking their 4 weight rows together so
// that each input word is loaded once per 4 weight words; each weight is read once per input row.
// The four are written out (a0..a3) rather than kept in an array: a software adapter keeps a
// private array indexed by a loop counter in memory, which measured 2.5× slower. Each is one f32,
// not a vec4 of partial sums: on SwiftShader a vec4 is four CPU registers, and 4 × 4 of them left
// too few for the rest (scalar sums measured 5-15% faster). More rows per thread read the input
// less often but were slower there (8 rows: -20%, with rows interleaved in memory too). A software
// adapter runs each workgroup on one CPU thread, so it is given small workgroups (16), enough of
// them to share out evenly over the CPU's cores even for N = 768.
// Dispatch: ceil(N / 4 / WORKGROUP_SIZE) workgroups, folded into x/y.

override WORKGROUP_SIZE: u32 = 64u;
const OUTPUTS_PER_THREAD = 4u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let n0 = (gid.x + gid.y * groups.x * WORKGROUP_SIZE) * OUTPUTS_PER_THREAD;
  if (n0 >= N) { return; }
  // Past the last row (N not a multiple of 4) row N - 1 is read again and its sum not stored.
  let row0 = n0 * WORDS_PER_ROW;
  let row1 = min(n0 + 1u, N - 1u) * WORDS_PER_ROW;
  let row2 = min(n0 + 2u, N - 1u) * WORDS_PER_ROW;
  let row3 = min(n0 + 3u, N - 1u) * WORDS_PER_ROW;
  for (var r = 0u; r < step.rows; r++) {
    var a0 = 0.0;
    var a1 = 0.0;
    var a2 = 0.0;
    var a3 = 0.0;
    for (var k = 0u; k < WORDS_PER_ROW; k++) {
      let x = inputWord(r, k);
      a0 += dot8(x, splitMatrixWord(weight[row0 + k]));
      a1 += dot8(x, splitMatrixWord(weight[row1 + k]));
      a2 += dot8(x, splitMatrixWord(weight[row2 + k]));
      a3 += dot8(x, splitMatrixWord(weight[row3 + k]));
    }
    let sums = vec4<f32>(a0, a1, a2, a3) * DOT_SCALE;
    for (var i = 0u; i < OUTPUTS_PER_THREAD; i++) {
      if (n0 + i < N) { storeOutput(r, n0 + i, sums[i]); }
    }
  }
}
