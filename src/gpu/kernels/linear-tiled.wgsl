// Linear layer for many rows (prompt processing): a tiled matrix multiply. Bindings, shapes and
// epilogue are in linear-common.wgsl, which is prepended.
//
// Each workgroup computes a 64×64 tile of out; each of its 16×16 threads a 4×4 block. Input and
// weight tiles are staged through workgroup memory TILE_K columns at a time, so every value read
// from global memory is used 64 times.
// Dispatch: (ceil(N / 64), ceil(R / 64)).

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;

const TILE = 64u;
const TILE_K = 16u;
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
    // 256 threads load the two 64×16 tiles, four elements each; adjacent threads read adjacent k.
    for (var s = 0u; s < 4u; s++) {
      let e = lid + s * 256u;
      let tileRow = e / TILE_K;
      let k = e % TILE_K;
      let row = rowBase + tileRow;
      let n = nBase + tileRow;
      var a = 0.0;
      var w = 0.0;
      if (row < step.rows && k0 + k < K) { a = input[row * K + k0 + k]; }
      if (n < N && k0 + k < K) { w = weight[n * K + k0 + k]; }
      inputTile[k][tileRow] = a;
      weightTile[k][tileRow] = w;
    }
    workgroupBarrier();
    for (var k = 0u; k < TILE_K; k++) {
      var a: array<f32, THREAD_TILE>;
      var w: array<f32, THREAD_TILE>;
      for (var i = 0u; i < THREAD_TILE; i++) {
        a[i] = inputTile[k][local.y * THREAD_TILE + i];
        w[i] = weightTile[k][local.x * THREAD_TILE + i];
      }
      for (var i = 0u; i < THREAD_TILE; i++) {
        for (var j = 0u; j < THREAD_TILE; j++) { acc[i][j] += a[i] * w[j]; }
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
