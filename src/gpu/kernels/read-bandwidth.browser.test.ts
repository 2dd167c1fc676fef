// read-bandwidth.wgsl: every element of the buffer is read exactly once, in either order, whatever
// the number of workgroups (one, fewer threads than words, more threads than words, more
// workgroups than a block per workgroup can give work to). Integer values keep every
// partial sum exact in f32, so the total must match to the last bit.
import { describe, expect, it } from 'vitest';
import { READ_LAYOUTS, readBandwidthKernel, workgroupGrid } from '../kernels.ts';
import { readFloats, runPass, storageBuffer, testDevice } from '../../../test/support/gpu-harness.ts';

describe('read bandwidth kernel', () => {
  const words = 100_003; // vec4 words: neither 4 (the quarters) nor any workgroup count divides it
  // Element i holds (i % 13) - 6, with element 0 a marker no other sum could stand in for.
  const data = Float32Array.from({ length: words * 4 }, (_, i) => (i === 0 ? 1_000_000 : (i % 13) - 6));
  const expected = data.reduce((sum, value) => sum + value, 0);

  for (const layout of READ_LAYOUTS) for (const groups of [1, 37, 2000, 70_000]) {
    it(`sums all ${words * 4} elements in ${layout} order with ${groups} workgroup(s)`, async () => {
      const device = await testDevice();
      const kernel = readBandwidthKernel(device, layout);
      // Past 65535 the dispatch is folded into x/y and rounded up: every workgroup dispatched reads.
      const [x, y] = workgroupGrid(groups);
      const threads = x * y * 64;
      const partials = storageBuffer(device, new Float32Array(threads).fill(NaN));
      const bindGroup = kernel.bind(device, [storageBuffer(device, data), partials]);
      await runPass(device, (pass) => kernel.dispatch(pass, bindGroup, groups));
      const sums = await readFloats(device, partials, threads);
      expect(sums.every(Number.isFinite)).toBe(true);
      expect(sums.reduce((sum, value) => sum + value, 0)).toBe(expected);
    });
  }
});
