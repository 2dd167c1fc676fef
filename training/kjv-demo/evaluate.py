"""Evaluate the demo model from its shipped file, in float64.

python3 training/kjv-demo/evaluate.py --tokens kjv-tokens.json --model public/models/kjv-demo

Reads model.safetensors (F16) and config.json as the app does, runs GPT-2's forward pass in float64
on those F16 values (written here from the model's definition, independently of train.py), and
writes evaluation.json beside them: the held-out loss, the probability mass on ids that never occur
in the training text, and the greedy continuations the model card shows and the tests compare with.
"""

import argparse
import json
import math
import os
import struct

import torch

DTYPES = {'F16': torch.float16, 'F32': torch.float32}


def read_safetensors(path):
    with open(path, 'rb') as file:
        (header_size,) = struct.unpack('<Q', file.read(8))
        header = json.loads(file.read(header_size))
        data = file.read()
    tensors = {}
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        start, end = entry['data_offsets']
        raw = torch.frombuffer(bytearray(data[start:end]), dtype=DTYPES[entry['dtype']])
        tensors[name.removeprefix('transformer.')] = raw.reshape(entry['shape']).to(torch.float64)
    return tensors


class Gpt2Float64:
    """GPT-2 as HF's GPT2LMHeadModel defines it: Conv1D layers (x·W + b), pre-LayerNorm blocks with
    eps 1e-5, gelu_new, causal attention scaled by 1/sqrt(head size), LM head tied to wte."""

    def __init__(self, tensors, config):
        self.t = tensors
        self.n_layer, self.n_head = config['n_layer'], config['n_head']

    def layer_norm(self, x, name):
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self.t[name + '.weight'], self.t[name + '.bias'], 1e-5)

    def linear(self, x, name):
        return x @ self.t[name + '.weight'] + self.t[name + '.bias']

    def logits(self, tokens):  # (T,) -> (T, vocab)
        T = len(tokens)
        x = self.t['wte.weight'][tokens] + self.t['wpe.weight'][:T]
        for i in range(self.n_layer):
            p = f'h.{i}.'
            q, k, v = self.linear(self.layer_norm(x, p + 'ln_1'), p + 'attn.c_attn').split(x.shape[1], dim=1)
            heads = lambda m: m.view(T, self.n_head, -1).transpose(0, 1)  # (H, T, head size)
            q, k, v = heads(q), heads(k), heads(v)
            scores = q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])
            scores = scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float('-inf'))
            attended = (scores.softmax(-1) @ v).transpose(0, 1).reshape(T, -1)
            x = x + self.linear(attended, p + 'attn.c_proj')
            hidden = self.linear(self.layer_norm(x, p + 'ln_2'), p + 'mlp.c_fc')
            hidden = 0.5 * hidden * (1 + torch.tanh(math.sqrt(2 / math.pi) * (hidden + 0.044715 * hidden * hidden * hidden)))
            x = x + self.linear(hidden, p + 'mlp.c_proj')
        return self.layer_norm(x, 'ln_f') @ self.t['wte.weight'].T

    def greedy(self, tokens, count):
        tokens = list(tokens)
        for _ in range(count):
            tokens.append(int(self.logits(torch.tensor(tokens)).argmax(-1)[-1]))
        return tokens[-count:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--tokens', required=True, help='the JSON written by tokenize-kjv.ts')
    parser.add_argument('--model', required=True, help='folder of model.safetensors and config.json')
    parser.add_argument('--continuation', type=int, default=32, help='tokens in each greedy continuation')
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count())

    with open(args.tokens) as file:
        data = json.load(file)
    with open(os.path.join(args.model, 'config.json')) as file:
        config = json.load(file)
    model = Gpt2Float64(read_safetensors(os.path.join(args.model, 'model.safetensors')), config)
    ctx = config['n_positions']

    unknown = torch.ones(config['vocab_size'], dtype=torch.bool)
    unknown[sorted(set(data['train']))] = False
    held_out = torch.tensor(data['heldOut'])
    total_loss, unknown_mass, unknown_targets, count = 0.0, 0.0, 0, 0
    with torch.no_grad():
        # Windows of ctx + 1 tokens, each token predicted from the start of its window, as train.py evaluates.
        for start in range(0, len(held_out) - 1, ctx):
            window = held_out[start:start + ctx + 1]
            log_probs = model.logits(window[:-1]).log_softmax(-1)
            targets = window[1:]
            total_loss -= log_probs.gather(1, targets.unsqueeze(1)).sum().item()
            unknown_mass += log_probs[:, unknown].exp().sum().item()
            unknown_targets += unknown[targets].sum().item()
            count += len(targets)
        continuations = [{'prompt': prompt['text'], 'prompt_tokens': prompt['tokens'],
                          'tokens': model.greedy(prompt['tokens'], args.continuation)} for prompt in data['prompts']]

    evaluation = {
        'held_out_tokens': count,
        'held_out_loss': total_loss / count,
        'unknown_id_mass': unknown_mass / count,
        'held_out_tokens_outside_training_ids': unknown_targets,
        'training_ids': int((~unknown).sum()),
        'greedy_continuations': continuations,
    }
    with open(os.path.join(args.model, 'evaluation.json'), 'w') as file:
        json.dump(evaluation, file, indent=2)
    print(json.dumps({k: v for k, v in evaluation.items() if k != 'greedy_continuations'}))


if __name__ == '__main__':
    main()
