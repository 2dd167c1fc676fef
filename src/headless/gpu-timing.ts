// Wall-clock timing of GPU work for the benchmark. The same work is recorded many times into one
// submission, so the cost of submitting and of waiting for completion is spread over all of them,
// and of a few runs the best is kept (the machine may be shared, and the best run is the one least
// disturbed by whatever else it was doing), or the middle one, where the time is set beside
// another taken as a median.
import { median } from './paired-runs.ts';

const RUNS = 3;

export type RunStatistic = 'best' | 'median';

/** Milliseconds per `record` of one submission that records it `repeats` times, waited for. */
export async function msPerRecordedRepeat(device: GPUDevice, record: (pass: GPUComputePassEncoder) => void,
  repeats: number): Promise<number> {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (let i = 0; i < repeats; i++) record(pass);
  pass.end();
  const commands = encoder.finish();
  const started = performance.now();
  device.queue.submit([commands]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - started) / repeats;
}

/** Milliseconds one `record` takes on the GPU, recorded enough times to last `minimumMs`. */
export async function msPerRepeat(device: GPUDevice, record: (pass: GPUComputePassEncoder) => void, minimumMs = 300,
  statistic: RunStatistic = 'best'): Promise<number> {
  const run = async (repeats: number) => repeats * (await msPerRecordedRepeat(device, record, repeats));
  await run(1); // a pipeline's first dispatch may still be compiling it
  let repeats = 1;
  let elapsed = await run(repeats);
  while (elapsed < minimumMs) {
    repeats = Math.ceil(repeats * Math.min(100, (1.2 * minimumMs) / Math.max(elapsed, 0.05)));
    elapsed = await run(repeats);
  }
  const runs = [elapsed];
  for (let i = 1; i < RUNS; i++) runs.push(await run(repeats));
  return (statistic === 'best' ? Math.min(...runs) : median(runs)) / repeats;
}
