// The one error for weights that cannot be read, whichever reader finds the problem: the
// AssemblyScript parser (through src/weights/weights-parser.ts) or the PyTorch checkpoint readers
// beside this file. The app shows its message as is.

/** A weights or config file that is damaged, incomplete or not a GPT-2 checkpoint; the message says which and what to do. */
export class WeightsFormatError extends Error {
  override name = 'WeightsFormatError';
}
