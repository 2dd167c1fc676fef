// Opens a repository on the HuggingFace hub (or a server laid out like it) by name. The hub's API
// lists the repository's files at a revision and names the commit the revision points at; every
// file is then fetched from that commit, so a resumed or repeated download gets the same bytes even
// after the branch has moved on. The config is read before anything else: a repository that is not
// a GPT-2 is refused before any weight is fetched.
import type { DownloadRequest, HubModelRequest, HubSource } from '../worker/engine-api.ts';
import { RefusedByPolicy } from './policy-refusal.ts';

/** A repository could not be opened; the message says why and what to do. */
export class HubRepoError extends Error {
  override name = 'HubRepoError';
}

/** Weight files this app reads, best first: one safetensors file, its shards, then PyTorch's pickle. */
export const WEIGHT_FILES_BY_PREFERENCE = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin'] as const;

const REPO_NAME = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/**
 * "owner/name", "owner/name@revision", or the repository's page on the hub
 * (`https://huggingface.co/owner/name`, optionally `/tree/<revision>`), as `{ repo, revision }`.
 */
export function parseHubRepoName(text: string): { repo: string; revision: string } {
  let name = text.trim();
  let revision = 'main';
  const page = /^https?:\/\/[^/]+\/([^/]+\/[^/?#]+)(?:\/tree\/([^?#]+))?\/?(?:[?#].*)?$/.exec(name);
  if (page) {
    name = page[1];
    revision = page[2] ? decodeURIComponent(page[2]) : revision;
  } else {
    const at = name.lastIndexOf('@');
    if (at > 0) {
      revision = name.slice(at + 1);
      name = name.slice(0, at);
    }
  }
  if (!REPO_NAME.test(name) || name.includes('..') || revision.trim() === '') {
    throw new HubRepoError(`"${text.trim()}" is not a hub repository name: write it as owner/name (e.g. microsoft/DialoGPT-small), optionally followed by @revision`);
  }
  return { repo: name, revision: revision.trim() };
}

const trimmedHub = (hubUrl: string) => hubUrl.replace(/\/+$/, '');

/** `<hub>/<repo>/resolve/<revision>/<file>`: the hub's address of a file at a revision (a branch, tag or commit). */
export function hubFileUrl(hubUrl: string, repo: string, file: string, revision = 'main'): string {
  return `${trimmedHub(hubUrl)}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/** `<hub>/api/models/<repo>/revision/<revision>`: the repository's files and commit at that revision. */
export function hubRevisionApiUrl(hubUrl: string, repo: string, revision: string): string {
  return `${trimmedHub(hubUrl)}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
}

interface RevisionListing {
  commit: string;
  files: string[];
}

/**
 * The download request for a hub repository: its files at the commit `revision` points at now,
 * config.json and the weight file this app prefers. Refuses a repository whose config is not GPT-2's.
 * In the app `get` is policyAwareFetch's, so a request the page's policy refuses says so.
 */
export async function resolveHubModel(request: HubModelRequest, get: typeof fetch = (input, init) => fetch(input, init)): Promise<DownloadRequest> {
  const { hubUrl, repo, revision } = request;
  const listing = await revisionListing(get, hubUrl, repo, revision);
  if (!listing.files.includes('config.json')) {
    throw new HubRepoError(`${repo} has no config.json, so it is not a transformers checkpoint this app can read (its files: ${listed(listing.files)})`);
  }
  checkIsGpt2(repo, await fetchJson(get, hubFileUrl(hubUrl, repo, 'config.json', listing.commit), `the config of ${repo}`));
  const weights = WEIGHT_FILES_BY_PREFERENCE.find((file) => listing.files.includes(file));
  if (!weights) {
    const sharded = listing.files.includes('pytorch_model.bin.index.json') ? ' It is split into several pytorch_model-*.bin shards, which this app does not read yet.' : '';
    throw new HubRepoError(
      `${repo} has none of the weight files this app reads (${WEIGHT_FILES_BY_PREFERENCE.join(', ')}).${sharded} Its files: ${listed(listing.files)}`,
    );
  }
  const source: HubSource = { repo, revision, commit: listing.commit };
  return {
    id: request.id,
    label: request.label,
    configUrl: hubFileUrl(hubUrl, repo, 'config.json', listing.commit),
    weightsUrl: hubFileUrl(hubUrl, repo, weights, listing.commit),
    source,
    ...(request.conversation ? { conversation: request.conversation } : {}),
  };
}

const listed = (files: string[]) => (files.length === 0 ? 'none' : files.slice(0, 12).join(', ') + (files.length > 12 ? ', …' : ''));

async function revisionListing(get: typeof fetch, hubUrl: string, repo: string, revision: string): Promise<RevisionListing> {
  const url = hubRevisionApiUrl(hubUrl, repo, revision);
  const answer = await fetchJson(get, url, `${repo}`, (status) => {
    // The hub answers 401 for a repository that does not exist as for one that is private or gated.
    if (status === 401 || status === 403) {
      return `the hub has no public repository ${repo}: check the name (it is owner/name, as on the model's hub page); private and gated repositories cannot be opened here`;
    }
    if (status === 404) return `the hub has no repository ${repo} with a revision "${revision}": check the name and the revision (a branch, tag or commit)`;
    return undefined;
  });
  const { sha, siblings } = (answer ?? {}) as { sha?: unknown; siblings?: unknown };
  const files = Array.isArray(siblings) ? siblings.map((sibling) => (sibling as { rfilename?: unknown })?.rfilename) : null;
  if (typeof sha !== 'string' || !/^[0-9a-f]{40}$/.test(sha) || !files || !files.every((file) => typeof file === 'string')) {
    throw new HubRepoError(`${url} did not answer with a repository's commit and files: is ${trimmedHub(hubUrl)} a HuggingFace hub (or a mirror laid out like it)?`);
  }
  return { commit: sha, files: files as string[] };
}

/** Refuses a config that does not describe a GPT-2, naming what it describes. */
function checkIsGpt2(repo: string, config: unknown): void {
  const { model_type: modelType, architectures } = (config ?? {}) as { model_type?: unknown; architectures?: unknown };
  if (modelType === 'gpt2') return;
  const what = typeof modelType === 'string' ? `a ${modelType} model` : 'a model of no stated type (its config.json has no model_type)';
  const classes = Array.isArray(architectures) && architectures.length > 0 ? ` (${architectures.join(', ')})` : '';
  throw new HubRepoError(`${repo} is ${what}${classes}, not GPT-2: this app runs only checkpoints with GPT-2's architecture (model_type "gpt2")`);
}

async function fetchJson(get: typeof fetch, url: string, what: string, messageForStatus?: (status: number) => string | undefined): Promise<unknown> {
  let response: Response;
  try {
    response = await get(url, { cache: 'no-store' });
  } catch (error) {
    if (error instanceof RefusedByPolicy) throw new HubRepoError(error.message);
    throw new HubRepoError(`could not reach ${url} (${(error as Error).message}): check the connection and try again`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw new HubRepoError(messageForStatus?.(response.status) ?? `could not read ${what}: ${url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  try {
    return await response.json();
  } catch {
    throw new HubRepoError(`could not read ${what}: ${url} did not answer with JSON`);
  }
}
