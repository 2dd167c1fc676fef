// The test set-up's prerequisite check (scripts/test-prerequisites.ts, npm's `pretest`): the
// backports source it derives from the machine's own apt sources, in both of apt's formats, the
// commands it runs or names, and the one line it stops with. Nothing here installs anything.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backportsSourceLine, readAptSources } from '../../scripts/apt-sources.ts';
import { chromiumPath } from '../../scripts/chromium.ts';
import { installCommands, missingMessage, type AptFacts } from '../../scripts/test-prerequisites.ts';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

describe('the backports source, from the apt sources in a folder', () => {
  let aptDirectory: string;
  const write = (path: string, text: string) => {
    mkdirSync(join(aptDirectory, 'sources.list.d'), { recursive: true });
    writeFileSync(join(aptDirectory, path), text);
  };
  beforeEach(() => {
    aptDirectory = mkdtempSync(join(tmpdir(), 'apt-sources-'));
  });
  afterEach(() => rmSync(aptDirectory, { recursive: true, force: true }));

  it('reuses the URI and keyring of the main suite in a deb822 .sources file', () => {
    write('sources.list.d/debian.sources', [
      'Types: deb',
      '# a comment inside the stanza',
      'URIs: http://apt.example.org/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      `Signed-By: ${KEYRING}`,
      '',
      'Types: deb',
      'URIs: http://security.example.org/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      '',
    ].join('\n'));
    expect(backportsSourceLine(readAptSources(aptDirectory), 'bookworm')).toBe(
      `deb [signed-by=${KEYRING}] http://apt.example.org/debian bookworm-backports main`,
    );
  });

  it('reuses the URI of the main suite in a one-line sources.list, options and comments aside', () => {
    write('sources.list', [
      '# deb http://old.example.org/debian bookworm main',
      'deb-src http://src.example.org/debian bookworm main',
      'deb http://security.example.org/debian-security bookworm-security main',
      `deb [arch=amd64 signed-by=${KEYRING}] http://apt.example.org/debian bookworm main contrib non-free-firmware  # the mirror`,
    ].join('\n'));
    expect(backportsSourceLine(readAptSources(aptDirectory), 'bookworm')).toBe(
      `deb [signed-by=${KEYRING}] http://apt.example.org/debian bookworm-backports main`,
    );
  });

  it('skips disabled stanzas and files apt does not read, and leaves out a key embedded in Signed-By', () => {
    write('sources.list.d/old.sources', 'Types: deb\nURIs: http://disabled.example.org/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n');
    write('sources.list.d/other.list.disabled', 'deb http://ignored.example.org/debian bookworm main\n');
    write('sources.list.d/debian.sources', [
      'Types: deb',
      'URIs: http://apt.example.org/debian',
      'Suites: bookworm',
      'Components: main',
      'Signed-By:',
      ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
      ' .',
      ' mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPR5lsD0UUKx+bwjvIZn',
      ' -----END PGP PUBLIC KEY BLOCK-----',
      '',
    ].join('\n'));
    expect(backportsSourceLine(readAptSources(aptDirectory), 'bookworm')).toBe('deb http://apt.example.org/debian bookworm-backports main');
  });

  it('finds nothing where no source fetches the main suite', () => {
    write('sources.list', 'deb http://apt.example.org/debian bookworm-updates main\n');
    expect(backportsSourceLine(readAptSources(aptDirectory), 'bookworm')).toBeNull();
    expect(backportsSourceLine(readAptSources(join(aptDirectory, 'no-such-folder')), 'bookworm')).toBeNull();
  });
});

describe('the commands that install what is missing', () => {
  const bookworm: AptFacts = {
    codename: 'bookworm',
    sources: [{ types: ['deb'], uris: ['http://apt.example.org/debian'], suites: ['bookworm', 'bookworm-updates'], components: ['main'], signedBy: KEYRING }],
    mesaCandidateIsRecent: false,
  };

  it('names, for someone who is not root, the backports source to add and every command, in one line', () => {
    const line = missingMessage(['chromium', 'lavapipe', 'bible'], installCommands(['chromium', 'lavapipe', 'bible'], bookworm, 'sudo '));
    expect(line).toBe(
      `the tests need Chromium (${chromiumPath}), Mesa's lavapipe (mesa-vulkan-drivers 23 or later), the bible command (bible-kjv); install with: ` +
        `echo 'deb [signed-by=${KEYRING}] http://apt.example.org/debian bookworm-backports main' | sudo tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null && ` +
        'sudo apt-get update && sudo apt-get install -y chromium bible-kjv && sudo apt-get install -y -t bookworm-backports mesa-vulkan-drivers',
    );
    expect(line).not.toContain('\n');
  });

  it('takes Mesa from the main suite where it is recent enough, and adds no source that is there already', () => {
    expect(installCommands(['lavapipe'], { ...bookworm, mesaCandidateIsRecent: true }, '')).toEqual(['apt-get update', 'apt-get install -y mesa-vulkan-drivers']);
    const withBackports = { ...bookworm, sources: [...bookworm.sources, { ...bookworm.sources[0], suites: ['bookworm-backports'] }] };
    expect(installCommands(['lavapipe', 'bible'], withBackports, '')).toEqual([
      'apt-get update',
      'apt-get install -y bible-kjv',
      'apt-get install -y -t bookworm-backports mesa-vulkan-drivers',
    ]);
  });

  it('says what to do where no apt source names the main suite to take the address from', () => {
    expect(() => installCommands(['lavapipe'], { ...bookworm, sources: [] }, 'sudo ')).toThrow(
      /^Mesa 23 or later comes from bookworm-backports, and no apt source for "bookworm main" was found in \/etc\/apt .*: add bookworm-backports to the apt sources, then run: sudo apt-get update && sudo apt-get install -y -t bookworm-backports mesa-vulkan-drivers$/,
    );
  });
});

it('stops with one line, installing nothing, when CHROMIUM_PATH names no executable', async () => {
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/test-prerequisites.ts'],
      { env: { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toBe("error: CHROMIUM_PATH is /nonexistent/chromium, which is not an executable: point it at Chromium, or unset it to use Debian's /usr/bin/chromium\n");
});
