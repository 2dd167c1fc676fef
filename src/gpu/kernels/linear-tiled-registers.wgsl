// Linear layer for many rows (prompt processing) on software adapters (SwiftShader): a matrix
// multiply tiled in registers, with quads of lanes sharing the input. linear-common.wgsl (bindings,
// shapes, epilogue) and the matrix storage type follow this source.
//
// On a CPU, invocations are the lanes of SIMD registers, every load is a gather costing about as
// much as a dozen arithmetic operations, workgroup memory is ordinary memory, and each barrier
// switches between all of a workgroup's invocations: the 64×64 workgroup-memory kernel ran at ~0.2
// GFLOP/s there. So each thread computes a block of rows × 16 outputs straight from global memory,
// the CPU's caches doing the staging, and the fewer gathers per multiply-add the faster: per
// 8-element word of K a thread loads and splits its 16 weight words once for all its rows, and the
// rows' input words are shared within each quad of 4 lanes: all of a workgroup's lanes work on the
// same rows, lane i of a quad loads rows i, 4 + i, ... of the block and quad swaps hand them to the
// other three, so lane i holds the rows in its own order (lane i ^ j's in slot j, sorted out when
// the sums are stored). Measured on SwiftShader, whose subgroups are one quad: quadBroadcast 5-10%
// faster than subgroupBroadcast, and the swaps 1.05-1.10× the throughput of quadBroadcast over a
// 128-token prompt's linear layers; every WebGPU subgroup size is a multiple of 4 lanes. The rows
// come in bands of 4: ROW_BANDS = 2 (8 rows) for short prompts, 8 (32 rows) for long ones, which
// read each weight once per 32 rows (measured on SwiftShader: 1.3-1.7× the throughput of 8 rows at
// 128 rows). The 32-row pipeline computes OUTPUTS = 16 outputs per thread: each input word loaded
// serves twice the multiply-adds of 8, where the input's loads and broadcasts were a third of the
// time (measured on SwiftShader over a 128-token prompt's linear layers: 1.095× the throughput of 8
// outputs; 12 outputs 1.085×, but 12 divides no power of 2; 24 and 32 no faster than 8 on some
// shapes). The 8-row one keeps 8: there 16 measured 0.95-1.05×, and took 3× as long to compile,
// which it does at load. Workgroups of 256 outputs (16 or 32 threads) divide the widths of GPT-2 up
// to Large evenly (768 = 3 × 256, 1024, 1280): with 512, a third of the N = 768 kernels' threads
// would compute outputs past the end (such waste measured 1.25-1.35× slower there). Rows, bands and
// outputs are written out rather than looped over: a software adapter keeps a private array indexed
// by a loop counter in memory.
// Dispatch: (ceil(N / 256), ceil(R / (4 · ROW_BANDS))); a workgroup's threads share its rows.

enable subgroups;
// Every lane runs the whole loop (rows and outputs past the end are clamped, not skipped), so
// every lane reaches each quad swap; the analysis cannot see that through the loop.
diagnostic(off, subgroup_uniformity);

@group(0) @binding(2) var<storage, read> weight: array<MatrixWord>;

override ROW_BANDS: u32 = 2u; // 2 or 8
override OUTPUTS: u32 = 16u; // 8 or 16
// 256 outputs per workgroup, whichever OUTPUTS.
override WORKGROUP_SIZE: u32 = 256u / OUTPUTS;

/** Four rows' input words, to dot with one weight word. */
struct FourRows {
  r0: Split8,
  r1: Split8,
  r2: Split8,
  r3: Split8,
}

/** One word of K of every band's rows (bands past ROW_BANDS stay unread). */
struct Bands {
  b0: FourRows, b1: FourRows, b2: FourRows, b3: FourRows,
  b4: FourRows, b5: FourRows, b6: FourRows, b7: FourRows,
}

/** A thread's sums for one output: band b's 4 rows in b<b>. */
struct OutputSums {
  b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>,
  b4: vec4<f32>, b5: vec4<f32>, b6: vec4<f32>, b7: vec4<f32>,
}

