// The device's own read bandwidth, for the benchmark to hold decoding against: reads a large
// buffer exactly once and sums it. Decoding a token likewise reads every weight once, so this
// kernel's bytes per second is the speed limit for the matrix-vector kernels.
//
// data:     (W) vec4<f32>, W = arrayLength(data)
// partials: (T) f32 out — the sum of what thread t read, T = 64 × the workgroups dispatched
// 16-byte loads. The buffer is read as four quarters in step, so each thread has four independent
// loads in flight (one stream, measured on SwiftShader, read 0.65-0.8× as fast). Within a quarter
// the threads take words in one of two orders (LAYOUT), as what suits a device differs:
//   0: a grid-stride loop: at each step all threads read consecutive words, which a GPU coalesces;
//   1: each thread walks a contiguous block of its own: a software adapter runs invocations on
//      CPU cores, whose prefetchers follow sequential walks, and a grid stride makes each core jump
//      to a new page at every step (measured 4-5× slower on an Intel Xeon VM under SwiftShader).
// The first level of the reduction only: each thread writes its own sum, so no compiler may skip
// the reads, and there are no barriers, which a software adapter would pay for with a switch
// between every invocation of the workgroup (measured 4× slower there).
// Dispatch: any number of workgroups, folded into x/y.

const WORKGROUP_SIZE = 64u;
override LAYOUT: u32 = 0u;

@group(0) @binding(0) var<storage, read> data: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let thread = (wid.x + wid.y * groups.x) * WORKGROUP_SIZE + lid;
  let threads = groups.x * groups.y * WORKGROUP_SIZE;
  let words = arrayLength(&data);
  let quarter = words / 4u;
  var first = thread;
  var end = quarter;
  var stride = threads;
  if (LAYOUT == 1u) {
    let block = (quarter + threads - 1u) / threads;
    first = min(quarter, thread * block);
    end = min(quarter, first + block);
    stride = 1u;
  }
  var s0 = vec4<f32>();
  var s1 = vec4<f32>();
  var s2 = vec4<f32>();
  var s3 = vec4<f32>();
  for (var i = first; i < end; i += stride) {
    s0 += data[i];
    s1 += data[quarter + i];
    s2 += data[2u * quarter + i];
    s3 += data[3u * quarter + i];
  }
  // The last W mod 4 words, after the quarters.
  if (thread < words - 4u * quarter) { s0 += data[4u * quarter + thread]; }
  let sum = (s0 + s1) + (s2 + s3);
  partials[thread] = sum.x + sum.y + sum.z + sum.w;
}
