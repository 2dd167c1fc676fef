// The one door between the UI (or a headless script) and the engine in its worker. Everything the
// UI can ask of the model is here, typed; the worker exposes it with Comlink.
import type { Gpt2Config } from '../model/config.ts';
import type { KvCacheInfo } from '../model/gpt2-model.ts';
import type { WeightsFormat } from '../weights/load-weights.ts';

/** HF model.safetensors (or its shards), the legacy gpt2_weights.bin, or HF/PyTorch pytorch_model.bin. */
export type { WeightsFormat };

/** Where a model's files come from. */
export type ModelSource =
  /** Files on a server (the HF hub, or a local stand-in): config + weights, or a sharded index. */
  | { kind: 'url'; name: string; configUrl: string; weightsUrl: string }
  /** Files the user picked: a .safetensors or pytorch_model.bin (+ config.json), or gpt2_weights.bin + gpt2_config.txt. */
  | { kind: 'files'; name: string; files: File[] }
  /** A model saved in the app's storage by `download` (works offline). */
  | { kind: 'cached'; id: string };

/**
 * How chat mode writes a conversation for the model: as a transcript it continues ("User: …" /
 * "GPT-2: …" lines, for GPT-2 itself), or DialoGPT's turns joined by `<|endoftext|>`.
 */
export type ConversationFormat = 'transcript' | 'dialogpt';

/** Where on the hub a model's files come from: the revision asked for and the commit it pointed at. */
export interface HubSource {
  /** "owner/name". */
  repo: string;
  /** The branch, tag or commit asked for. */
  revision: string;
  /** The commit every file was fetched from (40 hex digits). */
  commit: string;
}

/** A hub repository to open by name (see resolveHubModel). */
export interface HubModelRequest {
  id: string;
  label: string;
  /** The hub, or a mirror laid out like it. */
  hubUrl: string;
  repo: string;
  revision: string;
  conversation?: ConversationFormat;
}

/** A model to download into the app's storage: its config and weights (or sharded index) URLs. */
export interface DownloadRequest {
  /** Storage key, e.g. "gpt2" or "custom:<hash>"; downloading an id that exists resumes or re-checks it. */
  id: string;
  label: string;
  configUrl: string;
  weightsUrl: string;
  /** For a hub repository: the commit the URLs are pinned to, kept with the saved model. */
  source?: HubSource;
  /** How chat mode talks to this model; left out, as a transcript. */
  conversation?: ConversationFormat;
}

export interface DownloadProgress {
  file: string;
  bytesDone: number;
  bytesTotal: number;
  bytesPerSecond: number;
  /** null until the speed is known. */
  secondsLeft: number | null;
  /** Bytes that were already stored from an interrupted download and not fetched again. */
  resumedFrom: number;
}

/** A model saved in the app's storage. */
export interface CachedModel {
  id: string;
  label: string;
  bytes: number;
  files: string[];
  savedAt: number;
  source?: HubSource;
  conversation?: ConversationFormat;
}

export interface StorageInfo {
  usageBytes: number;
  quotaBytes: number;
  /** Whether the browser promised not to evict the app's storage. */
  persisted: boolean;
}

/** Where the model runs: WebGPU, or the CPU (WASM SIMD) where no real GPU is usable. */
export type Backend = 'webgpu' | 'cpu';

/**
 * How matrices are stored: f16 halves memory and bandwidth; int8 (CPU only) quarters them; q4 (CPU
 * only: 4 bits in groups of 32 with an f32 scale each, the LM head int8) takes about a fifth.
 */
export type WeightsDtype = 'f32' | 'f16' | 'int8' | 'q4';

export interface LoadOptions {
  /** Left out, the engine chooses: WebGPU on a real GPU, the CPU with no adapter or a software one. */
  backend?: Backend;
  /** Left out, the engine chooses (WebGPU: f16 on a GPU, f32 on a software adapter; the CPU: int8); ModelInfo says which. */
  weightsDtype?: WeightsDtype;
  /** CPU backend: kernel threads to use (at most what the page allows; 1 without cross-origin isolation). */
  cpuThreads?: number;
}

export interface LoadProgress {
  phase: 'weights' | 'kernels';
  bytesDone: number;
  bytesTotal: number;
}

/** What matrix products multiply in; sums are f32 (or exact integers) whatever this is. */
export type MatrixArithmetic = 'f32' | 'f16' | 'integer';