/** The word of each of the quad's lanes: in r<j>, lane lane ^ j's (the lane's own in r0). */
fn shareRows(own: Split8) -> FourRows {
  return FourRows(own,
                  Split8(quadSwapX(own.even), quadSwapX(own.odd)),
                  Split8(quadSwapY(own.even), quadSwapY(own.odd)),
                  Split8(quadSwapDiagonal(own.even), quadSwapDiagonal(own.odd)));
}

fn dots(x: FourRows, w: Split8) -> vec4<f32> {
  return vec4<f32>(dot8(x.r0, w), dot8(x.r1, w), dot8(x.r2, w), dot8(x.r3, w));
}

/** Adds one output's weight word times every band's rows to that output's sums. Taking each
 *  weight word against all the rows in turn, rather than each band against all the weights,
 *  measured 7-13% faster on SwiftShader. */
fn addWeightWord(sums: ptr<function, OutputSums>, x: Bands, w: Split8) {
  (*sums).b0 += dots(x.b0, w);
  (*sums).b1 += dots(x.b1, w);
  if (ROW_BANDS == 8u) {
    (*sums).b2 += dots(x.b2, w);
    (*sums).b3 += dots(x.b3, w);
    (*sums).b4 += dots(x.b4, w);
    (*sums).b5 += dots(x.b5, w);
    (*sums).b6 += dots(x.b6, w);
    (*sums).b7 += dots(x.b7, w);
  }
}

/** Stores a band's sums for output n: sums[j] is row row0 + (lane ^ j), as shareRows hands them out. */
fn storeRows(rows: vec4<f32>, row0: u32, n: u32, lane: u32) {
  for (var j = 0u; j < 4u; j++) {
    let row = row0 + (lane ^ j);
    if (row < step.rows && n < N) { storeOutput(row, n, rows[j] * DOT_SCALE); }
  }
}

