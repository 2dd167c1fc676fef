// Compiles the AssemblyScript modules named in asconfig.json, and a Vite plugin that does it
// before every build, dev server and test run, so nobody has to remember a separate step.
import asc from 'assemblyscript/asc';
import { readFileSync, readdirSync, statSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Plugin } from 'vite';

interface AsConfig {
  targets: Record<string, { entries: string[]; outFile: string }>;
}

function newestSourceTime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceTime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds every target whose output is older than its sources; throws with asc's diagnostics. */
export async function compileAssemblyScript(root: string, force = false): Promise<string[]> {
  const configPath = resolve(root, 'asconfig.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as AsConfig;
  const sourcesTime = Math.max(newestSourceTime(resolve(root, 'assembly')), statSync(configPath).mtimeMs);
  const built: string[] = [];
  for (const [target, { entries, outFile }] of Object.entries(config.targets)) {
    const out = resolve(root, outFile);
    if (!force && existsSync(out) && statSync(out).mtimeMs >= sourcesTime) continue;
    mkdirSync(dirname(out), { recursive: true });
    let stderr = '';
    const result = await asc.main(
      [...entries, '--config', 'asconfig.json', '--target', target, '--baseDir', root],
      { stderr: { write: (text: string | Uint8Array) => { stderr += String(text); return true; } } as never },
    );
    if (result.error) throw new Error(`AssemblyScript target "${target}" failed:\n${stderr}`);
    built.push(outFile);
  }
  return built;
}

export function assemblyScriptPlugin(): Plugin {
  let root = process.cwd();
  return {
    name: 'assemblyscript',
    configResolved(config) {
      root = config.root;
    },
    async buildStart() {
      await compileAssemblyScript(root);
    },
    configureServer(server) {
      const assemblyDir = resolve(root, 'assembly');
      server.watcher.add(assemblyDir);
      server.watcher.on('change', async (path) => {
        if (!path.startsWith(assemblyDir)) return;
        try {
          await compileAssemblyScript(root);
          server.ws.send({ type: 'full-reload' });
        } catch (error) {
          server.config.logger.error(String(error));
        }
      });
    },
  };
}
