// The engine inside the worker: owns the GPU device (or the CPU backend's memory and threads) and
// the loaded model, streams weight files through the AssemblyScript parser into it, and runs the model.
import parserWasmUrl from '../generated/weights-parser.wasm?url';
import { kernelBuildFor } from '../cpu/kernel-build-choice.ts';
import { compileCpuKernels, type KernelBuild } from '../cpu/kernel-modules.ts';
import type { CpuMemory } from '../cpu/cpu-memory.ts';
import { KernelThreads } from '../cpu/kernel-threads.ts';
import { loadCpuModel, restoreCpuModel, type LoadedCpuModel } from '../cpu/load-cpu-model.ts';
import { availableKernelThreads, webKernelThread } from '../cpu/web-kernel-thread.ts';
import { createGpuContext, type GpuContext } from '../gpu/device.ts';
import { Gpt2Gpu } from '../gpu/gpt2-gpu.ts';
import { unsupportedShapeReason } from '../gpu/kernels.ts';
import { bufferLimitReason, GpuLimitError, GpuWeights } from '../gpu/gpu-weights.ts';
import { parameterCount } from '../model/config.ts';
import { greedyStepByStep, type Gpt2Model } from '../model/gpt2-model.ts';
import type {
  CachedModel, DownloadProgress, DownloadRequest, EngineNotice, HubModelRequest, EngineStats, GenerationEvent, GenerationResult, GenerationSettings, TokensInspection,
  Backend, LoadOptions, LoadProgress, LogitsOptions, LogitsResult, ModelInfo, ModelSource, StorageInfo, WeightsDtype,
} from './engine-api.ts';
import { adapterName, CPU_WEIGHTS_DTYPE, gpuWeightsDtype, isSoftwareAdapter } from './default-choices.ts';
import { generate } from './generation.ts';
import { loadWeights, type WeightsSource } from '../weights/load-weights.ts';
import { downloadModel, unfinishedDownload } from '../storage/model-download.ts';
import { resolveHubModel } from '../storage/hub-repo.ts';
import { policyAwareFetch } from '../storage/policy-refusal.ts';
import { resolveModelSource } from './model-source.ts';
import { ModelStore, storageInfo } from '../storage/model-store.ts';
import { findCpuLayout, readCpuLayout, saveCpuLayout, SAVED_LAYOUT_DTYPES } from '../storage/cpu-layout-store.ts';
import { encode } from './tokenizer.ts';
import { WeightsParser } from '../weights/weights-parser.ts';

interface LoadedModel {
  gpt2: Gpt2Model;
  /** On the CPU backend: its memory and weights, for saving their layout. */
  cpu?: LoadedCpuModel;
  /** Frees the model's memory (GPU buffers, or the CPU backend's threads; its WASM memory goes with it). */
  free(): void;
  info: ModelInfo;
}

/** What a backend loads from: the parser and the model's files, resolved. */
interface LoadContext {
  parser: WeightsParser;
  name: string;
  resolved: WeightsSource;
  onProgress?: (progress: LoadProgress) => void;
}

