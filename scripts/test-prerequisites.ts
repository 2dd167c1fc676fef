// npm's `pretest`: makes sure this machine has the programs the tests drive, before any test runs.
//   Chromium: the browser and e2e tests (Debian's `chromium`, or CHROMIUM_PATH; scripts/chromium.ts)
//   Mesa's lavapipe 23 or later: the `dawn` tests' Vulkan driver (Debian's `mesa-vulkan-drivers`;
//     Debian 12 has 22.3 in its main suite, 23 and later only in its backports suite)
//   `bible`: the KJV text the demo model's tests rebuild its held-out text from (Debian's `bible-kjv`)
// What is missing is installed with apt-get when this process may (root, or passwordless sudo);
// otherwise it stops at once with one line giving the command that installs it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { backportsSourceLine, hasSuite, readAptSources, type AptSource } from './apt-sources.ts';
import { chromiumPath } from './chromium.ts';

export type Prerequisite = 'chromium' | 'lavapipe' | 'bible';

const DESCRIPTIONS: Record<Prerequisite, string> = {
  chromium: `Chromium (${chromiumPath})`,
  lavapipe: "Mesa's lavapipe (mesa-vulkan-drivers 23 or later)",
  bible: 'the bible command (bible-kjv)',
};

/** What apt says about the machine, for deciding where mesa-vulkan-drivers comes from. */
export interface AptFacts {
  /** Debian's release name, from /etc/os-release (e.g. "bookworm"). */
  codename: string;
  sources: AptSource[];
  /** Whether the version apt would install today is 23 or later. */
  mesaCandidateIsRecent: boolean;
}

/** The shell commands that install `missing`, each run with `sudo` in front when not root. */
export function installCommands(missing: Prerequisite[], apt: AptFacts, sudo: string): string[] {
  const commands = [`${sudo}apt-get update`];
  const packages = [
    ...(missing.includes('chromium') ? ['chromium'] : []),
    ...(missing.includes('bible') ? ['bible-kjv'] : []),
  ];
  if (missing.includes('lavapipe') && apt.mesaCandidateIsRecent) packages.push('mesa-vulkan-drivers');
  if (packages.length > 0) commands.push(`${sudo}apt-get install -y ${packages.join(' ')}`);
  if (missing.includes('lavapipe') && !apt.mesaCandidateIsRecent) {
    const backports = `${apt.codename}-backports`;
    if (!hasSuite(apt.sources, backports)) {
      const line = backportsSourceLine(apt.sources, apt.codename);
      if (line === null) {
        throw new Error(
          `Mesa 23 or later comes from ${backports}, and no apt source for "${apt.codename} main" was found in /etc/apt to take its address from: ` +
            `add ${backports} to the apt sources, then run: ${sudo}apt-get update && ${sudo}apt-get install -y -t ${backports} mesa-vulkan-drivers`,
        );
      }
      commands.unshift(`echo '${line}' | ${sudo}tee /etc/apt/sources.list.d/${backports}.list >/dev/null`);
    }
    commands.push(`${sudo}apt-get install -y -t ${backports} mesa-vulkan-drivers`);
  }
  return commands;
}

const described = (needs: Prerequisite[]) => needs.map((need) => DESCRIPTIONS[need]).join(', ');

/** The line that tells someone who cannot install packages what to run. */
export function missingMessage(missing: Prerequisite[], commands: string[]): string {
  return `the tests need ${described(missing)}; install with: ${commands.join(' && ')}`;
}

function shell(command: string): { ok: boolean; stdout: string } {
  const result = spawnSync('sh', ['-c', command], { encoding: 'utf8' });
  return { ok: result.status === 0, stdout: result.stdout ?? '' };
}

const isExecutable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** dpkg's comparison of Debian versions (epochs, tildes), rather than a rewrite of it. */
const isAtLeast23 = (version: string) => version !== '' && shell(`dpkg --compare-versions '${version}' ge 23`).ok;

/** Mesa as installed: without dpkg (not Debian) there is no version to check, and nothing to install it with. */
function lavapipeMissing(): boolean {
  if (!shell('command -v dpkg-query').ok) return false;
  return !isAtLeast23(shell("dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null").stdout.trim());
}

function missingPrerequisites(): Prerequisite[] {
  const missing: Prerequisite[] = [];
  if (!isExecutable(chromiumPath)) missing.push('chromium');
  if (lavapipeMissing()) missing.push('lavapipe');
  if (!shell('command -v bible').ok) missing.push('bible');
  return missing;
}

function aptFacts(): AptFacts {
  const osRelease = readFileSync('/etc/os-release', 'utf8');
  const candidate = /Candidate:\s*(\S+)/.exec(shell('apt-cache policy mesa-vulkan-drivers').stdout)?.[1] ?? '';
  return {
    codename: /^VERSION_CODENAME=["']?([^"'\n]*)/m.exec(osRelease)?.[1] ?? '',
    sources: readAptSources(),
    mesaCandidateIsRecent: isAtLeast23(candidate),
  };
}

/** '' as root, 'sudo ' where sudo needs no password, null where this process cannot install. */
function installPrefix(): string | null {
  if (!shell('command -v apt-get').ok) return null;
  if (process.getuid?.() === 0) return '';
  return shell('sudo -n true 2>/dev/null').ok ? 'sudo ' : null;
}

function main(): void {
  const missing = missingPrerequisites();
  if (missing.length === 0) return;
  if (missing.includes('chromium') && process.env.CHROMIUM_PATH !== undefined) {
    throw new Error(`CHROMIUM_PATH is ${chromiumPath}, which is not an executable: point it at Chromium, or unset it to use Debian's /usr/bin/chromium`);
  }
  if (!shell('command -v apt-get').ok) {
    throw new Error(`the tests need ${described(missing)}, and without apt-get they cannot be installed from here: install them, then run npm test again`);
  }
  const prefix = installPrefix();
  if (prefix === null) {
    // Without running apt-get update the lists may be old or empty; the commands still work then,
    // since -t <codename>-backports falls back to the main suite's version where backports has none.
    throw new Error(missingMessage(missing, installCommands(missing, aptFacts(), 'sudo ')));
  }
  process.stderr.write(`Installing what the tests need: ${described(missing)}\n`);
  // The lists first, so that the candidate version of Mesa is today's.
  const update = `${prefix}apt-get update -qq`;
  if (!shell(update).ok) throw new Error(`${update} failed: check the apt sources and the network, then run npm test again`);
  for (const command of installCommands(missing, aptFacts(), prefix)) {
    const result = spawnSync('sh', ['-c', command], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) throw new Error(`${command} failed (see above): fix what apt says, then run npm test again`);
  }
  const stillMissing = missingPrerequisites();
  if (stillMissing.length > 0) {
    throw new Error(`after installing, the tests still lack ${described(stillMissing)}: install them by hand, then run npm test again`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
