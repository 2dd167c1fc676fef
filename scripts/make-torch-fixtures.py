#!/usr/bin/python3
# Writes the pytorch_model.bin test fixtures with real torch.save, in both of PyTorch's formats:
# the zip format (torch >= 1.6) and the legacy run of pickles (_use_new_zipfile_serialization=False).
# Run from the repository root with Debian's python3-torch (only needed to regenerate them):
#
#     /usr/bin/python3 scripts/make-torch-fixtures.py
#
# test/fixtures/torch/tiny-{f32,f16}-{zip,legacy}.bin: the shared tiny GPT-2
#   (../shared/fixtures/tiny-gpt2/model.safetensors and model.f16.safetensors, so its expected.json
#   applies), saved as HF's GPT2LMHeadModel.state_dict() of 2019-2020 saved it: `transformer.`
#   prefixes, each layer's causal-mask buffers (uint8 attn.bias [1, 1, ctx, ctx] and a scalar
#   attn.masked_bias), and lm_head.weight tied to wte, so sharing its storage.
# test/fixtures/torch/odd/: a small random model with odd sizes (config.json), its weights as a
#   safetensors twin written here byte by byte, and as pytorch_model.bin (zip, F32, HF layout),
#   pytorch_model.legacy.bin (legacy format, F32, GPT2Model names: no prefix, no lm_head, as
#   openai-community/gpt2's own file) and pytorch_model.bf16.bin (zip, BF16).
# test/fixtures/torch/tiny-dialogpt/: the tiny GPT-2 made to end its reply with <|endoftext|> the
#   way DialoGPT does, for the chat test: from position EOT_FROM on, wpe carries a large component
#   along one direction and the <|endoftext|> row of wte (the tied LM head) points the same way, so
#   every prediction made at or past that position is <|endoftext|> and the ones before are the
#   random model's. Saved as DialoGPT's 2019 files are (legacy format, HF names), in F16, with
#   config.json and expected.json: the greedy reply to "Hello" + <|endoftext|>, from a float64
#   forward pass of the F16 values (training/kjv-demo/evaluate.py's, written independently of the app).
import importlib.util
import json
import os
import struct
from collections import OrderedDict

import torch
from torch import nn

SHARED = '../shared/fixtures/tiny-gpt2'
OUT = 'test/fixtures/torch'
ODD_CONFIG = {'vocab_size': 37, 'n_positions': 7, 'n_embd': 9, 'n_layer': 2, 'n_head': 3}

SAFETENSORS_DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}


def read_safetensors(path):
    """{name: tensor} from a safetensors file: u64 LE header length, JSON header, raw data."""
    with open(path, 'rb') as f:
        data = f.read()
    (header_length,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + header_length])
    start = 8 + header_length
    tensors = {}
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        begin, end = entry['data_offsets']
        raw = bytearray(data[start + begin:start + end])
        tensors[name] = torch.frombuffer(raw, dtype=SAFETENSORS_DTYPES[entry['dtype']]).reshape(entry['shape'])
    return tensors


def write_safetensors(path, tensors):
    header = OrderedDict()
    offset = 0
    for name, tensor in tensors.items():
        size = tensor.numel() * tensor.element_size()
        header[name] = {'dtype': 'F32', 'shape': list(tensor.shape), 'data_offsets': [offset, offset + size]}
        offset += size
    header_bytes = json.dumps(header).encode()
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(header_bytes)))
        f.write(header_bytes)
        for tensor in tensors.values():
            f.write(tensor.contiguous().numpy().tobytes())


# GPT-2 as HF's modeling_gpt2.py of 2019-2020 names its parts; only the names, shapes and buffers
# matter here, since nothing is run.

class Conv1D(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.empty(n_out))


class Attention(nn.Module):
    def __init__(self, d, n_ctx):
        super().__init__()
        self.register_buffer('bias', torch.tril(torch.ones(n_ctx, n_ctx, dtype=torch.uint8)).view(1, 1, n_ctx, n_ctx))
        self.register_buffer('masked_bias', torch.tensor(-1e4))
        self.c_attn = Conv1D(d, 3 * d)
        self.c_proj = Conv1D(d, d)


