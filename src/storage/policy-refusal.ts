// Tells a fetch that the app's Content-Security-Policy refused from one that found no server. The
// browser rejects both with the same TypeError ("Failed to fetch"); only the
// `securitypolicyviolation` event it dispatches here just after the rejection says which it was.
// A refused fetch is not worth retrying, and the fix is a build that allows the origin
// (GPT2_HUB_ORIGINS, scripts/content-security-policy.ts), not the connection.

/** A fetch the policy refused; the message names the origin and how to allow it. */
export class RefusedByPolicy extends Error {
  override name = 'RefusedByPolicy';
}

/** A connection the policy refused: the URL as the browser names it, and the policy that refused it. */
interface Refusal {
  blockedUrl: string;
  policy: string;
  at: number;
}

/** How long a failed fetch waits for its violation event (Chromium sends it right after the rejection). */
const EVENT_WAIT_MS = 500;
const KEPT_REFUSALS = 16;

const refusals: Refusal[] = [];
const waiting = new Set<() => void>();
let listening = false;

function listen(): void {
  if (listening) return;
  listening = true;
  // Node (the CLIs and unit tests) has no policy and no such event.
  if (typeof self === 'undefined') return;
  self.addEventListener('securitypolicyviolation', (event) => {
    if (event.effectiveDirective !== 'connect-src') return;
    refusals.push({ blockedUrl: event.blockedURI, policy: event.originalPolicy, at: performance.now() });
    if (refusals.length > KEPT_REFUSALS) refusals.shift();
    for (const wake of waiting) wake();
  });
}

const originOf = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
};

/** The refusal of a connection to `url`'s origin noted since `since`, waiting a moment for it to arrive. */
async function refusalOf(url: URL, since: number): Promise<Refusal | undefined> {
  const find = () => refusals.find((refusal) => refusal.at >= since && originOf(refusal.blockedUrl) === url.origin);
  const found = find();
  if (found) return found;
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      waiting.delete(check);
      resolve(find());
    };
    const check = () => {
      if (find()) done();
    };
    const timer = setTimeout(done, EVENT_WAIT_MS);
    waiting.add(check);
  });
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/** Whether `scheme` (with its colon) is allowed where `allowed` is named: http: also allows https:, ws: also wss:. */
const schemeMatches = (allowed: string, scheme: string) =>
  scheme === allowed || (allowed === 'http:' && scheme === 'https:') || (allowed === 'ws:' && scheme === 'wss:');

/** CSP's matching of one source expression against a URL, for origins (paths are not looked at). */
function sourceMatches(source: string, url: URL, self: URL): boolean {
  const expression = source.toLowerCase();
  if (expression === "'self'") return url.origin === self.origin;
  if (expression === '*') return url.protocol in DEFAULT_PORTS;
  if (/^[a-z][a-z0-9+.-]*:$/.test(expression)) return schemeMatches(expression, url.protocol);
  const parts = /^(?:([a-z][a-z0-9+.-]*:)\/\/)?(\*|(?:\*\.)?[^:/*]+)(?::(\d+|\*))?(?:\/.*)?$/.exec(expression);
  if (!parts) return false;
  const [, scheme, host, port] = parts;
  if (!schemeMatches(scheme ?? self.protocol, url.protocol)) return false;
  if (host !== '*' && (host.startsWith('*.') ? !url.hostname.endsWith(host.slice(1)) : url.hostname !== host)) return false;
  if (port === '*') return true;
  const allowedPort = port ?? DEFAULT_PORTS[scheme ?? url.protocol];
  const urlPort = url.port || DEFAULT_PORTS[url.protocol];
  return urlPort === allowedPort || (allowedPort === '80' && urlPort === '443');
}

/** Whether `policy` lets a context at `selfOrigin` connect to `url`'s origin. */
export function connectSrcAllows(policy: string, url: URL, selfOrigin: string): boolean {
  const directives = new Map<string, string[]>();
  for (const directive of policy.split(';')) {
    const [name, ...sources] = directive.trim().split(/\s+/);
    if (name && !directives.has(name.toLowerCase())) directives.set(name.toLowerCase(), sources);
  }
  const sources = directives.get('connect-src') ?? directives.get('default-src');
  return sources === undefined || sources.some((source) => sourceMatches(source, url, new URL(selfOrigin)));
}

/** What to tell the user about `url` refused by `policy`. */
export function refusalMessage(url: URL, policy: string, selfOrigin: string): string {
  if (connectSrcAllows(policy, url, selfOrigin)) {
    // The origin asked for is allowed, so what was refused is where it redirected to, and the
    // browser names the URL asked for, never the redirect's target.
    return `${url.href} redirects to another origin, which the app's Content-Security-Policy does not allow ` +
      `(the browser does not say which; curl -sI ${url.href} shows it as Location): rebuild the app with that origin in GPT2_HUB_ORIGINS`;
  }
  return `the app's Content-Security-Policy does not allow connecting to ${url.origin}: rebuild the app with GPT2_HUB_ORIGINS=${url.origin} to allow it`;
}

/** `fetchFile`, but a fetch the policy refused rejects with RefusedByPolicy instead of a TypeError. */
export function policyAwareFetch(fetchFile: typeof fetch): typeof fetch {
  return async (input, init) => {
    listen();
    const since = performance.now();
    try {
      return await fetchFile(input, init);
    } catch (error) {
      // An abort is a DOMException; only a network error can be a refusal.
      if (!(error instanceof TypeError)) throw error;
      const url = new URL(input instanceof Request ? input.url : String(input), location.href);
      const refusal = await refusalOf(url, since);
      if (!refusal) throw error;
      throw new RefusedByPolicy(refusalMessage(url, refusal.policy, location.origin), { cause: error });
    }
  };
}
