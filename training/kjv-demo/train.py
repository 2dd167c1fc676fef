"""Train the app's built-in demo model: a small GPT-2 on the King James Bible.

python3 training/kjv-demo/train.py --tokens kjv-tokens.json --out public/models/kjv-demo

The model is the standard GPT-2 architecture in HuggingFace's layout (Conv1D weights [in, out],
gelu_new, LayerNorm eps 1e-5, LM head tied to wte) with the full 50257-token vocabulary, so the app
runs it like any GPT-2 checkpoint. Seeded: the same tokens, steps and torch build give the same file.

The vocabulary trick. Only ~9.5k of the 50257 ids occur in the training text. With the LM head tied
to wte, the other ~40.7k rows would keep whatever they were initialised to and together take much of
the probability mass. Here every id that never occurs in the training text shares ONE embedding row
(`other`), trained as one extra softmax class whose logit carries log(count of such ids): exactly the
full-vocabulary softmax with those rows tied, so the loss itself pushes their mass down, and the LM
head costs a fifth of the full one. The exported wte repeats `other` in each of those rows.
"""

import argparse
import hashlib
import json
import math
import os
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB_SIZE = 50257


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument('--tokens', required=True, help='the JSON written by tokenize-kjv.ts')
    parser.add_argument('--out', required=True, help='folder for model.safetensors, config.json, training.json')
    parser.add_argument('--steps', type=int, default=3200)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--ctx', type=int, default=256)
    parser.add_argument('--embd', type=int, default=128)
    parser.add_argument('--layers', type=int, default=6)
    parser.add_argument('--heads', type=int, default=4)
    parser.add_argument('--lr', type=float, default=3e-3)
    parser.add_argument('--warmup', type=int, default=100)
    parser.add_argument('--dropout', type=float, default=0.0)
    parser.add_argument('--weight-decay', type=float, default=0.1)
    parser.add_argument('--seed', type=int, default=1769)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--eval-every', type=int, default=400)
    # Greedy text from a model this small can fall into loops ("in the temple, and in the temple, ...")
    # even when its loss is good. From this fraction of the run on, every --check-every steps, the
    # card's prompts are continued greedily; the file written is the latest such checkpoint whose
    # continuations hold no loop (the last step if none is free of them). The held-out text plays no
    # part in this choice.
    parser.add_argument('--select-from', type=float, default=0.6)
    parser.add_argument('--check-every', type=int, default=100)
    parser.add_argument('--continuation', type=int, default=32, help='tokens in each greedy continuation')
    # bfloat16 products in the training steps (weights, optimizer and evaluation stay float32): on
    # this machine's AVX-512 BF16 cores a step took 0.87 s instead of 1.62 s (4 layers, batch 8).
    parser.add_argument('--bf16', action=argparse.BooleanOptionalAction, default=True)
    return parser.parse_args()


