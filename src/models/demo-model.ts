// The built-in demo model: a tiny GPT-2 trained in this repository on the King James Bible
// (training/kjv-demo/). It is served from the app's own origin, so the first start needs no hub, and
// saved into the same store as downloads, so it works offline like any saved model. It shows the
// whole chain (tokenizer, parser, kernels, sampling) on trained weights; it is not GPT-2.
import type { Gpt2Config } from '../model/config.ts';
import type { DownloadRequest } from '../worker/engine-api.ts';

export interface DemoModel {
  id: string;
  label: string;
  /** Folder of config.json and model.safetensors, relative to the app's own address. */
  path: string;
  config: Gpt2Config;
  /** Size of its model.safetensors (F16). */
  downloadBytes: number;
}

export const DEMO_MODEL: DemoModel = {
  id: 'kjv-demo',
  label: 'KJV demo (tiny, trained on the King James Bible; not GPT-2)',
  path: 'models/kjv-demo/',
  config: { vocabSize: 50257, nCtx: 256, nEmbd: 128, nLayer: 6, nHead: 4 },
  downloadBytes: 15_317_752,
};

/** The request that saves the demo model from the app at `appUrl` (the page's own address). */
export function demoDownloadRequest(appUrl: string): DownloadRequest {
  const folder = new URL(DEMO_MODEL.path, appUrl);
  return {
    id: DEMO_MODEL.id,
    label: DEMO_MODEL.label,
    configUrl: new URL('config.json', folder).href,
    weightsUrl: new URL('model.safetensors', folder).href,
  };
}
