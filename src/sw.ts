// The installed app's service worker (built by vite-plugin-pwa's injectManifest, which fills in
// self.__WB_MANIFEST): it precaches the app shell so the app starts with the network off, answers
// every navigation with index.html, and waits for the user before a new version takes over.
//
// It also adds the cross-origin isolation headers to everything it serves. Without them a page
// served from the cache, or by a static host that cannot set headers, is not isolated, and the CPU
// backend falls back to a single thread. And it adds the app's Content-Security-Policy (baked in at
// build time, scripts/content-security-policy.ts): the page has it as a <meta> tag, but workers
// take their policy only from their script's response.
import { addPlugins, cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute, type PrecacheEntry } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { CROSS_ORIGIN_ISOLATION_HEADERS } from './cross-origin-isolation.ts';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | PrecacheEntry)[] };
declare const __CONTENT_SECURITY_POLICY__: string;

const ADDED_HEADERS: Readonly<Record<string, string>> = {
  ...CROSS_ORIGIN_ISOLATION_HEADERS,
  'Content-Security-Policy': __CONTENT_SECURITY_POLICY__,
};

/** A copy of `response` with the added headers (a cached response's headers cannot be changed). */
function withAddedHeaders(response: Response): Response {
  // Opaque and error responses have no headers to add to; the app's own files are neither.
  if (response.type === 'opaque' || response.type === 'error') return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ADDED_HEADERS)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

addPlugins([{ handlerWillRespond: async ({ response }) => withAddedHeaders(response) }]);
precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
// Any address inside the app (a query string included) opens the app.
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html')));

// The update banner's Reload (registerSW's updateServiceWorker) asks the waiting worker to take over.
self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void self.skipWaiting();
});
