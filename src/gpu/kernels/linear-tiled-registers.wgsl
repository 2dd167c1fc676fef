// Linear layer for many rows (prompt processing) on software adapters (SwiftShader): a matrix
// multiply tiled in registers, with subgroups sharing the input. linear-common.wgsl (bindings,
// shapes, epilogue) and the matrix storage type follow this source.
//
// On a CPU, invocations are the lanes of SIMD registers, every load is a gather costing about as
// much as a dozen arithmetic operations, workgroup memory is ordinary memory, and each barrier
// switches between all of a workgroup's invocations: the 64×64 workgroup-memory kernel ran at
// ~0.2 GFLOP/s there. So each thread computes an 8-row × 8-output block straight from global
// memory, the CPU's caches doing the staging. Per 8-element word of K a thread loads and splits
// its 8 weight words once for 8 rows, and the 8 input words are shared through the subgroup:
// the subgroup's lanes all work on the same rows, lane i loads rows i and 4 + i and
// subgroupBroadcast hands them to the others (needs subgroups of at least 4 lanes). Measured on
// SwiftShader against one lane loading everything for a 4×4 block: 2-3× the throughput. Rows and
// outputs are written out rather than looped over: a software adapter keeps a private array
// indexed by a loop counter in memory.
// Dispatch: (ceil(N / 512), ceil(R / 8)); a workgroup's 64 threads share 8 rows.

enable subgroups;
// Every lane runs the whole loop (rows and outputs past the end are clamped, not skipped), so
// every lane reaches each subgroupBroadcast; the analysis cannot see that through the loop.
diagnostic(off, subgroup_uniformity);

const WORKGROUP_SIZE = 64u;
const BLOCK = 8u;

/** Four rows' input words, to dot with one weight word. */
struct FourRows {
  r0: Split8,
  r1: Split8,
  r2: Split8,
  r3: Split8,
}

/** Lane i's word, for i = 0..3. */
fn shareRows(own: Split8) -> FourRows {
  return FourRows(Split8(subgroupBroadcast(own.even, 0u), subgroupBroadcast(own.odd, 0u)),
                  Split8(subgroupBroadcast(own.even, 1u), subgroupBroadcast(own.odd, 1u)),
                  Split8(subgroupBroadcast(own.even, 2u), subgroupBroadcast(own.odd, 2u)),
                  Split8(subgroupBroadcast(own.even, 3u), subgroupBroadcast(own.odd, 3u)));
}

fn dots(x: FourRows, w: Split8) -> vec4<f32> {
  return vec4<f32>(dot8(x.r0, w), dot8(x.r1, w), dot8(x.r2, w), dot8(x.r3, w));
}

fn storeBlock(block: mat4x4<f32>, row0: u32, n0: u32) {
  for (var j = 0u; j < 4u; j++) {
    for (var i = 0u; i < 4u; i++) {
      if (n0 + j < N && row0 + i < step.rows) { storeOutput(row0 + i, n0 + j, block[j][i] * DOT_SCALE); }
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let n0 = (wid.x * WORKGROUP_SIZE + lid) * BLOCK;
  let r0 = wid.y * BLOCK;
  let lastRow = step.rows - 1u;
  let ownTop = min(r0 + lane, lastRow);
  let ownBottom = min(r0 + 4u + lane, lastRow);
  // Past the last output, the last one is read again and its result not stored.
  let w0 = min(n0, N - 1u) * WORDS_PER_ROW;
  let w1 = min(n0 + 1u, N - 1u) * WORDS_PER_ROW;
  let w2 = min(n0 + 2u, N - 1u) * WORDS_PER_ROW;
  let w3 = min(n0 + 3u, N - 1u) * WORDS_PER_ROW;
  let w4 = min(n0 + 4u, N - 1u) * WORDS_PER_ROW;
  let w5 = min(n0 + 5u, N - 1u) * WORDS_PER_ROW;
  let w6 = min(n0 + 6u, N - 1u) * WORDS_PER_ROW;
  let w7 = min(n0 + 7u, N - 1u) * WORDS_PER_ROW;
  // Column j of a block holds one output for its 4 rows: rows 0-3 / 4-7 × outputs 0-3 / 4-7.
  var topLeft = mat4x4<f32>();
  var topRight = mat4x4<f32>();
  var bottomLeft = mat4x4<f32>();
  var bottomRight = mat4x4<f32>();
  for (var k = 0u; k < WORDS_PER_ROW; k++) {
    let top = shareRows(inputWord(ownTop, k));
    let bottom = shareRows(inputWord(ownBottom, k));
    var b = splitMatrixWord(weight[w0 + k]);
    topLeft[0] += dots(top, b);
    bottomLeft[0] += dots(bottom, b);
    b = splitMatrixWord(weight[w1 + k]);
    topLeft[1] += dots(top, b);
    bottomLeft[1] += dots(bottom, b);
    b = splitMatrixWord(weight[w2 + k]);
    topLeft[2] += dots(top, b);
    bottomLeft[2] += dots(bottom, b);
    b = splitMatrixWord(weight[w3 + k]);
    topLeft[3] += dots(top, b);
    bottomLeft[3] += dots(bottom, b);
    b = splitMatrixWord(weight[w4 + k]);
    topRight[0] += dots(top, b);
    bottomRight[0] += dots(bottom, b);
    b = splitMatrixWord(weight[w5 + k]);
    topRight[1] += dots(top, b);
    bottomRight[1] += dots(bottom, b);
    b = splitMatrixWord(weight[w6 + k]);
    topRight[2] += dots(top, b);
    bottomRight[2] += dots(bottom, b);
    b = splitMatrixWord(weight[w7 + k]);
    topRight[3] += dots(top, b);
    bottomRight[3] += dots(bottom, b);
  }
  storeBlock(topLeft, r0, n0);
  storeBlock(topRight, r0, n0 + 4u);
  storeBlock(bottomLeft, r0 + 4u, n0);
  storeBlock(bottomRight, r0 + 4u, n0 + 4u);
}
