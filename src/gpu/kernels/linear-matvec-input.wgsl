// How linear-matvec.wgsl loads its input on devices without subgroups: each thread loads the
// whole quad, input[quad] (lane unused).

fn inputQuad(quad: u32, lane: u32) -> vec4<f32> {
  return input[quad];
}
