// The built app's Content-Security-Policy, as a <meta> tag Vite adds to index.html at build time,
// and as a header from the preview server and the service worker, which is how the workers get it
// (vite.config.ts, src/sw.ts). The dev server's hot reload needs inline scripts, so `npm start`
// runs without it.
//
// The policy is fixed when the app is built: the build writes it into its output beside
// index.html, and `vite preview` sends what it finds there, so a build previews as it was built
// whatever the environment of the preview (GPT2_HUB_ORIGINS matters to `npm run build` only).
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
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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

/** Where in the build's output its policy is written, for servers to send as a header. */
export const POLICY_FILE = 'content-security-policy.txt';

/** Writes `policy` into the build, and has `vite preview` send the policy of the build it serves. */
export function contentSecurityPolicyPlugin(policy: string): Plugin[] {
  return [
    {
      name: 'content-security-policy',
      apply: 'build',
      transformIndexHtml: {
        order: 'post',
        handler: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: policy }, injectTo: 'head-prepend' }],
      },
      generateBundle() {
        this.emitFile({ type: 'asset', fileName: POLICY_FILE, source: `${policy}\n` });
      },
    },
    {
      name: 'content-security-policy:preview',
      configurePreviewServer(server) {
        const file = resolve(server.config.root, server.config.build.outDir, POLICY_FILE);
        let warned = false;
        server.middlewares.use((_request, response, next) => {
          // Read on every request: a build into the same folder replaces the app being served.
          let built: string;
          try {
            built = readFileSync(file, 'utf8').trim();
          } catch {
            if (!warned) server.config.logger.warn(`${file} is missing, so no Content-Security-Policy is sent: build the app again (npm run build)`);
            warned = true;
            return next();
          }
          // A header set by the preview's own configuration (preview.headers) still replaces this one.
          response.setHeader('Content-Security-Policy', built);
          next();
        });
      },
    },
  ];
}
