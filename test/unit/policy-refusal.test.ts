// How a download refused by the app's Content-Security-Policy is explained (src/storage/policy-refusal.ts):
// whether the policy allows the origin asked for, which tells a refused origin from a refused
// redirect, and the message for each. The refusal itself is seen in Chromium, in
// test/e2e/built-policy.test.ts.
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../scripts/content-security-policy.ts';
import { connectSrcAllows, refusalMessage } from '../../src/storage/policy-refusal.ts';

const APP = 'http://localhost:4173';
const allows = (policy: string, url: string) => connectSrcAllows(policy, new URL(url), APP);

describe("the app's own policy", () => {
  const policy = contentSecurityPolicy('http://127.0.0.1:8080 https://hub.example.org');

  it('allows its own origin, the hub and its CDN, and the origins it was built with', () => {
    for (const url of [
      `${APP}/models/kjv-demo/config.json`,
      'https://huggingface.co/openai-community/gpt2/resolve/main/model.safetensors',
      'https://cas-bridge.xethub.hf.co/xet-bridge-us/abc',
      'http://127.0.0.1:8080/test-hub/x',
      'https://hub.example.org/hf/gpt2/resolve/main/config.json',
    ]) expect(allows(policy, url), url).toBe(true);
  });

  it('refuses other origins, ports and schemes', () => {
    for (const url of [
      'http://127.0.0.1:4173/test-hub/x',
      'http://127.0.0.1:8081/test-hub/x',
      'http://localhost:4174/x',
      'https://hf.co/x',
      'http://huggingface.co/x',
      'https://huggingface.co.example.org/x',
    ]) expect(allows(policy, url), url).toBe(false);
  });
});

it("reads CSP's other source expressions, and default-src where there is no connect-src", () => {
  expect(allows("default-src 'self'", 'http://127.0.0.1/')).toBe(false);
  expect(allows("default-src 'none'; connect-src https:", 'https://anywhere.example.org/')).toBe(true);
  expect(allows('connect-src http:', 'https://anywhere.example.org/')).toBe(true);
  expect(allows("connect-src 'self' *", 'https://anywhere.example.org/')).toBe(true);
  expect(allows('connect-src 127.0.0.1:*', 'http://127.0.0.1:9999/')).toBe(true);
  expect(allows('connect-src 127.0.0.1', 'http://127.0.0.1:9999/')).toBe(false);
  expect(allows('connect-src http://example.org', 'https://example.org/')).toBe(true);
  expect(allows("img-src 'self'", 'http://127.0.0.1/')).toBe(true);
});

describe('the message', () => {
  const policy = contentSecurityPolicy('');

  it('names a refused origin, and the build setting that allows it', () => {
    expect(refusalMessage(new URL('http://127.0.0.1:8080/test-hub/gpt2/resolve/main/config.json'), policy, APP)).toBe(
      "the app's Content-Security-Policy does not allow connecting to http://127.0.0.1:8080: rebuild the app with GPT2_HUB_ORIGINS=http://127.0.0.1:8080 to allow it",
    );
  });

  it('blames the redirect where the origin asked for is allowed, since the browser names only that one', () => {
    const url = 'https://huggingface.co/openai-community/gpt2/resolve/main/model.safetensors';
    expect(refusalMessage(new URL(url), policy, APP)).toBe(
      `${url} redirects to another origin, which the app's Content-Security-Policy does not allow ` +
        `(the browser does not say which; curl -sI ${url} shows it as Location): rebuild the app with that origin in GPT2_HUB_ORIGINS`,
    );
  });
});
