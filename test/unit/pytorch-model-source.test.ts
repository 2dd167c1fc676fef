// A pytorch_model.bin reaches the weight loader the ways the app opens models: picked from disk with
// its config.json (File objects, read from the end with File.slice), and from a URL (the directory
// read with a Range request), here from a local server that serves files as the hub does.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModelSource } from '../../src/worker/model-source.ts';
import type { WeightsParser } from '../../src/weights/weights-parser.ts';
import { serveFile } from '../../scripts/static-files.ts';
import { ODD_CONFIG, TORCH_FIXTURES, createParser, differingSlots, expectedSlots, load, readSafetensors, torchFixture } from './weights-helpers.ts';

const twinSlots = expectedSlots(ODD_CONFIG, readSafetensors(torchFixture('odd/model.safetensors')), 'f32');
let parser: WeightsParser;
let server: Server;
let base: string;
// Set by a test: the server answers Range requests with the whole file, as some servers do.
let ignoreRanges = false;

beforeAll(async () => {
  parser = await createParser();
  server = createServer((request, response) => {
    if (ignoreRanges) delete request.headers.range;
    serveFile(request, response, join(TORCH_FIXTURES, 'odd', decodeURIComponent(new URL(request.url!, 'http://x').pathname)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const file = (name: string, fixture = name) => new File([torchFixture(`odd/${fixture}`)], name);

describe('picked files', () => {
  it('pytorch_model.bin with config.json loads, in either of torch.save\'s formats', async () => {
    for (const weights of ['pytorch_model.bin', 'pytorch_model.legacy.bin']) {
      const resolved = await resolveModelSource({ kind: 'files', name: 'odd', files: [file('config.json'), file('pytorch_model.bin', weights)] });
      expect(resolved.format).toBe('pytorch-bin');
      const { sink } = await load(parser, resolved);
      expect(sink.coverageProblems()).toEqual([]);
      expect(differingSlots(sink.data, twinSlots)).toEqual([]);
    }
  });

  it('says which config a .bin needs when none was picked', async () => {
    await expect(resolveModelSource({ kind: 'files', name: 'odd', files: [file('pytorch_model.bin')] })).rejects.toThrow(
      'pytorch_model.bin needs its config: pick config.json with a pytorch_model.bin, or gpt2_config.txt with a gpt2_weights.bin',
    );
  });
});

describe('a URL', () => {
  it('loads, reading the zip directory with a Range request', async () => {
    const resolved = await resolveModelSource({ kind: 'url', name: 'odd', configUrl: `${base}/config.json`, weightsUrl: `${base}/pytorch_model.bin` });
    expect(resolved.format).toBe('pytorch-bin');
    const { sink } = await load(parser, resolved);
    expect(differingSlots(sink.data, twinSlots)).toEqual([]);
  });

  it('says so when the server does not answer Range requests', async () => {
    ignoreRanges = true;
    try {
      const resolved = await resolveModelSource({ kind: 'url', name: 'odd', configUrl: `${base}/config.json`, weightsUrl: `${base}/pytorch_model.bin` });
      await expect(load(parser, resolved)).rejects.toThrow(
        `${base}/pytorch_model.bin answered a request for part of the file with HTTP 200; reading a pytorch_model.bin needs a server that answers Range requests`,
      );
    } finally {
      ignoreRanges = false;
    }
  });
});
