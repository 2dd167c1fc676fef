// Finds a model's weight and config files from what a user passes on the command line: a
// .safetensors file (config.json beside it), a .bin (gpt2_config.txt beside it for the legacy
// format, config.json for a pytorch_model.bin), a sharded index, or a folder holding one of those.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export interface ModelPaths {
  directory: string;
  weightsFile: string; // name inside directory
  configFile: string; // name inside directory
}

export function findModelFiles(path: string): ModelPaths {
  const full = resolve(path);
  if (!existsSync(full)) throw new Error(`${path} does not exist`);
  if (statSync(full).isDirectory()) {
    const candidates: [string, string][] = [
      ['gpt2_weights.bin', 'gpt2_config.txt'],
      ['model.safetensors', 'config.json'],
      ['model.safetensors.index.json', 'config.json'],
      ['pytorch_model.bin', 'config.json'],
    ];
    for (const [weightsFile, configFile] of candidates) {
      if (existsSync(join(full, weightsFile)) && existsSync(join(full, configFile))) {
        return { directory: full, weightsFile, configFile };
      }
    }
    throw new Error(`${path} holds none of gpt2_weights.bin + gpt2_config.txt, model.safetensors + config.json, pytorch_model.bin + config.json`);
  }
  const directory = dirname(full);
  const weightsFile = basename(full);
  // A .bin is the legacy format beside gpt2_config.txt, else PyTorch's beside config.json.
  const legacy = weightsFile.endsWith('.bin') && (existsSync(join(directory, 'gpt2_config.txt')) || !existsSync(join(directory, 'config.json')));
  const configFile = legacy ? 'gpt2_config.txt' : 'config.json';
  if (!weightsFile.endsWith('.bin') && !weightsFile.endsWith('.safetensors') && !weightsFile.endsWith('.safetensors.index.json')) {
    throw new Error(`${path} is not a .safetensors or .bin weight file`);
  }
  if (!existsSync(join(directory, configFile))) throw new Error(`${weightsFile} needs ${configFile} beside it in ${directory}`);
  return { directory, weightsFile, configFile };
}
