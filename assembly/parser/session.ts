// One model being loaded: its slot table, which checkpoint tensor fills each slot, and which
// slots have been written. Both file formats (and every shard) report their tensors here.
import { ModelConfig } from './config';
import { fail, shapeText, shown } from './errors';
import { NAME_LAYER_OUT_OF_RANGE, NAME_SKIPPED, NAME_TIED_HEAD, slotForName, slotName } from './names';
import { Slot, buildSlots } from './slots';
import { TensorWriter } from './tensor-writer';

// Enough names to see the pattern without flooding the message (a wrong file misses hundreds).
const MAX_MISSING_NAMED = 8;

export class ModelSession {
  readonly slots: Slot[];
  // The name (as the file spells it) of the tensor that fills each slot; '' until one claims it.
  private readonly claimedBy: string[];
  private readonly written: bool[];

  constructor(
    readonly config: ModelConfig,
    readonly matrixDtype: i32,
    readonly writer: TensorWriter,
  ) {
    const slots = buildSlots(config);
    this.slots = slots;
    this.claimedBy = new Array<string>(slots.length).fill('');
    this.written = new Array<bool>(slots.length).fill(false);
  }

  /**
   * Decides what checkpoint tensor `name` with `shape` is for: returns its slot (claimed for it),
   * NAME_SKIPPED for tensors the model does not use (and a tied lm_head of the right shape), or
   * -1 with an error.
   */
  resolveTensor(name: string, shape: u64[]): i32 {
    const slot = slotForName(name, this.config.nLayer);
    if (slot == NAME_SKIPPED) return NAME_SKIPPED;
    if (slot == NAME_LAYER_OUT_OF_RANGE) {
      return fail(`tensor ${shown(name)} is for a layer this model does not have (the config says n_layer ${this.config.nLayer}): the config does not belong to this checkpoint — use the config file that came with it`);
    }
    if (slot == NAME_TIED_HEAD) {
      const embeddingShape: u64[] = [<u64>this.config.vocabSize, <u64>this.config.nEmbd];
      if (!sameShape(shape, embeddingShape)) {
        return fail(`tensor ${shown(name)} has shape ${shapeText(shape)} but it is tied to wte, which the config (vocab_size ${this.config.vocabSize}, n_embd ${this.config.nEmbd}) makes ${shapeText(embeddingShape)}: the config does not belong to this checkpoint — use the config file that came with it`);
      }
      return NAME_SKIPPED;
    }

    const expected = this.slots[slot].sourceShape();
    if (!sameShape(shape, expected)) {
      return fail(`tensor ${shown(name)} has shape ${shapeText(shape)} but the config (${this.configSummary(slot)}) needs ${shapeText(expected)}: the config does not belong to this checkpoint — use the config file that came with it`);
    }
    const earlier = this.claimedBy[slot];
    if (earlier.length > 0) {
      return fail(`tensors ${shown(earlier)} and ${shown(name)} are both ${slotName(slot)}: a checkpoint must hold each weight once — check that the files all come from one checkpoint`);
    }
    this.claimedBy[slot] = name;
    return slot;
  }

  markWritten(slot: i32): void {
    this.written[slot] = true;
  }

  /**
   * "missing tensors: a, b: why" for the slots no tensor has claimed (or, with `written`, not yet
   * been written), or '' when there are none.
   */
  missingMessage(written: bool, why: string): string {
    let names = '';
    let missing = 0;
    for (let slot = 0; slot < this.slots.length; slot++) {
      if (written ? this.written[slot] : this.claimedBy[slot].length > 0) continue;
      missing++;
      if (missing > MAX_MISSING_NAMED) continue;
      if (missing > 1) names += ', ';
      names += slotName(slot);
    }
    if (missing == 0) return '';
    if (missing > MAX_MISSING_NAMED) names += ` and ${missing - MAX_MISSING_NAMED} more`;
    return `missing tensors: ${names}: ${why}`;
  }

  // The config numbers a slot's shape comes from.
  private configSummary(slot: i32): string {
    const kind = this.slots[slot].kind;
    const width = `n_embd ${this.config.nEmbd}`;
    if (kind == 0) return `vocab_size ${this.config.vocabSize}, ${width}`;
    if (kind == 1) return `n_positions ${this.config.nCtx}, ${width}`;
    return width;
  }
}

function sameShape(a: u64[], b: u64[]): bool {
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
  return true;
}
