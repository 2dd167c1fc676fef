// Whether this JavaScript engine runs WebAssembly relaxed SIMD's integer dot product, which the CPU
// kernels' relaxed builds use (assembly/cpu/linear-int8.ts), and gets it right: Chrome 114 and
// later do. Compiling is not enough: Node 20's V8 (behind --experimental-wasm-relaxed-simd)
// returns twice the dot product, so the probe computes one and checks it.

const A = [-128, 127, -1, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const B = [127, 100, 3, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
/** Lane 0 of the dot product: A[0..4) · B[0..4). */
const EXPECTED = -128 * 127 + 127 * 100 - 1 * 3 + 5 * 0;

// A module exporting p(): i32 = lane 0 of i32x4.relaxed_dot_i8x16_i7x16_add_s(A, B, 0).
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // types: () -> i32
  0x03, 0x02, 0x01, 0x00, // functions: one of type 0
  0x07, 0x05, 0x01, 0x01, 0x70, 0x00, 0x00, // exports: "p", function 0
  0x0a, 0x40, 0x01, 0x3e, 0x00, // code: one body of 62 bytes, no locals
  0xfd, 0x0c, ...A.map((v) => v & 0xff), // v128.const A
  0xfd, 0x0c, ...B, // v128.const B
  0xfd, 0x0c, ...new Array<number>(16).fill(0), // v128.const 0
  0xfd, 0x93, 0x02, // i32x4.relaxed_dot_i8x16_i7x16_add_s
  0xfd, 0x1b, 0x00, // i32x4.extract_lane 0
  0x0b, // end
]);

let answer: boolean | undefined;

/** Probes once, the first time it is asked: the engine asks at every CPU load. */
export function hasRelaxedSimd(): boolean {
  answer ??= probe();
  return answer;
}

function probe(): boolean {
  if (!WebAssembly.validate(PROBE)) return false;
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(PROBE));
  return (exports.p as () => number)() === EXPECTED;
}
