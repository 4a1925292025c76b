#!/usr/bin/env bash
# Device check for a session that is lent an H100/H200 (not run yet: no GPU was available when this was written).
# Runs, in order, with a time cap each (total well under 10 minutes on one H100):
#   1. bench/finetune.py --large       XLM-R Large training tokens/s, TFLOP/s, MFU per task format (SDPA, bf16)
#   2. bench/finetune.py --large --compile --formats pair     the torch.compile comparison (decides training.torch_compile)
#   3. bench/embed.py --large          extraction tokens/s and MFU at XLM-R Large shapes
#   4. bench/resume_check.py           a real kill (SIGUSR1, as SLURM sends) + resume on the GPU, metrics compared
#   5. pytest -m gpu                   the GPU-marked tests
# Every output goes to $OUT (or ./gpu_check_out) with the card and software versions; copy the figures into
# bench/NOTES.md. Usage: bash bench/gpu_check.sh
set -uo pipefail
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  python -c "import torch, transformers, accelerate; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, 'accelerate', accelerate.__version__)"
} > "$OUT/versions.txt" 2>&1
cat "$OUT/versions.txt"

step() {  # name, timeout seconds, command...
  local name=$1 t=$2; shift 2
  echo "== $name"
  timeout "$t" "$@" > "$OUT/$name.log" 2>&1
  echo "   exit $? ; $(grep -E '^(mfu|resume_max_abs_diff) ' "$OUT/$name.log" | tail -1)"
  grep -E '^(#|pair|mc128|mc256|qa|extract|uninterrupted|interrupted)' "$OUT/$name.log"
}

step finetune_large 200 python bench/finetune.py --large --steps 40 --warmup 10
step finetune_compile 150 python bench/finetune.py --large --compile --formats pair --steps 60 --warmup 20
step embed_large 120 python bench/embed.py --large --sentences 100000
step resume_check 150 python bench/resume_check.py --hidden 512 --layers 6 --kill-at 170
step gpu_tests 120 python -m pytest -q -m gpu tests
