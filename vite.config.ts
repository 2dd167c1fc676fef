import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { assemblyScriptPlugin } from './scripts/assemblyscript.ts';
import { contentSecurityPolicy, contentSecurityPolicyPlugin } from './scripts/content-security-policy.ts';
import { CROSS_ORIGIN_ISOLATION_HEADERS } from './src/cross-origin-isolation.ts';

// The service worker precaches the whole app shell (JS, the parser's and the CPU kernels' WASM, the
// tokenizer's ranks inside the worker bundle, icons), so the installed app starts with the network
// off. Model files are not precached: the worker keeps downloaded models in the Origin Private File
// System. It is our own (src/sw.ts) rather than a generated one because it must add the
// cross-origin isolation headers to what it serves.
const pwa = VitePWA({
  strategies: 'injectManifest',
  srcDir: 'src',
  filename: 'sw.ts',
  // A new version waits until the user accepts the prompt the app shows (src/main.ts).
  registerType: 'prompt',
  injectRegister: false,
  manifest: {
    name: 'GPT-2 in your browser',
    short_name: 'GPT-2',
    description: "OpenAI's GPT-2 running on your own device (WebGPU, or WASM SIMD on the CPU), offline once a model is downloaded.",
    start_url: '.',
    scope: '.',
    display: 'standalone',
    background_color: '#eaeef3',
    theme_color: '#2f5d8a',
    icons: [
      { src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
      { src: 'icon-512.png', sizes: '512x512', type: 'image/png' },
      { src: 'icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    ],
  },
  injectManifest: {
    // What the build makes. The plugin itself adds the web app manifest and its icons (from
    // public/): matching them here too listed each of them twice.
    globPatterns: ['**/*.{js,css,html,wasm,svg}'],
    // The worker bundle carries the tokenizer's 50k merges (~1 MB); precache it all.
    maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
  },
});

// The built app's policy also travels as a header, from the preview server (which reads it from the
// build, see the plugin) and from the service worker (which gets it through `define`): a <meta>
// policy governs the page only, and the engine's worker and its kernel threads take theirs from
// their own script's response headers.
const policy = contentSecurityPolicy();

export default defineConfig({
  plugins: [assemblyScriptPlugin(), pwa, contentSecurityPolicyPlugin(policy)],
  define: { __CONTENT_SECURITY_POLICY__: JSON.stringify(policy) },
  worker: { format: 'es' },
  build: { target: 'es2022' },
  server: { host: 'localhost', headers: CROSS_ORIGIN_ISOLATION_HEADERS },
  preview: { host: 'localhost', headers: CROSS_ORIGIN_ISOLATION_HEADERS },
});
