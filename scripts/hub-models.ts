// Folder names for the download CLI's output under assets/weights/, as the legacy tools named them.
import { MODEL_CATALOG } from '../src/models/catalog.ts';
import { parameterCount, type Gpt2Config } from '../src/model/config.ts';

/**
 * A known checkpoint's size label ("124M"), or else the model's parameter count, e.g. "3.3M".
 */
export function sizeLabelFor(config: Gpt2Config): string {
  const fields = Object.keys(config) as (keyof Gpt2Config)[];
  const known = MODEL_CATALOG.find((model) => fields.every((field) => model.config[field] === config[field]));
  if (known) return known.sizeLabel;
  const parameters = parameterCount(config);
  if (parameters >= 1e9) return `${(parameters / 1e9).toFixed(1)}B`;
  return parameters >= 1e7 ? `${Math.round(parameters / 1e6)}M` : `${(parameters / 1e6).toFixed(1)}M`;
}