function argmaxOf(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** How often the page hears how far a load has read: each report is a message and a re-render
 *  there, and a file streams in 64 KB chunks (8,000 of them for GPT-2 small). */
const LOAD_PROGRESS_INTERVAL_MS = 100;

/** The weights phase's progress for `report`: at most every LOAD_PROGRESS_INTERVAL_MS, and the end. */
function weightsProgress(report?: (progress: LoadProgress) => void): (bytesDone: number, bytesTotal: number) => void {
  let reportedAt = -Infinity;
  return (bytesDone, bytesTotal) => {
    const now = performance.now();
    if (bytesDone < bytesTotal && now - reportedAt < LOAD_PROGRESS_INTERVAL_MS) return;
    reportedAt = now;
    report?.({ phase: 'weights', bytesDone, bytesTotal });
  };
}

function cpuLoadedModel(name: string, cpu: LoadedCpuModel, build: KernelBuild, threads: number, fromSavedLayout: boolean): LoadedModel {
  const kernels = build === 'relaxed' ? 'WASM relaxed SIMD' : 'WASM SIMD';
  const { model, weights } = cpu;
  const info: ModelInfo = {
    name,
    config: model.config,
    parameterCount: parameterCount(model.config),
    weightsDtype: weights.dtype,
    matrixArithmetic: weights.dtype === 'int8' || weights.dtype === 'q4' ? 'integer' : 'f32',
    weightBytes: weights.byteLength,
    kvCache: model.kvCache,
    backend: 'cpu',
    backendReason: '',
    adapter: `${kernels}, ${threads} thread${threads === 1 ? '' : 's'}`,
    threads,
    loadMs: 0,
    fromSavedLayout,
  };
  return { gpt2: model, cpu, info, free: () => model.destroy() };
}

export class Engine {
  private gpu?: Promise<GpuContext>;
  private parserModule?: Promise<WebAssembly.Module>;
  private model?: LoadedModel;
  private store?: Promise<ModelStore>;
  private generating = false;
  private abortRequested = false;
  private download?: { id: string; controller: AbortController };
  private lastGeneration: GenerationResult | null = null;
  /** What was loaded last, to load it again on a new device if the GPU is lost. */
  private lastLoad?: { source: ModelSource; options: LoadOptions };
  /** While the model is being reloaded after the GPU was lost. */
  private recovery?: Promise<void>;
  /** Why the GPU was lost, until a generation has reported it. */
  private deviceLostMessage?: string;
  private noticeListeners: ((notice: EngineNotice) => void)[] = [];
  /** The CPU-ready weights of a saved model being written beside its files, after its first load. */
  private layoutSave?: Promise<void>;

  /** Calls `listener` with what happens to the engine when no call is waiting (see EngineNotice). */
  onNotice(listener: (notice: EngineNotice) => void): void {
    this.noticeListeners.push(listener);
  }

  private modelStore(): Promise<ModelStore> {
    this.store ??= ModelStore.open();
    return this.store;
  }

  private gpuContext(): Promise<GpuContext> {
    this.gpu ??= createGpuContext().then(
      (context) => {
        void context.lost.then((info) => this.onDeviceLost(info));
        return context;
      },
      (error: unknown) => {
        this.gpu = undefined; // try again next time: the user may have changed a browser setting
        throw error;
      },
    );
    return this.gpu;
  }

  /**
   * A driver reset, a GPU unplugged, or the browser reclaiming the device: everything on it is
   * gone. (The engine never destroys its own device, so any loss is one of these.) The next
   * device is made on demand; the model that was loaded is loaded again on it right away.
   */
  private onDeviceLost(info: GPUDeviceLostInfo): void {
    this.gpu = undefined;
    const reason = info.message || `the GPU device was lost (${info.reason})`;
    this.deviceLostMessage = reason;
    // A model on the CPU backend does not care.
    const reload = this.model?.info.backend === 'webgpu' && this.lastLoad;
    if (!reload) return;
    this.model = undefined;
    // A reply being written says what happened in its own error; otherwise no one would know.
    const notify = this.generating ? () => {} : (notice: EngineNotice) => this.noticeListeners.forEach((listener) => listener(notice));
    this.recovery = this.load(reload.source, reload.options).then(
      (model) => notify({ type: 'gpu-reset', model, message: `The GPU was reset (${reason}); the model was loaded again and is ready.` }),
      (error: unknown) => notify({
        type: 'gpu-reset',
        model: null,
        message: `The GPU was reset (${reason}) and loading the model again failed (${(error as Error).message}): choose it again in the model list.`,
      }),
    ).finally(() => (this.recovery = undefined));
  }

  /** Whether the GPU was lost: a failed GPU call can reach us a moment before `device.lost` does. */
  private async deviceWasLost(): Promise<boolean> {
    const context = await this.gpu?.catch(() => undefined);
    if (context) await Promise.race([context.lost, new Promise((resolve) => setTimeout(resolve, 1000))]);
    return this.deviceLostMessage !== undefined;
  }

  /** Loses the GPU device as a driver reset would, so tests can check the recovery. */
  async simulateDeviceLoss(): Promise<void> {
    (await this.gpu)?.device.destroy();
  }

  async load(source: ModelSource, options: LoadOptions, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> {
    const started = performance.now();
    // A layout still being saved is finished first: this load may want to read it.
    await this.layoutSave;
    const { backend, reason } = options.backend
      ? { backend: options.backend, reason: 'chosen in the settings' }
      : await this.chooseBackend();
    const loaded = (backend === 'cpu' && source.kind === 'cached' && await this.restoreOnCpu(source.id, options, onProgress)) ||
      await this.loadFromFiles(source, backend, options, onProgress);
    loaded.info.backendReason = reason;
    loaded.info.loadMs = performance.now() - started;
    this.model = loaded;
    this.lastLoad = { source, options };
    return loaded.info;
  }

  private async loadFromFiles(source: ModelSource, backend: Backend, options: LoadOptions, onProgress?: (progress: LoadProgress) => void): Promise<LoadedModel> {
    this.parserModule ??= WebAssembly.compileStreaming(fetch(parserWasmUrl));
    const parser = await WeightsParser.create(await this.parserModule);
    // A saved model is its files on disk, streamed like files the user picked.
    const files: ModelSource = source.kind === 'cached'
      ? { kind: 'files', name: source.id, files: await (await this.modelStore()).openFiles(source.id) }
      : source;
    const context: LoadContext = { parser, name: files.name, resolved: await resolveModelSource(files), onProgress };
    if (backend === 'webgpu') return this.loadOnGpu(context, options.weightsDtype);
    const loaded = await this.loadOnCpu(context, options.weightsDtype ?? CPU_WEIGHTS_DTYPE, options.cpuThreads);
    if (source.kind === 'cached') this.saveLayoutOf(source.id, loaded.cpu!);
    return loaded;
  }

  /** WebGPU on a real GPU; the CPU backend when there is no adapter or only a software one. */
  private async chooseBackend(): Promise<{ backend: Backend; reason: string }> {
    let gpu: GpuContext;
    try {
      gpu = await this.gpuContext();
    } catch (error) {
      return { backend: 'cpu', reason: `no WebGPU: ${(error as Error).message}` };
    }
    const { adapter } = gpu;
    const name = adapterName(adapter);
    if (isSoftwareAdapter(adapter)) {
      return { backend: 'cpu', reason: `the only WebGPU adapter is a software one (${name || 'a fallback adapter'}), slower than WASM SIMD` };
    }
    return { backend: 'webgpu', reason: `a GPU is available (${name || 'unnamed adapter'})` };
  }

  /** `requestedDtype` left out, the engine chooses (gpuWeightsDtype). */
  private async loadOnGpu(context: LoadContext, requestedDtype?: WeightsDtype): Promise<LoadedModel> {
    if (requestedDtype === 'int8' || requestedDtype === 'q4') {
      throw new Error(`${requestedDtype} weights are for the CPU backend only: choose f16 or f32 for WebGPU`);
    }
    const gpu = await this.gpuContext();
    const weights = new GpuWeights(gpu.device);
    const software = isSoftwareAdapter(gpu.adapter);
    try {
      const config = await loadWeights(context.parser, context.resolved, weights, {
        matrixDtype: (config) => requestedDtype ?? gpuWeightsDtype(config, software),
        checkConfig: (config, weightsDtype) => {
          const reason = unsupportedShapeReason(config);
          if (reason) throw new Error(`this model cannot run on WebGPU: ${reason}`);
          const limitReason = bufferLimitReason(config, weightsDtype, gpu.device.limits);
          if (limitReason) throw new GpuLimitError(limitReason);
          // Free the previous model only now, so a model refused above leaves it loaded; and before
          // any weight is allocated, since two large models may not fit in GPU memory together.
          this.freeModel();
        },
        onProgress: weightsProgress(context.onProgress),
      });
      context.onProgress?.({ phase: 'kernels', bytesDone: 0, bytesTotal: 0 });
      const gpt2 = new Gpt2Gpu(gpu.device, config, weights);
      await gpu.device.queue.onSubmittedWorkDone();
      const info: ModelInfo = {
        name: context.name,
        config,
        parameterCount: parameterCount(config),
        weightsDtype: weights.matrixDtype,
        matrixArithmetic: gpt2.matrixArithmetic,
        weightBytes: weights.byteLength,
        kvCache: gpt2.kvCache,
        backend: 'webgpu',
        backendReason: '',
        adapter: adapterName(gpu.adapter),
        threads: 1,
        loadMs: 0,
        fromSavedLayout: false,
      };
      return { gpt2, info, free: () => { gpt2.destroy(); weights.destroy(); } };
    } catch (error) {
      weights.destroy();
      throw error;
    }
  }

  /**
   * The kernels' module for `dtype`'s layers (the build this machine runs faster) and
   * `requestedThreads` (the threads build when more than one), and how to start the threads.
   */
  private async cpuKernelsFor(dtype: WeightsDtype, requestedThreads?: number) {
    const threads = Math.min(requestedThreads ?? Infinity, availableKernelThreads());
    const build = await kernelBuildFor(dtype);
    const kernels = await compileCpuKernels(threads > 1, build);
    return {
      build,
      threads,
      options: {
        kernels,
        threads: threads > 1 ? (memory: CpuMemory) => KernelThreads.start(memory, kernels, threads, webKernelThread) : undefined,
        // As on the GPU: the previous model goes once this one is known to be acceptable.
        checkConfig: () => this.freeModel(),
      },
    };
  }

  private async loadOnCpu(context: LoadContext, weightsDtype: WeightsDtype, requestedThreads?: number): Promise<LoadedModel> {
    const { build, threads, options } = await this.cpuKernelsFor(weightsDtype, requestedThreads);
    const loaded = await loadCpuModel(context.parser, context.resolved, { ...options, dtype: weightsDtype, onProgress: weightsProgress(context.onProgress) });
    return cpuLoadedModel(context.name, loaded, build, threads, false);
  }

  /** A saved model on the CPU from the layout saved after an earlier load, or null if there is none to use. */
  private async restoreOnCpu(id: string, options: LoadOptions, onProgress?: (progress: LoadProgress) => void): Promise<LoadedModel | null> {
    const model = await (await this.modelStore()).saved(id);
    const dtype = options.weightsDtype ?? CPU_WEIGHTS_DTYPE;
    const saved = model && await findCpuLayout(model.directory, model.manifest, dtype);
    if (!saved) return null;
    const { build, threads, options: kernelOptions } = await this.cpuKernelsFor(dtype, options.cpuThreads);
    const progress = weightsProgress(onProgress);
    try {
      const loaded = await restoreCpuModel(saved.layout, (write) => readCpuLayout(saved, write, progress), kernelOptions);
      return cpuLoadedModel(id, loaded, build, threads, true);
    } catch (error) {
      // The layout could not be read (or the model is one the CPU cannot take, which its files will
      // say as well): the model loads from its files, and that load saves the layout again.
      console.warn(`the saved CPU layout of ${id} could not be read (${(error as Error).message}); loading from the model's files`);
      return null;
    }
  }

  /** Starts writing a just-loaded saved model's CPU-ready weights beside its files, in the background. */
  private saveLayoutOf(id: string, loaded: LoadedCpuModel): void {
    const { weights, model } = loaded;
    if (!SAVED_LAYOUT_DTYPES.includes(weights.dtype)) return;
    this.layoutSave = (async () => {
      const saved = await (await this.modelStore()).saved(id);
      if (!saved) return;
      const layout = { config: model.config, dtype: weights.dtype, slots: [...weights.layoutSlots], bytes: weights.regionLength };
      await saveCpuLayout(saved.directory, saved.manifest, layout, (offset, length) => weights.regionBytes(offset, length));
    })().catch((error: unknown) => {
      // Only the next load's speed depends on it: that load parses the files again and retries.
      console.warn(`the CPU layout of ${id} could not be saved: ${(error as Error).message}`);
    }).finally(() => (this.layoutSave = undefined));
  }

  async unload(): Promise<void> {
    this.freeModel();
  }

  private freeModel(): void {
    this.model?.free();
    this.model = undefined;
  }

  private loaded(): LoadedModel {
    if (!this.model) throw new Error('no model is loaded: load one first');
    return this.model;
  }

  async logits(tokens: number[], options: LogitsOptions = {}): Promise<LogitsResult> {
    const { gpt2 } = this.loaded();
    if (options.incremental) {
      const argmax: number[] = [];
      for (let position = 0; position < tokens.length - 1; position++) {
        argmax.push((await gpt2.forward([tokens[position]], position, 'last-argmax'))[0]);
      }
      const logits = await gpt2.forward(tokens.slice(-1), tokens.length - 1, 'last-logits');
      argmax.push(argmaxOf(logits));
      return options.allPositions ? { logits, argmax } : { logits };
    }
    if (!options.allPositions) return { logits: await gpt2.forward(tokens, 0, 'last-logits') };
    const argmax = Array.from(await gpt2.forward(tokens, 0, 'all-argmax'));
    // The cache now holds every position; rerun the last one to read its full logits.
    const logits = await gpt2.forward(tokens.slice(-1), tokens.length - 1, 'last-logits');
    return { logits, argmax };
  }

  tokenize(text: string): number[] {
    return encode(text);
  }

  async generate(prompt: string, settings: GenerationSettings, onEvent: (event: GenerationEvent) => void, replyStart: number[] = []): Promise<GenerationResult> {
    await this.recovery;
    const { gpt2 } = this.loaded();
    if (this.generating) throw new Error('a reply is already being generated: stop it first');
    this.generating = true;
    this.abortRequested = false;
    this.deviceLostMessage = undefined;
    try {
      this.lastGeneration = await generate({
        model: gpt2,
        promptTokens: encode(prompt),
        replyStart,
        settings,
        onEvent,
        aborted: () => this.abortRequested,
      });
      return this.lastGeneration;
    } catch (error) {
      if (!(await this.deviceWasLost())) throw error;
      await this.recovery;
      const recovered = this.model ? 'the model was loaded again on a new device: press Regenerate to try again' : 'load the model again';
      throw new Error(`the GPU stopped working during this reply (${this.deviceLostMessage}); ${recovered}`, { cause: error });
    } finally {
      this.generating = false;
    }
  }

  abort(): void {
    this.abortRequested = this.generating;
  }

  async downloadModel(request: DownloadRequest, onProgress?: (progress: DownloadProgress) => void): Promise<CachedModel> {
    if (this.download) throw new Error(`${this.download.id} is still downloading: cancel it or wait for it to finish`);
    const controller = new AbortController();
    this.download = { id: request.id, controller };
    try {
      return await downloadModel(await this.modelStore(), request, { signal: controller.signal, onProgress });
    } finally {
      this.download = undefined;
    }
  }

  async resolveHubModel(request: HubModelRequest): Promise<DownloadRequest> {
    const begun = await unfinishedDownload(await this.modelStore(), request.id);
    if (begun?.source?.repo === request.repo && begun.source.revision === request.revision) return begun;
    return resolveHubModel(request, policyAwareFetch((input, init) => fetch(input, init)));
  }

  cancelDownload(): void {
    this.download?.controller.abort(new DOMException('the download was cancelled', 'AbortError'));
  }

  async listCachedModels(): Promise<CachedModel[]> {
    return (await this.modelStore()).list();
  }

  async deleteCachedModel(id: string): Promise<void> {
    if (this.download?.id === id) this.cancelDownload();
    await this.layoutSave;
    if (this.model?.info.name === id) await this.unload();
    await (await this.modelStore()).delete(id);
  }

  storageInfo(): Promise<StorageInfo> {
    return storageInfo();
  }

  stats(): EngineStats {
    return { model: this.model?.info ?? null, lastGeneration: this.lastGeneration };
  }

  async inspect(tokens: number[], count: number): Promise<TokensInspection> {
    const { gpt2, info } = this.loaded();
    if (tokens.length + count > info.config.nCtx) {
      throw new RangeError(`${tokens.length} tokens + ${count} new ones exceed the context of ${info.config.nCtx} tokens`);
    }
    const pass = await gpt2.inspect(tokens, 0, { scoreTokens: true });
    const tops = [pass.top];
    if (count > 0) for await (const top of gpt2.decodeGreedyTop(pass.top.ids[0], tokens.length, count)) tops.push(top);
    return {
      promptLogprobs: Array.from(pass.tokenLogprobs!),
      top: tops.map((top) => Array.from(top.ids, (id, rank): [number, number] => [id, Math.exp(top.logprobs[rank])])),
      generated: tops.slice(0, count).map((top) => top.ids[0]),
    };
  }

  async greedy(tokens: number[], count: number): Promise<number[]> {
    const { gpt2, info } = this.loaded();
    if (tokens.length + count - 1 > info.config.nCtx) {
      throw new RangeError(`${tokens.length} prompt tokens + ${count} new ones exceed the context of ${info.config.nCtx} tokens`);
    }
    // Step by step through forward, not decodeGreedy: tests hold the backends' own greedy decoding to this.
    const first = (await gpt2.forward(tokens, 0, 'last-argmax'))[0];
    const generated = count > 0 ? [first] : [];
    if (count > 1) for await (const token of greedyStepByStep(gpt2, first, tokens.length, count - 1)) generated.push(token);
    return generated;
  }
}
