"""Model FLOPs, device peaks and MFU for XLM-R-shaped encoders (formulae of performance reference §9).

* N = non-embedding parameters (every weight outside the word/position/type embeddings: 303.4M for XLM-R Large).
* Forward FLOPs of one sequence of length s: 2·N·s + 4·L·s²·d (the attention scores QKᵀ and the weighted sum AV,
  2·s²·d multiply-adds each per layer). Training = 3 × forward = 6·N·s + 12·L·s²·d.
* Only real (non-pad) tokens count: s is each sequence's own length, so padding is overhead, never credited.
* MFU = model FLOPs / (wall time × the device's dense bf16 peak).
"""

from __future__ import annotations

# dense (no sparsity) bf16 tensor-core peaks, FLOP/s (NVIDIA spec sheets; performance reference §4.1)
BF16_PEAK = {"H100 PCIe": 756e12, "H100": 989e12, "H200": 989e12, "GH200": 989e12, "A100": 312e12, "L40S": 362e12}

XLMR_LARGE = {"vocab_size": 250002, "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
              "intermediate_size": 4096, "max_position_embeddings": 514, "type_vocab_size": 1}


def device_peak(name: str) -> float | None:
    """The bf16 dense peak of a CUDA device by its name (``torch.cuda.get_device_name``), or None if unknown."""
    for key in sorted(BF16_PEAK, key=len, reverse=True):  # "H100 PCIe" before "H100"
        if key.lower() in name.lower():
            return BF16_PEAK[key]
    return None


def non_embedding_params(model) -> int:
    emb = {id(p) for n, p in model.named_parameters() if "embeddings" in n and "LayerNorm" not in n}
    return sum(p.numel() for p in model.parameters() if id(p) not in emb)


def forward_flops(n_params: int, layers: int, hidden: int, lengths) -> float:
    return float(sum(2 * n_params * s + 4 * layers * s * s * hidden for s in lengths))


def train_flops(n_params: int, layers: int, hidden: int, lengths) -> float:
    return 3 * forward_flops(n_params, layers, hidden, lengths)


def per_token(n_params: int, layers: int, hidden: int, s: int, train: bool = True) -> float:
    """FLOPs per token at sequence length s (performance reference §0: 1.90 GFLOP at s = 256 for XLM-R Large)."""
    return (3 if train else 1) * (2 * n_params + 4 * layers * s * hidden)
