import { defineConfig } from 'vite';
import { assemblyScriptPlugin } from './scripts/assemblyscript.ts';

export default defineConfig({
  plugins: [assemblyScriptPlugin()],
  worker: { format: 'es' },
  build: { target: 'es2022' },
  server: { host: 'localhost' },
  preview: { host: 'localhost' },
});
