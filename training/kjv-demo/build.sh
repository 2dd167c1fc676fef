#!/usr/bin/env bash
# Builds the app's demo model from scratch into public/models/kjv-demo/: the King James Bible from
# Debian's bible-kjv, tokenized by the app's tokenizer, a seeded training run (train.py: about an hour
# on 2 cores with OpenBLAS and bfloat16 products), a float64 evaluation of the F16 file it wrote, and the model card.
# Needs: apt-get install bible-kjv python3-torch libopenblas0-pthread (and `npm install` done).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=.cache/kjv-demo
out=public/models/kjv-demo
mkdir -p "$work" "$out"
bible -f "Genesis 1:1-Revelation 22:21" > "$work/kjv.txt"
npx tsx training/kjv-demo/tokenize-kjv.ts "$work/kjv.txt" "$work/kjv-tokens.json"
/usr/bin/python3 training/kjv-demo/train.py --tokens "$work/kjv-tokens.json" --out "$out"
/usr/bin/python3 training/kjv-demo/evaluate.py --tokens "$work/kjv-tokens.json" --model "$out"
npx tsx training/kjv-demo/write-card.ts "$out"
