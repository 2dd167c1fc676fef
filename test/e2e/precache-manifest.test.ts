// The service worker's precache list as the build writes it into sw.js: the app shell, the web
// app manifest and its icons, each listed once.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { builtApp } from './support/app-server.ts';

interface PrecacheEntry {
  url: string;
  revision: string | null;
}

/** The list workbox-build put where src/sw.ts says `self.__WB_MANIFEST`: a JSON array of {revision, url}. */
function precacheList(serviceWorker: string): PrecacheEntry[] {
  const list = /\[\{"(?:revision|url)":[^\]]*\]/.exec(serviceWorker);
  if (!list) throw new Error('sw.js holds no precache list: did workbox-build inject one?');
  return JSON.parse(list[0]) as PrecacheEntry[];
}

it('precaches the app shell, the manifest and each icon once', async () => {
  const outDir = await builtApp();
  const urls = precacheList(readFileSync(join(outDir, 'sw.js'), 'utf8')).map((entry) => entry.url);
  const twice = urls.filter((url, index) => urls.indexOf(url) !== index);
  expect(twice).toEqual([]);
  const icons = readdirSync(outDir).filter((name) => /^icon-.*\.png$/.test(name));
  expect(icons).toHaveLength(3);
  const shell = readdirSync(join(outDir, 'assets')).filter((name) => /\.(js|css|wasm)$/.test(name)).map((name) => `assets/${name}`);
  expect(urls).toEqual(expect.arrayContaining(['index.html', 'manifest.webmanifest', ...icons, ...shell]));
});
