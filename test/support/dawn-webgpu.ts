// Setup for the `dawn` tests: WebGPU in Node through Dawn (Chromium's WebGPU implementation, as
// the `webgpu` package), on whatever Vulkan driver the machine has. They exist for what Chromium's
// SwiftShader adapter lacks: Mesa's lavapipe, a software Vulkan driver too, has 16-bit floats, so
// there the shader-f16 path runs on a real WebGPU device. navigator.gpu and the WebGPU constants
// become Dawn's, so the engine's own device setup (createGpuContext) runs unchanged.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true });
