// WebGPU adapter and device setup. Asks for the adapter's own buffer limits rather than WebGPU's
// defaults (128 MiB bindings would not even hold GPT-2 124M's token embedding).

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean; // a software adapter (SwiftShader) or one the browser marks as such
}

export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterSummary;
  hasShaderF16: boolean;
  /** Subgroup operations (subgroupAdd): the matrix-vector kernels reduce with them when present. */
  hasSubgroups: boolean;
  /** Resolves if the device is lost (driver reset, GPU removed, tab backgrounded too long). */
  lost: Promise<GPUDeviceLostInfo>;
}

/** No usable WebGPU: the message says what the user can do about it. */
export class WebGpuUnavailableError extends Error {
  override name = 'WebGpuUnavailableError';
}

export async function createGpuContext(): Promise<GpuContext> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new WebGpuUnavailableError(
      'This browser does not expose WebGPU (navigator.gpu is missing). Use a current Chrome, Edge or ' +
        'Safari, or enable WebGPU in the browser flags (chrome://flags/#enable-unsafe-webgpu); ' +
        'the page must be served over https or from localhost.',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'WebGPU is present but no GPU adapter is available (the GPU may be blocklisted or its driver ' +
        'too old). Update the graphics driver, or try chrome://flags/#enable-unsafe-webgpu.',
    );
  }
  const hasShaderF16 = adapter.features.has('shader-f16');
  const hasSubgroups = adapter.features.has('subgroups');
  const requiredFeatures: GPUFeatureName[] = [];
  if (hasShaderF16) requiredFeatures.push('shader-f16');
  if (hasSubgroups) requiredFeatures.push('subgroups');
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
    },
  });
  const info = adapter.info;
  return {
    device,
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description,
      isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    },
    hasShaderF16,
    hasSubgroups,
    lost: device.lost,
  };
}