export interface ModelInfo {
  name: string;
  config: Gpt2Config;
  parameterCount: number;
  weightsDtype: WeightsDtype;
  /** f16 for f16 matrices on a GPU with shader-f16 (the MLP's products; the others are f32);
   *  integer for the CPU's int8 and q4 matrices (multiplied by the input quantized to int16); f32 otherwise. */
  matrixArithmetic: MatrixArithmetic;
  weightBytes: number;
  /** f32, or bf16 beside the CPU's int8 and q4 weights; its bytes for a full context. */
  kvCache: KvCacheInfo;
  backend: Backend;
  /** Why the engine chose this backend, when the caller left it to the engine. */
  backendReason: string;
  /** The GPU adapter, or for the CPU backend the kernels' build (WASM SIMD or WASM relaxed SIMD) and threads. */
  adapter: string;
  /** Threads computing (1 on WebGPU, where the GPU does the work). */
  threads: number;
  loadMs: number;
  /** The CPU backend read the weights ready-made, from the layout it saved beside the model's files
   *  after an earlier load, instead of parsing (and quantizing) the files. */
  fromSavedLayout: boolean;
}

export interface LogitsOptions {
  /** Also return the argmax token after every position. */
  allPositions?: boolean;
  /** Feed the tokens one pass each through the KV cache (the decoding path) instead of all at once. */
  incremental?: boolean;
}

export interface LogitsResult {
  /** Next-token logits after the last token (full vocabulary). */
  logits: Float32Array;
  /** With `allPositions`: the argmax token after each position. */
  argmax?: number[];
}

/** What `inspect` returns: the model's own view of some tokens and of its greedy continuation. */
export interface TokensInspection {
  /** ln p(tokens[i] | tokens[0..i)) for each token after the first. */
  promptLogprobs: number[];
  /** After the last token, then after each generated token: the TOP_TOKENS most likely next tokens
   *  under the model's softmax, [token, probability], most likely first. */
  top: [number, number][][];
  /** The greedy continuation: generated[i] is top[i]'s first token. */
  generated: number[];
}

/** Options for `generate`. Temperature 0 means greedy (and ignores topK/topP/seed). */
export interface GenerationSettings {
  maxNewTokens: number;
  temperature: number;
  /** Keep only the k most likely tokens; 0 disables. */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p; 1 disables. */
  topP: number;
  /** CTRL-style penalty for tokens already in the context; 1 disables. */
  repetitionPenalty: number;
  /** Same seed, settings and prompt give the same text. */
  seed: number;
  /** Generation stops when the text produced contains one of these (it is cut before it). */
  stopStrings: string[];
  /** Look inside: each token event carries its `insight`, and prompt-done the prompt's `score`.
   *  Left out, false (the app turns it on; it costs a few percent of decode speed). */
  inspect?: boolean;
}

/** How many alternatives a token's insight lists. */
export const INSIGHT_ALTERNATIVES = 10;

/** A token the model could have written, and how likely it was. */
export interface TokenChance {
  token: number;
  /** What the token adds to the text (may be '' or '\ufffd' for part of a UTF-8 sequence). */
  text: string;
  probability: number;
}

/** What the model thought at one generated token. */
export interface TokenInsight {
  /** The token's probability under the model's own softmax of its logits (no temperature). */
  probability: number;
  /** The INSIGHT_ALTERNATIVES most likely tokens there under that softmax, most likely first. */
  top: TokenChance[];
  /** The same from the distribution the token was drawn from: after the repetition penalty,
   *  temperature, top-k and top-p. Greedy (temperature 0) draws the best token with probability 1. */
  sampled: TokenChance[];
}

/** The prompt as the model read it, scored by the pass that read it. */
export interface PromptScore {
  /** Its tokens, and the text of each. */
  tokens: number[];
  pieces: string[];
  /** For each token after the first: −ln p(token | the tokens before it), in nats (surprisal[i]
   *  belongs to tokens[i + 1]); exp(mean) is the text's perplexity. */
  surprisal: number[];
}

export type StopReason = 'end-of-text' | 'stop-string' | 'max-tokens' | 'aborted';

