// Reads the five GPT-2 sizes out of an HF config.json (in Node; the app reads it in AssemblyScript).
import type { Gpt2Config } from '../src/model/config.ts';

/** n_ctx stands in for n_positions in old configs. `sourceName` names the file in error messages. */
export function gpt2ConfigFromJson(text: string, sourceName: string): Gpt2Config {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${sourceName} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`${sourceName} is not a JSON object`);
  const json = parsed as Record<string, unknown>;
  const size = (...keys: string[]): number => {
    const value = keys.map((key) => json[key]).find((candidate) => candidate !== undefined);
    if (!Number.isInteger(value) || (value as number) < 1) {
      throw new Error(`${sourceName} must give ${keys.join(' (or ')}${keys.length > 1 ? ')' : ''} as a positive whole number`);
    }
    return value as number;
  };
  const config: Gpt2Config = {
    vocabSize: size('vocab_size'),
    nCtx: size('n_positions', 'n_ctx'),
    nEmbd: size('n_embd'),
    nLayer: size('n_layer'),
    nHead: size('n_head'),
  };
  if (config.nEmbd % config.nHead !== 0) throw new Error(`${sourceName}: n_embd ${config.nEmbd} is not a multiple of n_head ${config.nHead}`);
  return config;
}