fn storeOutputSums(sums: OutputSums, r0: u32, n: u32, lane: u32) {
  storeRows(sums.b0, r0, n, lane);
  storeRows(sums.b1, r0 + 4u, n, lane);
  if (ROW_BANDS == 8u) {
    storeRows(sums.b2, r0 + 8u, n, lane);
    storeRows(sums.b3, r0 + 12u, n, lane);
    storeRows(sums.b4, r0 + 16u, n, lane);
    storeRows(sums.b5, r0 + 20u, n, lane);
    storeRows(sums.b6, r0 + 24u, n, lane);
    storeRows(sums.b7, r0 + 28u, n, lane);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) subgroupLane: u32) {
  let lane = subgroupLane % 4u; // within its quad
  let n0 = (wid.x * WORKGROUP_SIZE + lid) * OUTPUTS;
  let r0 = wid.y * 4u * ROW_BANDS;
  // Past the last output, the last one is read again and its result not stored.
  let w0 = min(n0, N - 1u) * WORDS_PER_ROW;
  let w1 = min(n0 + 1u, N - 1u) * WORDS_PER_ROW;
  let w2 = min(n0 + 2u, N - 1u) * WORDS_PER_ROW;
  let w3 = min(n0 + 3u, N - 1u) * WORDS_PER_ROW;
  let w4 = min(n0 + 4u, N - 1u) * WORDS_PER_ROW;
  let w5 = min(n0 + 5u, N - 1u) * WORDS_PER_ROW;
  let w6 = min(n0 + 6u, N - 1u) * WORDS_PER_ROW;
  let w7 = min(n0 + 7u, N - 1u) * WORDS_PER_ROW;
  let w8 = min(n0 + 8u, N - 1u) * WORDS_PER_ROW;
  let w9 = min(n0 + 9u, N - 1u) * WORDS_PER_ROW;
  let w10 = min(n0 + 10u, N - 1u) * WORDS_PER_ROW;
  let w11 = min(n0 + 11u, N - 1u) * WORDS_PER_ROW;
  let w12 = min(n0 + 12u, N - 1u) * WORDS_PER_ROW;
  let w13 = min(n0 + 13u, N - 1u) * WORDS_PER_ROW;
  let w14 = min(n0 + 14u, N - 1u) * WORDS_PER_ROW;
  let w15 = min(n0 + 15u, N - 1u) * WORDS_PER_ROW;
  // Lane i of a quad loads row 4b + i of each band b (past the last row, the last row again).
  let lastRow = step.rows - 1u;
  let own0 = min(r0 + lane, lastRow);
  let own1 = min(r0 + 4u + lane, lastRow);
  let own2 = min(r0 + 8u + lane, lastRow);
  let own3 = min(r0 + 12u + lane, lastRow);
  let own4 = min(r0 + 16u + lane, lastRow);
  let own5 = min(r0 + 20u + lane, lastRow);
  let own6 = min(r0 + 24u + lane, lastRow);
  let own7 = min(r0 + 28u + lane, lastRow);
  var sums0 = OutputSums();
  var sums1 = OutputSums();
  var sums2 = OutputSums();
  var sums3 = OutputSums();
  var sums4 = OutputSums();
  var sums5 = OutputSums();
  var sums6 = OutputSums();
  var sums7 = OutputSums();
  var sums8 = OutputSums();
  var sums9 = OutputSums();
  var sums10 = OutputSums();
  var sums11 = OutputSums();
  var sums12 = OutputSums();
  var sums13 = OutputSums();
  var sums14 = OutputSums();
  var sums15 = OutputSums();
  for (var k = 0u; k < WORDS_PER_ROW; k++) {
    var x = Bands();
    x.b0 = shareRows(inputWord(own0, k));
    x.b1 = shareRows(inputWord(own1, k));
    if (ROW_BANDS == 8u) {
      x.b2 = shareRows(inputWord(own2, k));
      x.b3 = shareRows(inputWord(own3, k));
      x.b4 = shareRows(inputWord(own4, k));
      x.b5 = shareRows(inputWord(own5, k));
      x.b6 = shareRows(inputWord(own6, k));
      x.b7 = shareRows(inputWord(own7, k));
    }
    addWeightWord(&sums0, x, splitMatrixWord(weight[w0 + k]));
    addWeightWord(&sums1, x, splitMatrixWord(weight[w1 + k]));
    addWeightWord(&sums2, x, splitMatrixWord(weight[w2 + k]));
    addWeightWord(&sums3, x, splitMatrixWord(weight[w3 + k]));
    addWeightWord(&sums4, x, splitMatrixWord(weight[w4 + k]));
    addWeightWord(&sums5, x, splitMatrixWord(weight[w5 + k]));
    addWeightWord(&sums6, x, splitMatrixWord(weight[w6 + k]));
    addWeightWord(&sums7, x, splitMatrixWord(weight[w7 + k]));
    if (OUTPUTS == 16u) {
      addWeightWord(&sums8, x, splitMatrixWord(weight[w8 + k]));
      addWeightWord(&sums9, x, splitMatrixWord(weight[w9 + k]));
      addWeightWord(&sums10, x, splitMatrixWord(weight[w10 + k]));
      addWeightWord(&sums11, x, splitMatrixWord(weight[w11 + k]));
      addWeightWord(&sums12, x, splitMatrixWord(weight[w12 + k]));
      addWeightWord(&sums13, x, splitMatrixWord(weight[w13 + k]));
      addWeightWord(&sums14, x, splitMatrixWord(weight[w14 + k]));
      addWeightWord(&sums15, x, splitMatrixWord(weight[w15 + k]));
    }
  }
  storeOutputSums(sums0, r0, n0, lane);
  storeOutputSums(sums1, r0, n0 + 1u, lane);
  storeOutputSums(sums2, r0, n0 + 2u, lane);
  storeOutputSums(sums3, r0, n0 + 3u, lane);
  storeOutputSums(sums4, r0, n0 + 4u, lane);
  storeOutputSums(sums5, r0, n0 + 5u, lane);
  storeOutputSums(sums6, r0, n0 + 6u, lane);
  storeOutputSums(sums7, r0, n0 + 7u, lane);
  if (OUTPUTS == 16u) {
    storeOutputSums(sums8, r0, n0 + 8u, lane);
    storeOutputSums(sums9, r0, n0 + 9u, lane);
    storeOutputSums(sums10, r0, n0 + 10u, lane);
    storeOutputSums(sums11, r0, n0 + 11u, lane);
    storeOutputSums(sums12, r0, n0 + 12u, lane);
    storeOutputSums(sums13, r0, n0 + 13u, lane);
    storeOutputSums(sums14, r0, n0 + 14u, lane);
    storeOutputSums(sums15, r0, n0 + 15u, lane);
  }
}