/** Streamed to the caller while generating. */
export type GenerationEvent =
  /** The prompt has been processed. */
  | { type: 'prompt-done'; promptTokens: number; ms: number; score?: PromptScore }
  /** One more token; `text` is what it adds to the reply (may be '' while a UTF-8 sequence is
   *  incomplete, or held back while it may begin a stop string); `piece` is the token's own text. */
  | { type: 'token'; token: number; text: string; piece: string; insight?: TokenInsight }
  /** At the end: text held back because it might have begun a stop string, and did not. */
  | { type: 'final-text'; text: string }
  /** The context filled up: the oldest `droppedTokens` were dropped and the rest re-processed. */
  | { type: 'context-shift'; droppedTokens: number };

export interface GenerationResult {
  text: string;
  tokens: number[];
  stopReason: StopReason;
  promptTokens: number;
  promptTokensPerSecond: number;
  generatedTokensPerSecond: number;
  contextShifts: number;
}

/** What happened to the engine while no call was waiting to hear of it. */
export type EngineNotice =
  /** The GPU device was lost while no reply was being written (a reply reports the loss itself).
   *  The model was loaded again on a new device (`model`), or that failed (`model` null). */
  { type: 'gpu-reset'; message: string; model: ModelInfo | null };

export interface EngineApi {
  /**
   * Called once by the page as the worker starts. The worker holds the Web Lock `lifeLock` from
   * then until it ends, so the page can tell when it dies; `onNotice` hears of what happens to the
   * engine when no call is waiting.
   */
  attach(lifeLock: string, onNotice: (notice: EngineNotice) => void): Promise<void>;
  /** Loads a model, replacing (and freeing) the current one. Rejects with a message for the user; a
   *  model that fails before its weights are read (a missing file, a shape this GPU cannot hold)
   *  leaves the current one loaded. */
  load(source: ModelSource, options: LoadOptions, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo>;
  /** Frees the current model's GPU memory. */
  unload(): Promise<void>;
  /** Runs `tokens` through the model from position 0. */
  logits(tokens: number[], options?: LogitsOptions): Promise<LogitsResult>;
  /** `tokens` scored and continued greedily by `count` tokens, with the top tokens at each step,
   *  all summarised on the device (the full logits are not read back). */
  inspect(tokens: number[], count: number): Promise<TokensInspection>;
  /** Greedy continuation of `tokens` by `count` tokens, one KV-cached decode step per token. */
  greedy(tokens: number[], count: number): Promise<number[]>;
  /** GPT-2 BPE token ids of `text`; `<|endoftext|>` is the special token 50256. */
  tokenize(text: string): Promise<number[]>;
  /**
   * Continues `prompt`, streaming each token to `onEvent`. One generation at a time. `replyStart`
   * (token ids) branches a reply: the reply begins with these tokens, already chosen, and the
   * generation continues after them; they are not streamed again, and the result's text and
   * tokens are the new part only.
   */
  generate(prompt: string, settings: GenerationSettings, onEvent: (event: GenerationEvent) => void, replyStart?: number[]): Promise<GenerationResult>;
  /** Stops the running generation after the token in flight; its promise resolves with 'aborted'. */
  abort(): Promise<void>;
  /**
   * What to download for a hub repository: lists its files at `revision` through the hub's API,
   * refuses a config that is not GPT-2's, and pins the commit. A download of the same id that was
   * begun and not finished keeps the commit it began with, so it resumes with the same bytes.
   */
  resolveHubModel(request: HubModelRequest): Promise<DownloadRequest>;
  /** Saves a model's files in the app's storage, resuming an interrupted download with Range requests. */
  download(request: DownloadRequest, onProgress?: (progress: DownloadProgress) => void): Promise<CachedModel>;
  /** Stops the running download; what was fetched so far is kept so it can resume. */
  cancelDownload(): Promise<void>;
  listCachedModels(): Promise<CachedModel[]>;
  /** Deletes a saved model's files (unloading it first if it is the one loaded). */
  deleteCachedModel(id: string): Promise<void>;
  storageInfo(): Promise<StorageInfo>;
  /** The loaded model (null if none) and the last generation's speeds. */
  stats(): Promise<EngineStats>;
  /** Destroys the GPU device as a driver reset would; the engine recovers. For tests. */
  simulateDeviceLoss(): Promise<void>;
}

export interface EngineStats {
  model: ModelInfo | null;
  lastGeneration: GenerationResult | null;
}
