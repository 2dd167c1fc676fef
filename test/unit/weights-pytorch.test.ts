// pytorch_model.bin files written by real torch.save (scripts/make-torch-fixtures.py), in the zip
// format and the legacy one, F32, F16 and BF16: each must give exactly the slots of its safetensors
// twin, in any chunk size, with WASM memory far below the file's size.
import { beforeAll, describe, expect, it } from 'vitest';
import type { MatrixDtype } from '../../src/model/weight-layout.ts';
import type { WeightsParser } from '../../src/weights/weights-parser.ts';
import {
  ODD_CONFIG,
  TINY_CONFIG,
  createParser,
  differingSlots,
  expectedSlots,
  fixture,
  load,
  pytorchSource,
  readSafetensors,
  torchFixture,
} from './weights-helpers.ts';

const MiB = 1 << 20;

let parser: WeightsParser;
beforeAll(async () => {
  parser = await createParser();
});

const tinyConfig = fixture('config.json');
const safetensorsF32 = fixture('model.safetensors');
const safetensorsF16 = fixture('model.f16.safetensors');

describe('the tiny GPT-2 saved by torch.save', () => {
  const variants = [
    { file: 'tiny-f32-zip.bin', twin: safetensorsF32 },
    { file: 'tiny-f32-legacy.bin', twin: safetensorsF32 },
    { file: 'tiny-f16-zip.bin', twin: safetensorsF16 },
    { file: 'tiny-f16-legacy.bin', twin: safetensorsF16 },
  ];
  for (const { file, twin } of variants) {
    it(`${file} gives the slots of its safetensors twin, as f32 and f16 matrices`, async () => {
      const bytes = torchFixture(file);
      for (const dtype of ['f32', 'f16'] as MatrixDtype[]) {
        const { config, sink } = await load(parser, pytorchSource(bytes, tinyConfig), dtype);
        expect(config).toEqual(TINY_CONFIG);
        expect(sink.coverageProblems()).toEqual([]);
        expect(differingSlots(sink.data, expectedSlots(TINY_CONFIG, readSafetensors(twin), dtype))).toEqual([]);
      }
      // The 12.9 MB wte of the F32 files never sits whole in WASM memory.
      expect(parser.memoryBytes).toBeLessThan(8 * MiB);
    });
  }
});

describe('the odd-sized model saved by torch.save', () => {
  const config = torchFixture('odd/config.json');
  const twin = readSafetensors(torchFixture('odd/model.safetensors'));
  const files = ['pytorch_model.bin', 'pytorch_model.legacy.bin', 'pytorch_model.bf16.bin'];

  for (const file of files) {
    it(`${file} gives the same slots for 1-byte, 7-byte, 4093-byte and whole-file chunks`, async () => {
      const bytes = torchFixture(`odd/${file}`);
      for (const chunk of [1, 7, 4093, bytes.length]) {
        for (const dtype of ['f32', 'f16'] as MatrixDtype[]) {
          const { sink } = await load(parser, pytorchSource(bytes, config, chunk), dtype);
          expect(sink.coverageProblems()).toEqual([]);
          expect(differingSlots(sink.data, expectedSlots(ODD_CONFIG, twin, dtype))).toEqual([]);
        }
      }
    });
  }
});
