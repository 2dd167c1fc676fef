// npx tsx training/kjv-demo/write-card.ts <model folder>
// Writes the demo model's card, README.md, beside its weights: what it was trained on and how, what
// it scores on held-out text, its greedy continuations (decoded with the app's tokenizer), and the
// weights file's SHA-256. Everything in it comes from training.json (train.py) and evaluation.json
// (evaluate.py, run on the shipped file), so the card cannot drift from the file it describes.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from '../../src/worker/tokenizer.ts';
import { HELD_OUT_EVERY } from './kjv-text.ts';

export interface DemoEvaluation {
  held_out_tokens: number;
  held_out_loss: number;
  unknown_id_mass: number;
  held_out_tokens_outside_training_ids: number;
  training_ids: number;
  greedy_continuations: { prompt: string; prompt_tokens: number[]; tokens: number[] }[];
}

const folder = process.argv[2];
if (!folder) throw new Error('usage: write-card.ts <folder of model.safetensors, training.json, evaluation.json>');
const training = JSON.parse(readFileSync(join(folder, 'training.json'), 'utf8'));
const evaluation: DemoEvaluation = JSON.parse(readFileSync(join(folder, 'evaluation.json'), 'utf8'));
const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
const weights = readFileSync(join(folder, 'model.safetensors'));
const sha256 = createHash('sha256').update(weights).digest('hex');
if (sha256 !== training.sha256) throw new Error(`model.safetensors is not the file train.py wrote (sha256 ${sha256}, training.json says ${training.sha256})`);

const { args } = training;
const last = training.history.at(-1);

/** How the file's checkpoint was chosen (train.py's --select-from and --check-every). */
function checkpointChoice(): string {
  const checks: { step: number; loops: boolean[] }[] = training.loop_checks;
  const free = checks.filter((check) => !check.loops.includes(true)).length;
  const chosen = training.selected_step === args.steps && checks.at(-1)?.loops.includes(true)
    ? `none was, so the file is the last step's`
    : `the file is the latest that was: step ${training.selected_step}`;
  return `Greedy text from a model this small can fall into loops even when its loss is good. From step ${checks[0].step} on,
every ${args.check_every} steps, the card's three prompts were continued greedily (with the weights rounded to F16, as
shipped) and checked for a span repeated three times running: ${free} of ${checks.length} checkpoints were free of
loops, and ${chosen}. The held-out text plays no part in this choice.`;
}
const minutes = (seconds: number) => `${Math.round(seconds / 60)} minutes`;
const fixed = (value: number, digits: number) => value.toFixed(digits);

const card = `# KJV demo: a tiny GPT-2 trained on the King James Bible

The app's built-in demo model. **It is not GPT-2**: it is a ${(weights.length / 1e6).toFixed(1)} MB model with GPT-2's
architecture and vocabulary, trained in this repository on one book, so that the app has a model that
writes real text on a first start with no network. It continues text in the style of the King James
Version; it knows nothing else.

## Data
- Text: the King James Version of the Bible (1611), from Debian's \`bible-kjv\` package
  (\`bible -f "Genesis 1:1-Revelation 22:21"\`). Its copyright has expired (see that package's
  copyright file).
- Each chapter is one paragraph (verse references dropped), tokenized with the app's own GPT-2
  tokenizer: ${training.training_tokens.toLocaleString('en')} training tokens using ${training.known_ids.toLocaleString('en')} distinct ids.
- Held out: every ${HELD_OUT_EVERY}th chapter (${training.held_out_chapters.length} chapters, from ${training.held_out_chapters[0]} to
  ${training.held_out_chapters.at(-1)}), ${training.held_out_tokens.toLocaleString('en')} tokens, never trained on.

## Architecture
GPT-2 in HuggingFace's layout (Conv1D weights \`[in, out]\`, gelu_new, LayerNorm eps 1e-5, LM head tied to
\`wte\`): vocabulary ${config.vocab_size}, context ${config.n_positions}, width ${config.n_embd}, ${config.n_layer} layers,
${config.n_head} heads; stored as F16 in \`model.safetensors\`.

The ${(config.vocab_size - training.known_ids).toLocaleString('en')} ids that never occur in the training text share one
embedding row, trained as one extra softmax class whose logit carries log(their count): exactly the
full-vocabulary softmax with those rows tied, so the training itself keeps their probability down.

## Training
${args.steps} steps of AdamW (β 0.9/0.95, weight decay ${args.weight_decay} on matrices), batch ${args.batch} × ${args.ctx} tokens,
learning rate ${args.lr} after ${args.warmup} warm-up steps, cosine down to 10%, dropout ${args.dropout}, seed ${args.seed},
${args.bf16 ? 'bfloat16 products in the training steps (float32 weights and optimizer), ' : ''}torch ${training.torch} on the CPU: ${minutes(training.seconds)} on a 2-core machine (shared with other work while it ran). Last training loss ${fixed(last.train_loss, 2)}.

${checkpointChoice()}

## Evaluation (from this file, in float64, by \`evaluate.py\`)
| | |
|---|--:|
| held-out loss, nats per token (windows of ${config.n_positions}) | ${fixed(evaluation.held_out_loss, 3)} |
| probability on ids outside the training text, held-out mean | ${(evaluation.unknown_id_mass * 100).toFixed(3)}% |
| held-out tokens whose id is outside the training text | ${evaluation.held_out_tokens_outside_training_ids} of ${evaluation.held_out_tokens} |

Greedy continuations (${evaluation.greedy_continuations[0].tokens.length} tokens, temperature 0):

${evaluation.greedy_continuations.map(({ prompt, tokens }) => `- **${prompt}**${decode(tokens).replace(/\n/g, '⏎')}`).join('\n')}

## How it was made
From the repository root, on Debian with \`bible-kjv\` and \`python3-torch\` (and \`libopenblas0-pthread\`
for speed) installed:

\`\`\`sh
bash training/kjv-demo/build.sh
\`\`\`

## File
\`model.safetensors\`: ${weights.length} bytes, SHA-256 \`${sha256}\`
`;

writeFileSync(join(folder, 'README.md'), card);
console.log(`wrote ${join(folder, 'README.md')}`);
