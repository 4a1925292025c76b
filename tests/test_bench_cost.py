"""The throughput bench runs on CPU and ends with `mfu <fraction>`; the FLOP model matches the performance reference;
the cost estimate reads the config and scales with the throughput it is given."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from xstilts import cost, flops
from xstilts.languages import read_language_table
from xstilts.plan import load_plan

ROOT = Path(__file__).resolve().parents[1]


def test_flops_match_the_reference_for_xlmr_large():
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    with torch.device("meta"):
        model = XLMRobertaModel(XLMRobertaConfig(**flops.XLMR_LARGE))
    n = flops.non_embedding_params(model)
    assert n == pytest.approx(303.4e6, rel=1e-3)  # performance reference §0: 303.4M non-embedding
    assert flops.per_token(n, 24, 1024, 256) / 1e9 == pytest.approx(1.896, abs=2e-3)  # 1.90 GFLOP/token @256
    assert flops.per_token(n, 24, 1024, 128, train=False) / 1e9 == pytest.approx(0.62, abs=5e-3)
    assert flops.train_flops(n, 24, 1024, [256]) == pytest.approx(256 * flops.per_token(n, 24, 1024, 256))
    assert flops.device_peak("NVIDIA H100 80GB HBM3") == 989e12
    assert flops.device_peak("NVIDIA H100 PCIe") == 756e12
    assert flops.device_peak("NVIDIA H200") == 989e12
    assert flops.device_peak("Tesla T4") is None


@pytest.mark.slow
def test_finetune_bench_runs_on_cpu_and_prints_mfu_last():
    r = subprocess.run([sys.executable, str(ROOT / "bench/finetune.py"), "--steps", "4", "--warmup", "1"], capture_output=True,
                       text=True, timeout=900, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    assert re.search(r"real tokens/s .* TFLOP/s\s+MFU", r.stdout)
    m = re.fullmatch(r"mfu (\d+\.\d+)", lines[-1])
    assert m, lines[-1]
    assert 0 < float(m.group(1)) < 1, lines[-1]


def test_cost_estimate_of_the_study_config(capsys):
    total = cost.main([str(ROOT / "config/config.yaml")])
    out = capsys.readouterr().out
    assert "40% MFU" in out
    assert "not a measurement" in out
    for stage in ("intermediate", "multitask", "targets", "evaluation", "embedding"):
        assert re.search(rf"^{stage}\s+\d+\.\d+ GPU-h$", out, re.MULTILINE), stage
    assert 1 < total < 20  # the performance reference puts the paper at ≈ 5–13 H100-hours
    slower = cost.main([str(ROOT / "config/config.yaml"), "--tokens-per-s", "50000"])
    assert slower > total  # 50k real tokens/s is well below 40% MFU (≈ 209k)
    capsys.readouterr()
    half = cost.main([str(ROOT / "config/config.yaml"), "--mfu", "0.2"])
    assert half == pytest.approx(2 * total)


def test_cost_estimate_counts_a_pinned_training_size():
    task = {"type": "pair_classification", "max_seq_length": 256, "sources": [{"rows": {"train": 10}}, {"rows": {"train": 5}}]}
    assert cost._rows("x", task) == (15, "pinned")
    with pytest.raises(SystemExit, match="'unknown'"):
        cost._rows("unknown", {"type": "tagging", "hub": {}})


# ------------------------------------------------------------------ issue 18: alignment corpora, GPU time and storage


def _study(languages=None, **retrieval):
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["retrieval"].update(retrieval)
    if languages is not None:  # the study languages: FLORES+ alignment and morphology follow them
        config["languages"] = config["languages"][:languages]
    return load_plan(config)


def _corpora():
    return cost.Corpora.from_table(read_language_table(ROOT / "config/languages.csv"), "en")


def _line(lines, stage, prefix):
    (line,) = [x for x in lines if x.stage == stage and x.item.startswith(prefix)]
    return line


def test_embedding_storage_on_a_hand_example():
    # 3 sentences × 2 conditions × 4 layers × 8 dims = 192 numbers
    assert cost.embedding_bytes(3, 2, 4, 8, "float16") == 384
    assert cost.embedding_bytes(3, 2, 4, 8, "float32") == 768


def test_flores_cost_follows_the_number_of_study_languages():
    full = _line(cost.estimate(_study(), corpora=_corpora()), "embedding", "flores+")
    small = _line(cost.estimate(_study(languages=9), corpora=_corpora()), "embedding", "flores+")
    n = len(_study().corpus_languages("flores"))
    assert small.tokens / full.tokens == pytest.approx((9 + 1) / (n + 1))  # + English once per condition


def test_tatoeba_cost_counts_the_tables_pairs_of_the_configured_languages():
    plan = _study()
    line = _line(cost.estimate(plan, corpora=_corpora()), "embedding", "tatoeba")
    per_pair = 2 * len(plan.conditions) * cost.tokens_per_sentence("tatoeba")
    assert line.tokens == pytest.approx(per_pair * sum(_corpora().tatoeba_pairs[l] for l in plan.tatoeba_languages))


def test_flores_cost_scales_with_the_conditions():
    plan = _study()
    tokens = _line(cost.estimate(plan, corpora=_corpora()), "embedding", "flores+").tokens
    expected = len(plan.conditions) * (len(plan.corpus_languages("flores")) + 1) * cost.FLORES_DEVTEST * cost.tokens_per_sentence("flores")
    assert tokens == pytest.approx(expected)


def test_storage_follows_store_dtype_and_analysis_layers():
    def flores_gib(plan):
        (row,) = [r for r in cost.storage(plan, _corpora()).splitlines() if "flores+" in r and "storage" in r]
        return float(re.search(r"(\d+\.\d) GiB", row).group(1))

    half = flores_gib(_study(store_dtype="float16"))
    assert flores_gib(_study(store_dtype="float32")) == pytest.approx(2 * half, abs=0.1)
    assert flores_gib(_study(store_dtype="float16", analysis_layers=[14])) == pytest.approx(half / 25, abs=0.1)


def test_cost_cli_follows_a_config_with_fewer_languages(tmp_path, capsys):
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["languages"] = ["af", "ar", "bn"]
    config["language_table"] = str(ROOT / "config/languages.csv")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    cost.main([str(tmp_path / "config.yaml")])
    out = capsys.readouterr().out
    assert re.search(r"^  embedding\s+flores\+ devtest 3\+en × 17 ", out, re.MULTILINE)


def test_cost_cli_prints_the_alignment_corpora_and_their_storage(capsys):
    cost.main([str(ROOT / "config/config.yaml")])
    out = capsys.readouterr().out
    plan = _study()
    n_flores, n_tat = len(plan.corpus_languages("flores")), len(plan.tatoeba_languages)
    assert re.search(rf"^  embedding\s+flores\+ devtest {n_flores}\+en × 17 .* GPU-h$", out, re.MULTILINE)
    assert re.search(rf"^  embedding\s+tatoeba {n_tat} langs × 17 .* GPU-h$", out, re.MULTILINE)
    assert re.search(rf"^  storage\s+flores\+ devtest {n_flores}\+en\s+[\d,]+ vectors\s+\d+\.\d GiB", out, re.MULTILINE)
    assert re.search(rf"^  storage\s+tatoeba {n_tat} langs .* GiB", out, re.MULTILINE)
    assert "float16 (2 B) × 1024 dims × 25 stored layers" in out
    vectors = re.search(r"storage\s+flores\+ devtest \d+\+en\s+([\d,]+) vectors", out).group(1)
    assert int(vectors.replace(",", "")) == 2 * n_flores * cost.FLORES_DEVTEST  # each language's file holds its English


def test_cost_cli_prints_the_word_alignment_cost(capsys):
    """No second forward pass: the word vectors add FLOPs to the FLORES+ embedding jobs but no tokens; eflomal runs
    once per FLORES+ language, the word measures once per language × condition."""
    cost.main([str(ROOT / "config/config.yaml")])
    out = capsys.readouterr().out
    plan = _study()
    n, c = len(plan.word_languages), len(plan.conditions)
    assert re.search(rf"^  embedding\s+word vectors, flores\+ {n}\+en × {c}\s+0\.0 M tok", out, re.MULTILINE)
    assert re.search(rf"^  cpu\s+eflomal, {n} jobs \(once per language\)\s+\d+\.\d CPU-min", out, re.MULTILINE)
    assert re.search(rf"^  cpu\s+word measures, {n * c} FLORES\+ jobs", out, re.MULTILINE)
    per_word = 25 * 1024 * 2  # fp16, every stored layer
    words = cost.WORDS_PER_SENTENCE["flores"] * cost.FLORES_DEVTEST
    gib = (n * cost.LINKED_SHARE * words + words) * per_word / 2**30  # linked words of each language, the English once
    m = re.search(r"^  storage\s+word vectors \(temporary\), fp16\s+(\d+\.\d) GiB per condition", out, re.MULTILINE)
    assert float(m.group(1)) == pytest.approx(gib, abs=0.05)
    line = _line(cost.estimate(plan, corpora=_corpora()), "embedding", "word vectors")
    assert line.flops == pytest.approx(c * (n + 1) * cost.FLORES_DEVTEST * cost.tokens_per_sentence("flores") * 25 * 1024 * 2)
