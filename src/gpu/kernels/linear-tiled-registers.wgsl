// Linear layer for many rows (prompt processing) on software adapters (SwiftShader): a matrix
// multiply tiled in registers, with quads of lanes sharing the input. linear-common.wgsl (bindings,
// shapes, epilogue) and the matrix storage type follow this source.
//
// On a CPU, invocations are the lanes of SIMD registers, every load is a gather costing about as
// much as a dozen arithmetic operations, workgroup memory is ordinary memory, and each barrier
// switches between all of a workgroup's invocations: the 64×64 workgroup-memory kernel ran at
// ~0.2 GFLOP/s there. So each thread computes a block of rows × 8 outputs straight from global
// memory, the CPU's caches doing the staging, and the fewer gathers per multiply-add the faster:
// per 8-element word of K a thread loads and splits its 8 weight words once for all its rows,
// and the rows' input words are shared within each quad of 4 lanes: all of a workgroup's lanes
// work on the same rows, lane i of a quad loads rows i, 4 + i, ... of the block and quadBroadcast
// hands them to the other three (measured on SwiftShader, whose subgroups are one quad: 5-10%
// faster than subgroupBroadcast; every WebGPU subgroup size is a multiple of 4 lanes). The rows
// come in bands of 4: ROW_BANDS = 2 (8 rows) for short prompts, 8 (32 rows) for long ones,
// which read each weight once per 32 rows (measured on SwiftShader: 1.3-1.7× the throughput of
// 8 rows at 128 rows). Workgroups of 32 threads (256 outputs) divide the widths of GPT-2 up to
// Large evenly (768 = 3 × 256, 1024, 1280): with 64, a quarter of the N = 768 kernels' threads
// computed outputs past the end (measured: 1.25-1.35× faster there). Rows, bands and outputs are
// written out rather than looped over: a software adapter keeps a private array indexed by a
// loop counter in memory.
// Dispatch: (ceil(N / 256), ceil(R / (4 · ROW_BANDS))); a workgroup's 32 threads share its rows.

enable subgroups;
// Every lane runs the whole loop (rows and outputs past the end are clamped, not skipped), so
// every lane reaches each quadBroadcast; the analysis cannot see that through the loop.
diagnostic(off, subgroup_uniformity);

@group(0) @binding(2) var<storage, read> weight: array<MatrixWord>;

const WORKGROUP_SIZE = 32u;
const OUTPUTS = 8u;
override ROW_BANDS: u32 = 2u; // 2 or 8

/** Four rows' input words, to dot with one weight word. */
struct FourRows {
  r0: Split8,
  r1: Split8,
  r2: Split8,
  r3: Split8,
}

/** A thread's sums for 4 rows × 8 outputs: column j of `left` is output j's 4 rows, of `right`
 *  output 4 + j's. */
struct Band {
  left: mat4x4<f32>,
  right: mat4x4<f32>,
}

/** A thread's 8 weight words of one word of K, split. */
struct WeightWords {
  w0: Split8, w1: Split8, w2: Split8, w3: Split8, w4: Split8, w5: Split8, w6: Split8, w7: Split8,
}

/** The word of each of the quad's lanes 0..3. */
fn shareRows(own: Split8) -> FourRows {
  return FourRows(Split8(quadBroadcast(own.even, 0u), quadBroadcast(own.odd, 0u)),
                  Split8(quadBroadcast(own.even, 1u), quadBroadcast(own.odd, 1u)),
                  Split8(quadBroadcast(own.even, 2u), quadBroadcast(own.odd, 2u)),
                  Split8(quadBroadcast(own.even, 3u), quadBroadcast(own.odd, 3u)));
}

fn dots(x: FourRows, w: Split8) -> vec4<f32> {
  return vec4<f32>(dot8(x.r0, w), dot8(x.r1, w), dot8(x.r2, w), dot8(x.r3, w));
}

/** Adds the band's 4 rows of one input word times the 8 weight words to its sums. */
fn addWord(band: ptr<function, Band>, x: FourRows, w: WeightWords) {
  (*band).left[0] += dots(x, w.w0);
  (*band).left[1] += dots(x, w.w1);
  (*band).left[2] += dots(x, w.w2);
  (*band).left[3] += dots(x, w.w3);
  (*band).right[0] += dots(x, w.w4);
  (*band).right[1] += dots(x, w.w5);
  (*band).right[2] += dots(x, w.w6);
  (*band).right[3] += dots(x, w.w7);
}

fn storeBand(band: Band, row0: u32, n0: u32) {
  for (var j = 0u; j < 4u; j++) {
    for (var i = 0u; i < 4u; i++) {
      if (row0 + i < step.rows) {
        if (n0 + j < N) { storeOutput(row0 + i, n0 + j, band.left[j][i] * DOT_SCALE); }
        if (n0 + 4u + j < N) { storeOutput(row0 + i, n0 + 4u + j, band.right[j][i] * DOT_SCALE); }
      }
    }
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
  var band0 = Band();
  var band1 = Band();
  var band2 = Band();
  var band3 = Band();
  var band4 = Band();
  var band5 = Band();
  var band6 = Band();
  var band7 = Band();
  for (var k = 0u; k < WORDS_PER_ROW; k++) {
    let w = WeightWords(splitMatrixWord(weight[w0 + k]), splitMatrixWord(weight[w1 + k]),
                        splitMatrixWord(weight[w2 + k]), splitMatrixWord(weight[w3 + k]),
                        splitMatrixWord(weight[w4 + k]), splitMatrixWord(weight[w5 + k]),
                        splitMatrixWord(weight[w6 + k]), splitMatrixWord(weight[w7 + k]));
    addWord(&band0, shareRows(inputWord(own0, k)), w);
    addWord(&band1, shareRows(inputWord(own1, k)), w);
    if (ROW_BANDS == 8u) {
      addWord(&band2, shareRows(inputWord(own2, k)), w);
      addWord(&band3, shareRows(inputWord(own3, k)), w);
      addWord(&band4, shareRows(inputWord(own4, k)), w);
      addWord(&band5, shareRows(inputWord(own5, k)), w);
      addWord(&band6, shareRows(inputWord(own6, k)), w);
      addWord(&band7, shareRows(inputWord(own7, k)), w);
    }
  }
  storeBand(band0, r0, n0);
  storeBand(band1, r0 + 4u, n0);
  if (ROW_BANDS == 8u) {
    storeBand(band2, r0 + 8u, n0);
    storeBand(band3, r0 + 12u, n0);
    storeBand(band4, r0 + 16u, n0);
    storeBand(band5, r0 + 20u, n0);
    storeBand(band6, r0 + 24u, n0);
    storeBand(band7, r0 + 28u, n0);
  }
}
