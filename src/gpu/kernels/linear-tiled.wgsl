// Linear layer for many rows (prompt processing) on GPUs: a matrix multiply tiled through
// workgroup memory. linear-common.wgsl (bindings, shapes, epilogue) and the matrix storage type
// follow this source.
//
// Each workgroup computes a 64×64 tile of out; each of its 16×16 threads a 4×4 block of it: rows
// local.y + 16i and outputs local.x + 16j, so neighbouring threads read neighbouring entries of
// workgroup memory. The input and weight tiles are staged through workgroup memory TILE_WORDS
// words (32 columns) at a time, already split the way the matrix type multiplies them (Split8:
// f32, or f16 on a device with shader-f16), so every value read from global memory is used 64
// times. Staging is 16-byte loads: one input word (2 vec4) and one MatrixWord per thread per step.
// Dispatch: (ceil(N / 64), ceil(R / 64)).

@group(0) @binding(2) var<storage, read> weight: array<MatrixWord>;

const TILE = 64u;
const TILE_WORDS = 4u;
const THREADS_PER_SIDE = 16u;
const THREAD_TILE = 4u; // TILE / THREADS_PER_SIDE

var<workgroup> inputTile: array<array<Split8, TILE>, TILE_WORDS>;  // [word][row]
var<workgroup> weightTile: array<array<Split8, TILE>, TILE_WORDS>; // [word][n]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) local: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let rowBase = wid.y * TILE;
  let nBase = wid.x * TILE;
  // The entry of each tile this thread stages: row (or output) lid / 4, word lid % 4.
  let stageRow = lid / TILE_WORDS;
  let stageWord = lid % TILE_WORDS;
  var acc: array<array<f32, THREAD_TILE>, THREAD_TILE>;

  for (var word0 = 0u; word0 < WORDS_PER_ROW; word0 += TILE_WORDS) {
    let word = word0 + stageWord;
    // Zeroed explicitly: a declaration without one kept the last iteration's value in Dawn (on
    // SwiftShader and lavapipe), though WGSL says it starts at zero each time.
    var x = Split8(); // zero past the last row or word
    if (rowBase + stageRow < step.rows && word < WORDS_PER_ROW) { x = inputWord(rowBase + stageRow, word); }
    inputTile[stageWord][stageRow] = x;
    var w = Split8();
    if (nBase + stageRow < N && word < WORDS_PER_ROW) {
      w = splitMatrixWord(weight[(nBase + stageRow) * WORDS_PER_ROW + word]);
    }
    weightTile[stageWord][stageRow] = w;
    workgroupBarrier();
    for (var k = 0u; k < TILE_WORDS; k++) {
      var a: array<Split8, THREAD_TILE>;
      var b: array<Split8, THREAD_TILE>;
      for (var i = 0u; i < THREAD_TILE; i++) {
        a[i] = inputTile[k][local.y + i * THREADS_PER_SIDE];
        b[i] = weightTile[k][local.x + i * THREADS_PER_SIDE];
      }
      for (var i = 0u; i < THREAD_TILE; i++) {
        for (var j = 0u; j < THREAD_TILE; j++) { acc[i][j] += dot8(a[i], b[j]); }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < THREAD_TILE; i++) {
    let row = rowBase + local.y + i * THREADS_PER_SIDE;
    if (row >= step.rows) { continue; }
    for (var j = 0u; j < THREAD_TILE; j++) {
      let n = nBase + local.x + j * THREADS_PER_SIDE;
      if (n < N) { storeOutput(row, n, acc[i][j] * DOT_SCALE); }
    }
  }
}
