// The engine's own choices: which adapters count as software ones, and the matrix dtype WebGPU
// uses when the caller leaves it out (f16 on a GPU; f32 on a software adapter, but f16 there too
// for the models whose f32 weights pass 2 GiB).
import { describe, expect, it } from 'vitest';
import { MODEL_CATALOG } from '../../src/models/catalog.ts';
import { gpuWeightsDtype, isSoftwareAdapter } from '../../src/worker/default-choices.ts';

const entry = (id: string) => MODEL_CATALOG.find((model) => model.id === id)!;
const adapter = (description: string, isFallbackAdapter = false) => ({ vendor: '', architecture: '', description, isFallbackAdapter });

describe('default choices', () => {
  it('tells software adapters from GPUs by the fallback flag or by name', () => {
    expect(isSoftwareAdapter(adapter('', true))).toBe(true);
    expect(isSoftwareAdapter(adapter('SwiftShader Device (Subzero)'))).toBe(true);
    expect(isSoftwareAdapter(adapter('llvmpipe (LLVM 17.0.6, 256 bits)'))).toBe(true);
    expect(isSoftwareAdapter(adapter('NVIDIA GeForce RTX 4090'))).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', description: '', isFallbackAdapter: false })).toBe(true);
  });

  it('stores matrices as f16 on a GPU, whatever the model', () => {
    for (const model of MODEL_CATALOG) expect(gpuWeightsDtype(model.config, false), model.id).toBe('f16');
  });

  it('stores matrices as f32 on a software adapter up to 2 GiB of f32 weights, f16 beyond', () => {
    expect(gpuWeightsDtype(entry('distilgpt2').config, true)).toBe('f32');
    expect(gpuWeightsDtype(entry('gpt2').config, true)).toBe('f32');
    expect(gpuWeightsDtype(entry('gpt2-medium').config, true)).toBe('f32'); // 1.4 GB
    expect(gpuWeightsDtype(entry('gpt2-large').config, true)).toBe('f16'); // 3.1 GB
    expect(gpuWeightsDtype(entry('gpt2-xl').config, true)).toBe('f16');
  });
});
