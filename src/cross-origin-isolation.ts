// The response headers that make the app cross-origin isolated: only then may a page share memory
// between threads (SharedArrayBuffer, shared WebAssembly.Memory), which the CPU backend's kernel
// threads need. The dev and preview servers send them (vite.config.ts), and the service worker adds
// them to what it serves (src/sw.ts), so the installed app is isolated even on a host that cannot
// set headers, or offline.
//
// COEP `require-corp` rather than `credentialless`: every cross-origin request the app makes is a
// CORS fetch from the engine worker to the model hub (huggingface.co and its *.hf.co download
// hosts answer with Access-Control-Allow-Origin), which require-corp allows; and require-corp is
// understood by every browser with WebGPU or WASM SIMD, where Safari ignores `credentialless`.
export const CROSS_ORIGIN_ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};
