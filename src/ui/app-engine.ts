// The part of the engine client the UI uses. Naming it keeps the UI honest about its one door to
// the model, and lets the component test hand the app a stand-in with the same types.
import type { EngineApi } from '../worker/engine-api.ts';
import { EngineStoppedError, type EngineClient } from '../worker/engine-client.ts';

/** The client's callback-taking wrappers, and the plain methods of its worker API (Comlink's proxy fits them). */
export type AppEngine = Pick<EngineClient, 'load' | 'generate' | 'download' | 'onNotice'> & {
  api: Pick<EngineApi, 'abort' | 'resolveHubModel' | 'cancelDownload' | 'listCachedModels' | 'deleteCachedModel' | 'storageInfo' | 'stats'>;
};

/** A rejection from the worker as a sentence for the user (Comlink passes Errors across as Errors). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === 'string' ? error : 'Something went wrong in the engine.';
}

/** The call was cut off because the engine's worker died (a new one has been started, with no model loaded). */
export function engineStopped(error: unknown): boolean {
  return error instanceof EngineStoppedError;
}
