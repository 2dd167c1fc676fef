// A Vite plugin that serves a folder of model files under a URL prefix (with Range support), for
// the test runner and the headless tools. Paths that escape the folder are refused.
import { resolve, sep } from 'node:path';
import type { Plugin } from 'vite';
import { serveFile } from './static-files.ts';

export function serveDirectoryPlugin(urlPrefix: string, directory: string): Plugin {
  const root = resolve(directory);
  return {
    name: `serve-directory:${urlPrefix}`,
    configureServer(server) {
      server.middlewares.use(urlPrefix, (request, response) => {
        const relative = decodeURIComponent((request.url ?? '/').split('?')[0]);
        const path = resolve(root, '.' + relative);
        if (path !== root && !path.startsWith(root + sep)) {
          response.statusCode = 403;
          response.end();
          return;
        }
        serveFile(request, response, path);
      });
    },
  };
}
