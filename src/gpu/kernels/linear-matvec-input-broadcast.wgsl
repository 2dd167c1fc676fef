// How linear-matvec.wgsl loads its input where subgroups allow (software adapters): the threads
// of a quad all want the same input quad, input[quad], and on a software adapter a load is a
// gather, one per thread and element (SwiftShader cannot see that the threads' addresses are the
// same), as costly as a weight's. So each thread loads one element, `lane` (its index within the
// quad), and quadBroadcast hands the four out: 4 gathered elements instead of 16 for every 128 of
// the weights. Measured on SwiftShader over a decode step's linear layers (12 layers' own weights
// and the LM head in one submission, interleaved with the read-bandwidth reduction, four runs of
// 3-15 rounds): 1.07-1.11× the throughput of loading the quad per thread, 0.89-1.02 of the
// reduction's (0.81-0.92 before).
// Threads are taken to make up subgroups in order, so a quad is 4 consecutive invocations, as on
// every implementation (and lane = local_invocation_index mod 4).

enable subgroups;

fn inputQuad(quad: u32, lane: u32) -> vec4<f32> {
  let element = input[quad][lane];
  return vec4<f32>(quadBroadcast(element, 0u), quadBroadcast(element, 1u),
                   quadBroadcast(element, 2u), quadBroadcast(element, 3u));
}
