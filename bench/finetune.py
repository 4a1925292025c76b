"""Fine-tuning throughput at XLM-R Large shapes through the project's own training path (``xstilts.training.fit``:
Trainer, planned length-grouped batches with dynamic padding, bf16 autocast, SDPA attention, fused AdamW on GPU).

The model is built from XLM-R Large's config (24 × 1024, 16 heads, FFN 4096, vocabulary 250,002) with random
weights: nothing is downloaded. Batches are synthetic with a length distribution per task format (UNVERIFIED
assumptions, stated in bench/NOTES.md): pair classification (max 256), multiple choice (4 choices × 128 and
5 choices × 256, as HellaSwag/CommonsenseQA and CosmosQA), span QA windows (max 384).

Prints, per format: real (non-pad) tokens/s, padding share, achieved model TFLOP/s and MFU, peak memory. Model
FLOPs count real tokens only: per sequence of real length s, 6·N·s + 12·L·s²·d (N non-embedding parameters; the
second term is attention, xstilts.flops). MFU divides by the device's dense bf16 peak (H100 SXM / H200: 989 TFLOP/s;
H100 PCIe 756). On CPU there is no bf16 tensor-core peak: the bench measures this machine's fp32 matmul rate in the
same run and reports MFU against it. Last line: ``mfu <fraction>`` (token-weighted over the formats run).

    python bench/finetune.py                       # CPU: a small config (2 × 128, vocab 32k), pair format, 6 steps
    python bench/finetune.py --large --steps 60    # GPU: XLM-R Large, all formats
    python bench/finetune.py --large --compile     # the same with torch.compile
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time

import torch
from transformers import (
    TrainerCallback,
    XLMRobertaConfig,
    XLMRobertaForMultipleChoice,
    XLMRobertaForQuestionAnswering,
    XLMRobertaForSequenceClassification,
)

from xstilts import flops
from xstilts.tasks import _collate_flat, collate_mc
from xstilts.training import HParams, Runtime, feature_length, fit

SMALL = {"vocab_size": 32000, "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512,
         "max_position_embeddings": 514, "type_vocab_size": 1}


class _Tok:
    pad_token_id = 1


def _length(rng: random.Random, mean: float, sigma: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, int(rng.lognormvariate(mean, sigma))))


def synthetic(fmt: str, n: int, vocab: int, seed: int = 0) -> list[dict]:
    """Features with an assumed length distribution per format (log-normal, clipped to the format's maximum)."""
    rng = random.Random(seed)
    ids = lambda k: [0] + [rng.randrange(5, vocab) for _ in range(k - 2)] + [2]
    out = []
    for _ in range(n):
        if fmt == "pair":  # MNLI/QQP-like: median ≈ 45 tokens, long tail to 256
            out.append({"input_ids": ids(_length(rng, 3.8, 0.5, 8, 256)), "labels": rng.randrange(3)})
        elif fmt == "mc128":  # HellaSwag/CommonsenseQA-like: 4 choices, median ≈ 70 tokens, max 128
            k = _length(rng, 4.25, 0.3, 16, 128)
            out.append({"input_ids": [ids(max(8, k + rng.randint(-8, 8))) for _ in range(4)], "labels": rng.randrange(4)})
        elif fmt == "mc256":  # CosmosQA-like: 5 choices … here 4 answers + "none", median ≈ 110 tokens, max 256
            k = _length(rng, 4.7, 0.3, 32, 256)
            out.append({"input_ids": [ids(max(8, min(256, k + rng.randint(-10, 10)))) for _ in range(5)], "labels": rng.randrange(5)})
        elif fmt == "qa":  # SQuAD windows: most contexts fit one window (median ≈ 170 tokens), long ones fill 384
            s = _length(rng, 5.15, 0.35, 48, 384)
            out.append({"input_ids": ids(s), "start_positions": rng.randrange(s), "end_positions": rng.randrange(s)})
        else:
            raise ValueError(fmt)
    return out


FORMATS = {
    "pair": (XLMRobertaForSequenceClassification, {"num_labels": 3}, _collate_flat),
    "mc128": (XLMRobertaForMultipleChoice, {}, collate_mc),
    "mc256": (XLMRobertaForMultipleChoice, {}, collate_mc),
    "qa": (XLMRobertaForQuestionAnswering, {"num_labels": 2}, _collate_flat),
}


class Clock(TrainerCallback):
    """Wall time from the end of optimizer step ``warmup`` to the end of training (device synchronised)."""

    def __init__(self, warmup: int):
        self.warmup, self.t0, self.t1 = warmup, None, None

    def _sync(self):
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def on_step_end(self, args, state, control, **kw):
        if state.global_step == self.warmup:
            self._sync()
            self.t0 = time.perf_counter()
            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
        return control

    def on_train_end(self, args, state, control, **kw):
        self._sync()
        self.t1 = time.perf_counter()
        return control


def cpu_matmul_peak(n: int = 1024, reps: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def run(fmt: str, arch: dict, batch_size: int, steps: int, warmup: int, compile_: bool, sdpa: bool) -> dict:
    cls, kw, collate_fn = FORMATS[fmt]
    cfg = XLMRobertaConfig(**arch, pad_token_id=1, bos_token_id=0, eos_token_id=2, **kw)
    cfg._attn_implementation = "sdpa" if sdpa else "eager"
    torch.manual_seed(0)
    model = cls(cfg)
    feats = synthetic(fmt, batch_size * steps * 4, arch["vocab_size"])
    hp = HParams(learning_rate=1e-5, epochs=1, batch_size=batch_size, warmup_ratio=0.1)
    lengths = [feature_length(f) for f in feats]
    from xstilts.training import length_grouped_batches

    plan = length_grouped_batches(lengths, batch_size, seed=0)[:steps]
    clock = Clock(warmup)
    with tempfile.TemporaryDirectory() as d:  # nothing is saved: checkpoint_every=0 and no signal
        fit(model, feats, collate_fn(_Tok()), hp, Runtime(checkpoint_every=0, torch_compile=compile_, threads=16), d, 0,
            plan=plan, callbacks=[clock])
    timed = plan[warmup:]
    seqs = [len(x) for b in timed for j in b for x in (feats[j]["input_ids"] if isinstance(feats[j]["input_ids"][0], list) else [feats[j]["input_ids"]])]
    padded = 0
    for b in timed:
        rows = [x for j in b for x in (feats[j]["input_ids"] if isinstance(feats[j]["input_ids"][0], list) else [feats[j]["input_ids"]])]
        padded += len(rows) * max(len(r) for r in rows)
    n = flops.non_embedding_params(model)
    model_flops = flops.train_flops(n, cfg.num_hidden_layers, cfg.hidden_size, seqs)
    wall = clock.t1 - clock.t0
    mem = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {"format": fmt, "tokens": sum(seqs), "padded": padded, "wall": wall, "flops": model_flops, "mem_gib": mem, "n_params": n,
            "steps": len(timed)}


def main(argv=None) -> float:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--large", action="store_true", help="XLM-R Large shapes (default on a GPU)")
    ap.add_argument("--formats", default=None, help="comma list of pair,mc128,mc256,qa (default: all on GPU, pair on CPU)")
    ap.add_argument("--batch-size", type=int, default=None, help="sequences (MC: questions) per step; default 32 (GPU) / 8 (CPU)")
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps per format (default 40 GPU / 6 CPU)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed first steps (default 10 GPU / 2 CPU)")
    ap.add_argument("--compile", action="store_true", help="torch.compile (GPU only)")
    ap.add_argument("--eager", action="store_true", help="eager attention instead of SDPA")
    ap.add_argument("--peak-tflops", type=float, default=None, help="override the device peak used for MFU")
    a = ap.parse_args(argv)
    cuda = torch.cuda.is_available()
    large = a.large or cuda
    arch = flops.XLMR_LARGE if large else SMALL
    formats = (a.formats or ("pair,mc128,mc256,qa" if cuda else "pair")).split(",")
    bs = a.batch_size or (32 if cuda else 8)
    steps = a.steps or (40 if cuda else 6)
    warmup = a.warmup if a.warmup is not None else (10 if cuda else 2)
    if cuda:
        name = torch.cuda.get_device_name()
        peak, peak_src = (a.peak_tflops * 1e12 if a.peak_tflops else flops.device_peak(name)), "dense bf16 peak"
        if peak is None:
            sys.exit(f"unknown device {name!r}: pass --peak-tflops")
    else:
        name = f"CPU ({torch.get_num_threads()} threads)"
        peak = a.peak_tflops * 1e12 if a.peak_tflops else cpu_matmul_peak()
        peak_src = "given peak" if a.peak_tflops else "this machine's fp32 matmul rate, same run"
    print(f"# device: {name}; torch {torch.__version__}; model {arch['num_hidden_layers']} x {arch['hidden_size']}, "
          f"vocab {arch['vocab_size']}; batch {bs}; {steps} steps ({warmup} untimed); bf16={cuda}; "
          f"attention={'eager' if a.eager else 'sdpa'}; compile={a.compile and cuda}")
    print(f"# MFU = 6·N·s + 12·L·s²·d per real sequence of length s / (time × {peak / 1e12:.4g} TFLOP/s, {peak_src})")
    results = [run(f, arch, bs, steps, warmup, a.compile, not a.eager) for f in formats]
    for r in results:
        tflops = r["flops"] / r["wall"] / 1e12
        print(f"{r['format']:6s} {r['tokens'] / r['wall']:>10,.0f} real tokens/s  padding {1 - r['tokens'] / r['padded']:5.1%}  "
              f"{tflops:8.4g} TFLOP/s  MFU {r['flops'] / r['wall'] / peak:6.1%}  peak mem {r['mem_gib']:.1f} GiB  (N = {r['n_params'] / 1e6:.1f}M)")
    mfu = sum(r["flops"] for r in results) / sum(r["wall"] for r in results) / peak
    print(f"mfu {mfu:.4f}")
    return mfu


if __name__ == "__main__":
    main()
