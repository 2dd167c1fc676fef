// How every script and test starts Chromium: Debian's build (Playwright's own browser download is
// unavailable offline), headless, with WebGPU on, and without the background services that would
// try to reach Google from a machine with no network.
import type { LaunchOptions } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromiumLaunchOptions({ webgpu = true }: { webgpu?: boolean } = {}): LaunchOptions {
  const args = [
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    '--no-first-run',
  ];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  // Chromium refuses to start its sandbox as root (CI containers run as root).
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  // On a machine with a real GPU, CHROMIUM_GPU=vulkan lets Dawn use it instead of SwiftShader.
  if (process.env.CHROMIUM_GPU === 'vulkan') {
    args.push('--enable-features=Vulkan', '--use-vulkan=native', '--use-angle=vulkan', '--ignore-gpu-blocklist');
  }
  return { executablePath: chromiumPath, headless: true, args };
}
