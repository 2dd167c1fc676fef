// The built app's Content-Security-Policy, as a <meta> tag Vite adds to index.html at build time,
// and as a header from the preview server and the service worker, which is how the workers get it
// (vite.config.ts, src/sw.ts). The dev server's hot reload needs inline scripts, so `npm start`
// runs without it.
//
// Scripts only from the app's own origin: no inline scripts and no eval; 'wasm-unsafe-eval' lets
// the worker compile the weight parser's WASM. Network access only to the app's origin and the
// HuggingFace hub (whose downloads redirect to *.hf.co); a build for another hub names its origins
// in GPT2_HUB_ORIGINS (space-separated). Inline styles are allowed for the page's palette.
//
// The CPU backend needs nothing more: `worker-src 'self'` covers the engine's worker, and the
// kernel threads it starts are same-origin module workers too (no blob: URLs); sharing WASM
// memory between them is allowed by the cross-origin isolation headers
// (src/cross-origin-isolation.ts), not by the policy.
import type { Plugin } from 'vite';

const HUB_ORIGINS = ['https://huggingface.co', 'https://*.huggingface.co', 'https://*.hf.co'];

export function contentSecurityPolicy(extraHubOrigins = process.env.GPT2_HUB_ORIGINS ?? ''): string {
  const hubs = [...HUB_ORIGINS, ...extraHubOrigins.split(/\s+/).filter(Boolean)];
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    `connect-src 'self' ${hubs.join(' ')}`,
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join('; ');
}

export function contentSecurityPolicyPlugin(): Plugin {
  return {
    name: 'content-security-policy',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy() }, injectTo: 'head-prepend' }],
    },
  };
}