class Block(nn.Module):
    """One transformer block, pre-LayerNorm, in HF GPT-2's parameter layout (Conv1D: [in, out])."""

    def __init__(self, d, n_head, dropout):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn_w = nn.Parameter(torch.randn(d, 3 * d) * 0.02)
        self.c_attn_b = nn.Parameter(torch.zeros(3 * d))
        self.attn_proj_w = nn.Parameter(torch.randn(d, d) * 0.02)
        self.attn_proj_b = nn.Parameter(torch.zeros(d))
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc_w = nn.Parameter(torch.randn(d, 4 * d) * 0.02)
        self.c_fc_b = nn.Parameter(torch.zeros(4 * d))
        self.mlp_proj_w = nn.Parameter(torch.randn(4 * d, d) * 0.02)
        self.mlp_proj_b = nn.Parameter(torch.zeros(d))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):  # x: (B, T, d)
        B, T, d = x.shape
        q, k, v = (self.ln_1(x) @ self.c_attn_w + self.c_attn_b).split(d, dim=2)
        q, k, v = (t.view(B, T, self.n_head, d // self.n_head).transpose(1, 2) for t in (q, k, v))
        scores = (q * (1 / math.sqrt(d // self.n_head))) @ k.transpose(-2, -1)  # (B, H, T, T)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        scores = scores.masked_fill(~causal, float('-inf'))
        attended = (self.dropout(scores.softmax(dim=-1)) @ v).transpose(1, 2).reshape(B, T, d)
        x = x + self.dropout(attended @ self.attn_proj_w + self.attn_proj_b)
        hidden = F.gelu(self.ln_2(x) @ self.c_fc_w + self.c_fc_b, approximate='tanh')  # gelu_new
        return x + self.dropout(hidden @ self.mlp_proj_w + self.mlp_proj_b)


class DemoGpt2(nn.Module):
    def __init__(self, known_ids, args):
        super().__init__()
        d = args.embd
        self.register_buffer('known_ids', known_ids)
        # Compact index of each GPT-2 id; ids outside the training text map to the shared row.
        compact = torch.full((VOCAB_SIZE,), len(known_ids), dtype=torch.long)
        compact[known_ids] = torch.arange(len(known_ids))
        self.register_buffer('compact', compact)
        self.log_other_count = math.log(VOCAB_SIZE - len(known_ids))
        # Added to the logits: 0 for each known id, log(count) for the shared class.
        class_offset = torch.zeros(len(known_ids) + 1)
        class_offset[-1] = self.log_other_count
        self.register_buffer('class_offset', class_offset)
        self.wte = nn.Parameter(torch.randn(len(known_ids) + 1, d) * 0.02)  # known rows, then `other`
        self.wpe = nn.Parameter(torch.randn(args.ctx, d) * 0.01)
        self.drop = nn.Dropout(args.dropout)
        self.h = nn.ModuleList(Block(d, args.heads, args.dropout) for _ in range(args.layers))
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        # GPT-2's scaled init of the projections into the residual stream.
        for block in self.h:
            for w in (block.attn_proj_w, block.mlp_proj_w):
                nn.init.normal_(w, std=0.02 / math.sqrt(2 * args.layers))

    def class_logits(self, tokens):
        """(B, T) GPT-2 ids -> (B, T, known + 1): the known ids' logits, then the log of the summed
        probability weight of every unknown id (each has logit h·other)."""
        T = tokens.shape[1]
        x = self.drop(self.wte[self.compact[tokens]] + self.wpe[:T])
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.t() + self.class_offset

    def full_wte(self):
        rows = self.wte[-1].expand(VOCAB_SIZE, -1).clone()
        rows[self.known_ids] = self.wte[:-1]
        return rows


def batches(stream, ctx, batch, generator):
    starts = torch.randint(0, len(stream) - ctx - 1, (batch,), generator=generator)
    windows = torch.stack([stream[s:s + ctx + 1] for s in starts.tolist()])
    return windows[:, :-1], windows[:, 1:]


@torch.no_grad()
def evaluate(model, stream, ctx):
    """Mean loss in nats per token over the held-out text, in full windows of ctx tokens (each
    token predicted from the start of its window), and the mean probability given to unknown ids."""
    model.eval()
    total_loss, total_other_mass, count = 0.0, 0.0, 0
    other_class = len(model.known_ids)
    for start in range(0, len(stream) - 1, ctx):
        window = stream[start:start + ctx + 1].unsqueeze(0)
        inputs, targets = window[:, :-1], window[:, 1:]
        log_probs = model.class_logits(inputs).log_softmax(dim=-1)
        target_classes = model.compact[targets]
        token_log_probs = log_probs.gather(-1, target_classes.unsqueeze(-1)).squeeze(-1)
        # An unknown id's own probability is the shared class's divided by how many ids share it.
        token_log_probs = torch.where(target_classes == other_class, token_log_probs - model.log_other_count, token_log_probs)
        total_loss -= token_log_probs.sum().item()
        total_other_mass += log_probs[..., other_class].exp().sum().item()
        count += targets.numel()
    model.train()
    return total_loss / count, total_other_mass / count


def back_to_back_repeat(tokens):
    """A span of 1..10 tokens repeated three times back to back (test/unit/demo-model.test.ts
    checks the shipped file the same way), or None."""
    for span in range(1, 11):
        for start in range(len(tokens) - 3 * span + 1):
            piece = tokens[start:start + span]
            if tokens[start + span:start + 2 * span] == piece and tokens[start + 2 * span:start + 3 * span] == piece:
                return piece
    return None


@torch.no_grad()
def greedy(model, prompt, count):
    """The greedy continuation as the shipped F16 file gives it: the weights rounded to float16.
    An unknown id's own logit is the shared row's, without the log(count) the class carries."""
    saved = {name: p.detach().clone() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.copy_(p.to(torch.float16).float())
    model.eval()
    tokens = list(prompt)
    for _ in range(count):
        logits = model.class_logits(torch.tensor([tokens[-model.wpe.shape[0]:]]))[0, -1] - model.class_offset
        best = int(logits.argmax())
        tokens.append(int(model.known_ids[best]) if best < len(model.known_ids) else -1)
    model.train()
    for name, p in model.named_parameters():
        p.copy_(saved[name])
    return tokens[len(prompt):]


def learning_rate(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))  # cosine down to 10%


def hf_state_dict(model):
    """The weights under HF GPT-2's names (no `transformer.` prefix, as in HF's own files)."""
    tensors = {'wte.weight': model.full_wte(), 'wpe.weight': model.wpe}
    for i, block in enumerate(model.h):
        p = f'h.{i}.'
        tensors.update({
            p + 'ln_1.weight': block.ln_1.weight, p + 'ln_1.bias': block.ln_1.bias,
            p + 'attn.c_attn.weight': block.c_attn_w, p + 'attn.c_attn.bias': block.c_attn_b,
            p + 'attn.c_proj.weight': block.attn_proj_w, p + 'attn.c_proj.bias': block.attn_proj_b,
            p + 'ln_2.weight': block.ln_2.weight, p + 'ln_2.bias': block.ln_2.bias,
            p + 'mlp.c_fc.weight': block.c_fc_w, p + 'mlp.c_fc.bias': block.c_fc_b,
            p + 'mlp.c_proj.weight': block.mlp_proj_w, p + 'mlp.c_proj.bias': block.mlp_proj_b,
        })
    tensors.update({'ln_f.weight': model.ln_f.weight, 'ln_f.bias': model.ln_f.bias})
    return {name: t.detach().to(torch.float16).contiguous() for name, t in tensors.items()}


def write_safetensors(path, tensors):
    header, offset, blobs = {'__metadata__': {'format': 'pt'}}, 0, []
    for name, tensor in tensors.items():
        blob = tensor.numpy().astype('<f2').tobytes()
        header[name] = {'dtype': 'F16', 'shape': list(tensor.shape), 'data_offsets': [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    header_bytes = json.dumps(header, separators=(',', ':')).encode()
    header_bytes += b' ' * (-len(header_bytes) % 8)  # align the data to 8 bytes
    with open(path, 'wb') as file:
        file.write(struct.pack('<Q', len(header_bytes)) + header_bytes)
        for blob in blobs:
            file.write(blob)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    with open(args.tokens) as file:
        data = json.load(file)
    train = torch.tensor(data['train'], dtype=torch.long)
    held_out = torch.tensor(data['heldOut'], dtype=torch.long)
    known_ids = torch.tensor(sorted(set(data['train'])), dtype=torch.long)
    model = DemoGpt2(known_ids, args)

    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and n != 'wpe']
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n != 'wpe')]
    optimizer = torch.optim.AdamW(
        [{'params': decay, 'weight_decay': args.weight_decay}, {'params': no_decay, 'weight_decay': 0.0}],
        lr=args.lr, betas=(0.9, 0.95))
    generator = torch.Generator().manual_seed(args.seed)
    history, checks, started = [], [], time.time()
    selected = None  # (step, weights) of the latest checkpoint whose greedy text holds no loop
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group['lr'] = learning_rate(step, args)
        inputs, targets = batches(train, args.ctx, args.batch, generator)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=args.bf16):
            logits = model.class_logits(inputs)
        loss = F.cross_entropy(logits.float().flatten(0, 1), model.compact[targets].flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 50 == 0:
            print(f'step {step} loss {loss.item():.3f} {time.time() - started:.0f}s', flush=True)
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            held_out_loss, other_mass = evaluate(model, held_out, args.ctx)
            history.append({'step': step + 1, 'train_loss': loss.item(), 'held_out_loss': held_out_loss,
                            'unknown_id_mass': other_mass, 'seconds': round(time.time() - started)})
            print(json.dumps(history[-1]), flush=True)
        if step + 1 >= args.select_from * args.steps and ((step + 1) % args.check_every == 0 or step + 1 == args.steps):
            loops = [back_to_back_repeat(greedy(model, p['tokens'], args.continuation)) for p in data['prompts']]
            checks.append({'step': step + 1, 'loops': [loop is not None for loop in loops]})
            print(json.dumps(checks[-1]), flush=True)
            if not any(checks[-1]['loops']):
                selected = (step + 1, hf_state_dict(model))

    selected_step, weights = selected if selected else (args.steps, hf_state_dict(model))
    os.makedirs(args.out, exist_ok=True)
    weights_path = os.path.join(args.out, 'model.safetensors')
    write_safetensors(weights_path, weights)
    config = {'model_type': 'gpt2', 'architectures': ['GPT2LMHeadModel'], 'vocab_size': VOCAB_SIZE,
              'n_positions': args.ctx, 'n_ctx': args.ctx, 'n_embd': args.embd, 'n_layer': args.layers,
              'n_head': args.heads, 'activation_function': 'gelu_new', 'layer_norm_epsilon': 1e-5,
              'tie_word_embeddings': True, 'torch_dtype': 'float16', 'bos_token_id': 50256, 'eos_token_id': 50256}
    with open(os.path.join(args.out, 'config.json'), 'w') as file:
        json.dump(config, file, indent=2)
    with open(weights_path, 'rb') as file:
        sha256 = hashlib.sha256(file.read()).hexdigest()
    summary = {'args': vars(args) | {'out': os.path.basename(os.path.normpath(args.out))},
               'torch': torch.__version__, 'training_tokens': len(train), 'held_out_tokens': len(held_out),
               'held_out_chapters': data['heldOutChapters'], 'known_ids': len(known_ids),
               'history': history, 'loop_checks': checks, 'selected_step': selected_step, 'seconds': round(time.time() - started), 'sha256': sha256}
    with open(os.path.join(args.out, 'training.json'), 'w') as file:
        json.dump(summary, file, indent=2)
    print(json.dumps({k: summary[k] for k in ('seconds', 'sha256', 'selected_step')} | history[-1]))


if __name__ == '__main__':
    main()
