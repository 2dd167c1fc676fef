// `npm run download -- owner/name` run as a user runs it, as a child process, against the stand-in
// hub the e2e tests use (scripts/flaky-model-server-plugin.ts, here behind a plain Node server):
// the repository's files are listed through the hub's API, fetched from the commit main points at,
// saved as they are with that commit recorded, resumed from the same commit after a cut even when
// main has moved on, and a repository that is not a GPT-2 is refused before any weight is fetched.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { flakyModelServerPlugin, type Control, type LoggedRequest } from '../../scripts/flaky-model-server-plugin.ts';

const DIALOGPT = resolve('test/fixtures/torch/tiny-dialogpt');
const PREFIX = '/hub';

let workDir: string;
let server: Server;
let hubUrl: string;

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/download.ts', ...args, '--hub', hubUrl, '--out', join(workDir, 'out')], (error, stdout, stderr) =>
      done({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

const post = async (path: string, body: unknown = {}) => expect((await fetch(`${hubUrl}/${path}`, { method: 'POST', body: JSON.stringify(body) })).ok).toBe(true);
const steer = (control: Control) => post('_control', control);
const hubLog = async (): Promise<LoggedRequest[]> => (await fetch(`${hubUrl}/_log`)).json();
const headCommit = async (repo: string) => ((await (await fetch(`${hubUrl}/api/models/${repo}/revision/main`)).json()) as { sha: string }).sha;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'download-hub-repo-'));
  const hub = join(workDir, 'hub');
  mkdirSync(join(hub, 'microsoft/DialoGPT-small'), { recursive: true });
  for (const file of ['config.json', 'pytorch_model.bin']) symlinkSync(join(DIALOGPT, file), join(hub, 'microsoft/DialoGPT-small', file));
  mkdirSync(join(hub, 'google-bert/bert-base-uncased'), { recursive: true });
  writeFileSync(join(hub, 'google-bert/bert-base-uncased/config.json'), JSON.stringify({ model_type: 'bert', architectures: ['BertForMaskedLM'] }));
  symlinkSync(resolve('../shared/fixtures/tiny-gpt2/model.safetensors'), join(hub, 'google-bert/bert-base-uncased/model.safetensors'));

  // The plugin's middleware, mounted as Vite mounts it: the prefix taken off the URL.
  let handle!: (request: IncomingMessage, response: ServerResponse) => void;
  const plugin = flakyModelServerPlugin(PREFIX, hub) as { configureServer(server: unknown): void };
  plugin.configureServer({ middlewares: { use: (_prefix: string, middleware: typeof handle) => (handle = middleware) } });
  server = createServer((request, response) => {
    request.url = request.url!.slice(PREFIX.length) || '/';
    handle(request, response);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}${PREFIX}`;
});
afterAll(async () => {
  await new Promise((closed) => server?.close(closed));
  rmSync(workDir, { recursive: true, force: true });
});
beforeEach(async () => {
  await post('_reset');
  rmSync(join(workDir, 'out'), { recursive: true, force: true });
});

it('saves the repository as it is, every file from the commit main points at, and records that commit', async () => {
  const commit = await headCommit('microsoft/DialoGPT-small');
  const run = await runCli(['microsoft/DialoGPT-small']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const outDir = join(workDir, 'out/microsoft--DialoGPT-small');
  expect(run.stdout).toContain(`commit ${commit}`);
  for (const file of ['config.json', 'pytorch_model.bin']) expect(readFileSync(join(outDir, file)).equals(readFileSync(join(DIALOGPT, file)))).toBe(true);
  const source = JSON.parse(readFileSync(join(outDir, 'source.json'), 'utf8'));
  expect(source).toMatchObject({ complete: true, request: { source: { repo: 'microsoft/DialoGPT-small', revision: 'main', commit } } });
  const fetched = (await hubLog()).filter((request) => request.route === 'resolve');
  expect(fetched.map((request) => [request.file, request.revision])).toEqual([['config.json', commit], ['config.json', commit], ['pytorch_model.bin', commit]]);
});

it('resumes a cut download with a Range request from the commit it began with, after main has moved', async () => {
  const commit = await headCommit('microsoft/DialoGPT-small');
  await steer({ cut: { file: 'pytorch_model.bin', afterBytes: 1_000_000 } });
  const cut = await runCli(['microsoft/DialoGPT-small']);
  expect(cut.code).not.toBe(0);
  expect(cut.stderr).toMatch(/broke off after \d+ bytes .*run the command again to continue it/);
  const outDir = join(workDir, 'out/microsoft--DialoGPT-small');
  expect(existsSync(join(outDir, 'pytorch_model.bin.partial'))).toBe(true);

  await steer({ headCommit: 'b'.repeat(40) });
  const resumed = await runCli(['microsoft/DialoGPT-small']);
  expect(resumed.code).toBe(0);
  expect(resumed.stdout).toContain(`commit ${commit} (continuing the download begun earlier)`);
  expect(readFileSync(join(outDir, 'pytorch_model.bin')).equals(readFileSync(join(DIALOGPT, 'pytorch_model.bin')))).toBe(true);
  const weights = (await hubLog()).filter((request) => request.file === 'pytorch_model.bin');
  expect(weights.map((request) => request.revision)).toEqual([commit, commit]);
  expect(weights[1].range).toMatch(/^bytes=[1-9]\d*-$/);
  expect(weights[1].status).toBe(206);
});

it('refuses a repository that is not a GPT-2 before fetching any weight, and a name that is not one', async () => {
  const bert = await runCli(['google-bert/bert-base-uncased']);
  expect(bert.code).not.toBe(0);
  expect(bert.stderr).toBe('error: google-bert/bert-base-uncased is a bert model (BertForMaskedLM), not GPT-2: this app runs only checkpoints with GPT-2\'s architecture (model_type "gpt2")\n');
  expect((await hubLog()).filter((request) => request.file === 'model.safetensors')).toEqual([]);

  const missing = await runCli(['nobody/nothing']);
  expect(missing.stderr).toMatch(/^error: the hub has no public repository nobody\/nothing: check the name/);
});