class Mlp(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.c_fc = Conv1D(d, 4 * d)
        self.c_proj = Conv1D(4 * d, d)


class Block(nn.Module):
    def __init__(self, d, n_ctx):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = Attention(d, n_ctx)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = Mlp(d)


class Gpt2Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        d, n_ctx = config['n_embd'], config['n_positions']
        self.wte = nn.Embedding(config['vocab_size'], d)
        self.wpe = nn.Embedding(n_ctx, d)
        self.h = nn.ModuleList([Block(d, n_ctx) for _ in range(config['n_layer'])])
        self.ln_f = nn.LayerNorm(d)


class Gpt2LMHeadModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.transformer = Gpt2Model(config)
        self.lm_head = nn.Linear(config['n_embd'], config['vocab_size'], bias=False)
        self.lm_head.weight = self.transformer.wte.weight


def with_weights(model, weights, dtype):
    """The model in `dtype` with every parameter set from `weights` (names as in its state dict)."""
    model = model.to(dtype)
    parameters = dict(model.named_parameters())
    for name, value in weights.items():
        # Names as in model.safetensors, with or without the transformer. prefix.
        target = parameters.get(name) if name in parameters else parameters['transformer.' + name]
        with torch.no_grad():
            target.copy_(value)
    missing = [name for name, p in model.named_parameters() if name not in weights and name.replace('transformer.', '', 1) not in weights]
    assert missing in ([], ['lm_head.weight']), missing
    return model


def save_both_formats(state_dict, stem):
    torch.save(state_dict, f'{stem}-zip.bin')
    torch.save(state_dict, f'{stem}-legacy.bin', _use_new_zipfile_serialization=False)


def tiny_fixtures():
    config = json.load(open(f'{SHARED}/config.json'))
    for dtype_name, dtype, weights_file in [('f32', torch.float32, 'model.safetensors'), ('f16', torch.float16, 'model.f16.safetensors')]:
        weights = read_safetensors(f'{SHARED}/{weights_file}')
        model = with_weights(Gpt2LMHeadModel(config), weights, dtype)
        state_dict = model.state_dict()
        assert state_dict['lm_head.weight'].data_ptr() == state_dict['transformer.wte.weight'].data_ptr()
        assert state_dict['transformer.h.0.attn.masked_bias'].dim() == 0
        save_both_formats(state_dict, f'{OUT}/tiny-{dtype_name}')


def odd_fixtures():
    folder = f'{OUT}/odd'
    os.makedirs(folder, exist_ok=True)
    generator = torch.Generator().manual_seed(21)
    model = Gpt2LMHeadModel(ODD_CONFIG)
    weights = OrderedDict()
    for name, parameter in model.named_parameters():
        if name == 'lm_head.weight':
            continue
        values = torch.randn(parameter.shape, generator=generator) * 0.5
        if '.ln_' in name or name.startswith('transformer.ln_f'):
            values = values + (1 if name.endswith('weight') else 0)
        # Rounded to bf16, so that the BF16 file holds exactly the safetensors twin's values.
        weights[name] = values.to(torch.bfloat16).to(torch.float32)
    model = with_weights(model, weights, torch.float32)
    with open(f'{folder}/config.json', 'w') as f:
        json.dump({'model_type': 'gpt2', **ODD_CONFIG}, f, indent=2)
        f.write('\n')
    write_safetensors(f'{folder}/model.safetensors', weights)
    torch.save(model.state_dict(), f'{folder}/pytorch_model.bin')
    torch.save(model.transformer.state_dict(), f'{folder}/pytorch_model.legacy.bin', _use_new_zipfile_serialization=False)
    torch.save(model.to(torch.bfloat16).state_dict(), f'{folder}/pytorch_model.bf16.bin')


END_OF_TEXT = 50256
HELLO = 15496  # GPT-2's token for "Hello"
EOT_FROM = 12


def float64_reference():
    spec = importlib.util.spec_from_file_location('evaluate', 'training/kjv-demo/evaluate.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Gpt2Float64


def dialogpt_fixture():
    folder = f'{OUT}/tiny-dialogpt'
    os.makedirs(folder, exist_ok=True)
    config = json.load(open(f'{SHARED}/config.json'))
    weights = {name.removeprefix('transformer.'): t for name, t in read_safetensors(f'{SHARED}/model.safetensors').items()}
    d = config['n_embd']
    direction = torch.zeros(d)
    direction[0], direction[1] = 1, -1  # zero mean, so LayerNorm keeps it
    direction /= direction.norm()
    weights['wpe.weight'][EOT_FROM:] += 100 * direction
    weights['wte.weight'][END_OF_TEXT] = 5 * direction
    model = with_weights(Gpt2LMHeadModel(config), weights, torch.float16)
    torch.save(model.state_dict(), f'{folder}/pytorch_model.bin', _use_new_zipfile_serialization=False)
    with open(f'{folder}/config.json', 'w') as f:
        json.dump(config, f, indent=2)
        f.write('\n')

    f16_values = {name.removeprefix('transformer.'): t.to(torch.float64) for name, t in model.state_dict().items()}
    reference = float64_reference()(f16_values, config)
    prompt = [HELLO, END_OF_TEXT]
    reply = reference.greedy(prompt, EOT_FROM)
    # The reply is the random model's until position EOT_FROM, then <|endoftext|>.
    assert END_OF_TEXT not in reply[:-1] and reply[-1] == END_OF_TEXT, reply
    with open(f'{folder}/expected.json', 'w') as f:
        json.dump({'prompt_tokens': prompt, 'reply_tokens': reply[:-1], 'next_token': reply[-1]}, f)
        f.write('\n')


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    tiny_fixtures()
    odd_fixtures()
    dialogpt_fixture()
