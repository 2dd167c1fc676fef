// Linear layer for a few rows (decoding): matrix-vector products with no barriers, no workgroup
// memory and no subgroup operations of its own, for software adapters (SwiftShader), where
// invocations are the lanes of a CPU's SIMD registers, and for devices without subgroups.
// linear-common.wgsl (bindings, shapes, epilogue), how the input is loaded (inputQuad:
// linear-matvec-input*.wgsl) and the matrix storage type follow this source.
//
// Each thread computes 8 consecutive outputs n0..n0+7, walking their 8 weight rows together so
// that each input quad serves 8 weight quads; each weight is read once per input row. On a
// software adapter every load with a computed index is a gather, which costs about as much for
// the input as for a weight: measured on SwiftShader, summing the weights alone ran at the speed
// of the read-bandwidth reduction, and loading the input once per 6 weight quads took that to 0.80
// of it. Hence the input is shared out within quads of threads where subgroups allow (one element
// each, 1 gather in place of 4: see linear-matvec-input-broadcast.wgsl), and what limits the rows
// is registers: a quad of 4 elements per row and step, split in two f32 pairs,
// keeps 8 rows' sums, the input and the weight in flight within a CPU's 16 SIMD registers.
// Measured on SwiftShader (interleaved runs against the reduction, the median of 11-12 rounds):
// 8 rows 3-4% faster than 6, 10 rows 2% slower than 6, 12 rows 13% slower (spilling); an earlier
// round found 8 no faster than 6, on a noisier machine. 4 rows of 8-element words (8 registers for
// the input alone) were slower, and one unrolled step of two words twice as slow. The sums are
// written out (a0..a7) rather than kept in an array: a software adapter keeps a private array
// indexed by a loop counter in memory, which measured 2.5× slower. A software adapter runs each
// workgroup on one CPU thread, so it is given small workgroups (16), enough of them to share out
// over the CPU's cores. Threads past the last output compute row N - 1 and store nothing, rather
// than return, so that every thread of a quad takes part in the input's broadcasts.
// Dispatch: ceil(N / 8 / WORKGROUP_SIZE) workgroups, folded into x/y.

// A fixed length, so that its bounds checks need no division (see linear-common.wgsl).
@group(0) @binding(2) var<storage, read> weight: array<MatrixQuad, WEIGHT_ELEMENTS / 4u>;

override WORKGROUP_SIZE: u32 = 64u;
const OUTPUTS_PER_THREAD = 8u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n0 = (gid.x + gid.y * groups.x * WORKGROUP_SIZE) * OUTPUTS_PER_THREAD;
  // Past the last row, row N - 1 is read again and its sum not stored.
  let row0 = min(n0, N - 1u) * QUADS_PER_ROW;
  let row1 = min(n0 + 1u, N - 1u) * QUADS_PER_ROW;
  let row2 = min(n0 + 2u, N - 1u) * QUADS_PER_ROW;
  let row3 = min(n0 + 3u, N - 1u) * QUADS_PER_ROW;
  let row4 = min(n0 + 4u, N - 1u) * QUADS_PER_ROW;
  let row5 = min(n0 + 5u, N - 1u) * QUADS_PER_ROW;
  let row6 = min(n0 + 6u, N - 1u) * QUADS_PER_ROW;
  let row7 = min(n0 + 7u, N - 1u) * QUADS_PER_ROW;
  for (var r = 0u; r < step.rows; r++) {
    var a0 = 0.0;
    var a1 = 0.0;
    var a2 = 0.0;
    var a3 = 0.0;
    var a4 = 0.0;
    var a5 = 0.0;
    var a6 = 0.0;
    var a7 = 0.0;
    for (var k = 0u; k < QUADS_PER_ROW; k++) {
      let x = splitInputQuad(inputQuad(r * QUADS_PER_ROW + k, lid % 4u));
      a0 += dot4(x, splitMatrixQuad(weight[row0 + k]));
      a1 += dot4(x, splitMatrixQuad(weight[row1 + k]));
      a2 += dot4(x, splitMatrixQuad(weight[row2 + k]));
      a3 += dot4(x, splitMatrixQuad(weight[row3 + k]));
      a4 += dot4(x, splitMatrixQuad(weight[row4 + k]));
      a5 += dot4(x, splitMatrixQuad(weight[row5 + k]));
      a6 += dot4(x, splitMatrixQuad(weight[row6 + k]));
      a7 += dot4(x, splitMatrixQuad(weight[row7 + k]));
    }
    if (n0 < N) { storeOutput(r, n0, a0 * DOT_SCALE); }
    if (n0 + 1u < N) { storeOutput(r, n0 + 1u, a1 * DOT_SCALE); }
    if (n0 + 2u < N) { storeOutput(r, n0 + 2u, a2 * DOT_SCALE); }
    if (n0 + 3u < N) { storeOutput(r, n0 + 3u, a3 * DOT_SCALE); }
    if (n0 + 4u < N) { storeOutput(r, n0 + 4u, a4 * DOT_SCALE); }
    if (n0 + 5u < N) { storeOutput(r, n0 + 5u, a5 * DOT_SCALE); }
    if (n0 + 6u < N) { storeOutput(r, n0 + 6u, a6 * DOT_SCALE); }
    if (n0 + 7u < N) { storeOutput(r, n0 + 7u, a7 * DOT_SCALE); }
  }
}
