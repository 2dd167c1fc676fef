// The machine's own apt sources, read so that the test set-up can add Debian's backports suite
// from the mirror the machine already uses: no mirror's host name is written into this repository.
// Both formats apt reads: one-line `deb [options] uri suite components` in sources.list and
// *.list, and deb822 stanzas in *.sources.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  /** The keyring apt checks the suite against, when it is a file path or fingerprints (one line). */
  signedBy?: string;
}

/** The entries of a one-line-style file (sources.list, *.list). */
export function parseOneLineSources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*/, '').trim();
    const match = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!match) continue;
    const [, type, options = '', uri, suite, components] = match;
    const signedBy = /(?:^|\s)signed-by=(\S+)/.exec(options)?.[1];
    sources.push({ types: [type], uris: [uri], suites: [suite], components: components.split(/\s+/).filter(Boolean), signedBy });
  }
  return sources;
}

/** The enabled stanzas of a deb822-style file (*.sources). */
export function parseDeb822Sources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      if (/^\s/.test(line)) {
        // A continuation line: a field written over several lines, such as a key embedded in Signed-By.
        if (current && line.trim()) current.push(line.trim());
        continue;
      }
      const field = /^([\w-]+):\s*(.*)$/.exec(line);
      if (!field) continue;
      current = field[2] ? [field[2]] : [];
      fields.set(field[1].toLowerCase(), current);
    }
    const words = (name: string) => (fields.get(name) ?? []).join(' ').split(/\s+/).filter(Boolean);
    if (words('types').length === 0 || words('enabled')[0]?.toLowerCase() === 'no') continue;
    const signedBy = fields.get('signed-by');
    sources.push({
      types: words('types'),
      uris: words('uris'),
      suites: words('suites'),
      components: words('components'),
      // An embedded key spans lines and cannot travel into a one-line entry; Debian's archive key
      // is also in /etc/apt/trusted.gpg.d, so apt can check the suite without it.
      signedBy: signedBy?.length === 1 ? signedBy[0] : undefined,
    });
  }
  return sources;
}

/** Every source apt reads under `aptDirectory`: sources.list, then sources.list.d/*.list and *.sources. */
export function readAptSources(aptDirectory = '/etc/apt'): AptSource[] {
  const read = (path: string) => readFileSync(path, 'utf8');
  const sources: AptSource[] = [];
  const list = join(aptDirectory, 'sources.list');
  if (existsSync(list)) sources.push(...parseOneLineSources(read(list)));
  const partsDirectory = join(aptDirectory, 'sources.list.d');
  const parts = existsSync(partsDirectory) ? readdirSync(partsDirectory).sort() : [];
  for (const name of parts) {
    // Other names (*.disabled, *.save, ...) are not read by apt either.
    if (name.endsWith('.list')) sources.push(...parseOneLineSources(read(join(partsDirectory, name))));
    if (name.endsWith('.sources')) sources.push(...parseDeb822Sources(read(join(partsDirectory, name))));
  }
  return sources;
}

const isBinarySuite = (source: AptSource, suite: string) => source.types.includes('deb') && source.suites.includes(suite);

/** Whether apt already fetches `suite` (e.g. "bookworm-backports"). */
export function hasSuite(sources: AptSource[], suite: string): boolean {
  return sources.some((source) => isBinarySuite(source, suite));
}

/**
 * The one-line entry for `<codename>-backports main`, from the same URI (and keyring) as the
 * machine's `<codename> main`; null when no source fetches that suite.
 */
export function backportsSourceLine(sources: AptSource[], codename: string): string | null {
  const main = sources.find((source) => isBinarySuite(source, codename) && source.components.includes('main') && source.uris.length > 0);
  if (!main) return null;
  const options = main.signedBy ? `[signed-by=${main.signedBy}] ` : '';
  return `deb ${options}${main.uris[0]} ${codename}-backports main`;
}
