import { defineConfig, mergeConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import viteConfig from './vite.config.ts';
import { chromiumLaunchOptions } from './scripts/chromium.ts';
import { serveDirectoryPlugin } from './scripts/serve-directory-plugin.ts';
import { flakyModelServerPlugin } from './scripts/flaky-model-server-plugin.ts';

// Four kinds of tests: `unit` runs in Node (parsers, tokenizer, sampling, CLIs); `browser` runs
// inside real headless Chromium with WebGPU (kernels, the engine through its worker); `dawn` runs
// the shader-f16 path in Node on Dawn's WebGPU over Mesa's lavapipe, which, unlike Chromium's
// SwiftShader, has f16 (test/support/dawn-webgpu.ts); `e2e` drives the built app with Playwright
// (UI, service worker, offline, downloads).
export default mergeConfig(
  viteConfig,
  defineConfig({
    plugins: [serveDirectoryPlugin('/test-models/', '../shared/fixtures')],
    test: {
      globalSetup: ['test/support/global-setup.ts'],
      projects: [
        {
          extends: true,
          test: {
            name: 'unit',
            include: ['test/unit/**/*.test.ts'],
            environment: 'node',
            testTimeout: 60_000,
          },
        },
        {
          extends: true,
          plugins: [flakyModelServerPlugin('/flaky-hub/', '../shared/fixtures')],
          test: {
            name: 'browser',
            include: ['src/**/*.browser.test.ts', 'test/browser/**/*.test.ts'],
            testTimeout: 300_000,
            hookTimeout: 300_000,
            browser: {
              enabled: true,
              headless: true,
              provider: playwright({ launchOptions: chromiumLaunchOptions() }),
              instances: [{ browser: 'chromium' }],
              screenshotFailures: false,
            },
          },
        },
        {
          extends: true,
          test: {
            name: 'dawn',
            include: ['test/dawn/**/*.test.ts'],
            environment: 'node',
            setupFiles: ['test/support/dawn-webgpu.ts'],
            testTimeout: 300_000,
            hookTimeout: 300_000,
          },
        },
        {
          extends: true,
          test: {
            name: 'e2e',
            include: ['test/e2e/**/*.test.ts'],
            environment: 'node',
            testTimeout: 600_000,
            hookTimeout: 600_000,
            fileParallelism: false,
          },
        },
      ],
    },
  }),
);
