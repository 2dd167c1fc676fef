// Linear layer for many rows (prompt processing) on GPUs: a matrix multiply tiled through
// workgroup memory. linear-common.wgsl (bindings, shapes, epilogue) and the matrix storage type
// follow this source.
//
// Each workgroup computes a 64×64 tile of out; each of its 16×16 threads a 4×4 block. The input
// and weight tiles are staged through workgroup memory TILE_K = 32 columns at a time (the weights
// unpacked to f32 once, as they are staged), so every value read from global memory is used 64
// times. Staging is 16-byte loads: 2 input vec4 and 1 MatrixWord per thread per step.
// Dispatch: (ceil(N / 64), ceil(R / 64)).

@group(0) @binding(2) var<storage, read> weight: array<MatrixWord>;

const TILE = 64u;
const TILE_K = 32u;
const THREAD_TILE = 4u;

var<workgroup> inputTile: array<array<f32, TILE>, TILE_K>;  // [k][row]
var<workgroup> weightTile: array<array<f32, TILE>, TILE_K>; // [k][n]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) local: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let rowBase = wid.y * TILE;
  let nBase = wid.x * TILE;
  var acc: array<array<f32, THREAD_TILE>, THREAD_TILE>;

  for (var k0 = 0u; k0 < K; k0 += TILE_K) {
    // Input: 64 rows × 8 vec4, two per thread.
    for (var s = 0u; s < 2u; s++) {
      let e = lid * 2u + s;
      let tileRow = e / 8u;
      let kq = (e % 8u) * 4u;
      let row = rowBase + tileRow;
      var a = vec4<f32>();
      if (row < step.rows && k0 + kq < K) { a = input[(row * K + k0 + kq) / 4u]; }
      for (var i = 0u; i < 4u; i++) { inputTile[kq + i][tileRow] = a[i]; }
    }
    // Weights: 64 rows × 4 MatrixWords, one per thread.
    let tileRow = lid / 4u;
    let kw = (lid % 4u) * 8u;
    let n = nBase + tileRow;
    var w = array<vec4<f32>, 2>();
    if (n < N && k0 + kw < K) { w = matrixWordValues(weight[(n * K + k0 + kw) / 8u]); }
    for (var i = 0u; i < 4u; i++) {
      weightTile[kw + i][tileRow] = w[0][i];
      weightTile[kw + 4u + i][tileRow] = w[1][i];
    }
    workgroupBarrier();
    for (var k = 0u; k < TILE_K; k++) {
      var a: array<f32, THREAD_TILE>;
      var b: array<f32, THREAD_TILE>;
      for (var i = 0u; i < THREAD_TILE; i++) {
        a[i] = inputTile[k][local.y * THREAD_TILE + i];
        b[i] = weightTile[k][local.x * THREAD_TILE + i];
      }
      for (var i = 0u; i < THREAD_TILE; i++) {
        for (var j = 0u; j < THREAD_TILE; j++) { acc[i][j] += a[i] * b[j]; }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < THREAD_TILE; i++) {
    let row = rowBase + local.y * THREAD_TILE + i;
    if (row >= step.rows) { continue; }
    for (var j = 0u; j < THREAD_TILE; j++) {
      let n = nBase + local.x * THREAD_TILE + j;
      if (n < N) { storeOutput(row, n, acc[i][j]); }
    }
  }
}
