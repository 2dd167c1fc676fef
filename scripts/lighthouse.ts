// npm run lighthouse [-- --runs 5]
// Lighthouse 12.2.3 (13 needs Node 22) on the built app, with its default mobile preset (an emulated
// mid-range phone, simulated slow 4G and a 4× slower CPU), each run a first visit on a fresh profile:
// the demo model is saved and loaded as the page starts. Prints the median score of each category,
// the spread, and the metrics behind performance, as one JSON line; the last run's report is kept
// in .cache/lighthouse/. Lighthouse is fetched by npx at that pinned version, not installed with the
// app's dependencies (it is 110 MB and only this script uses it).
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';
import { build, preview } from 'vite';
import { chromiumPath } from './chromium.ts';

const LIGHTHOUSE = 'lighthouse@12.2.3';
const CATEGORIES = ['performance', 'accessibility', 'best-practices'];
const METRICS = ['first-contentful-paint', 'largest-contentful-paint', 'total-blocking-time', 'cumulative-layout-shift', 'speed-index'];

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
const outDir = '.cache/lighthouse-dist';
const reportPath = '.cache/lighthouse/report.json';
mkdirSync('.cache/lighthouse', { recursive: true });
await build({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir, emptyOutDir: true } });
const server = await preview({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir }, preview: { port: 0, strictPort: false } });

interface Report {
  categories: Record<string, { score: number }>;
  audits: Record<string, { numericValue: number }>;
}

const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)];
const reports: Report[] = [];
try {
  for (let run = 0; run < runs; run++) {
    const chromeFlags = ['--headless=new', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
    if (process.getuid?.() === 0) chromeFlags.push('--no-sandbox');
    // Not execFileSync: the preview server runs in this process and must go on answering.
    await promisify(execFile)('npx', ['--yes', LIGHTHOUSE, server.resolvedUrls!.local[0], '--quiet', `--only-categories=${CATEGORIES.join(',')}`,
      '--output=json', `--output-path=${reportPath}`, `--chrome-flags=${chromeFlags.join(' ')}`], {
      env: { ...process.env, CHROME_PATH: chromiumPath },
    });
    reports.push(JSON.parse(readFileSync(reportPath, 'utf8')) as Report);
  }
} finally {
  server.httpServer.close();
}

const summary: Record<string, unknown> = { lighthouse: LIGHTHOUSE, preset: 'mobile', runs };
for (const category of CATEGORIES) {
  const scores = reports.map((report) => Math.round(report.categories[category].score * 100));
  summary[category] = { median: median(scores), all: scores };
}
for (const metric of METRICS) {
  const values = reports.map((report) => report.audits[metric].numericValue);
  summary[metric] = metric === 'cumulative-layout-shift' ? Number(median(values).toFixed(3)) : Math.round(median(values));
}
console.log(JSON.stringify(summary));
