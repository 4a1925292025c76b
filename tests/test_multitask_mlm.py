"""Multilingual MLM as a member of the multi-task model (issue 20): the mixing rule gives MLM and the tasks their
configured batch counts, MLM batches mask only non-special tokens, a run with MLM trains, records the mixing and
resumes onto the same batch plan and weights, and missing or empty MLM text is an error naming the file."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import torch

from finetune_fixtures import SPEC, pair_data, sentence, tiny_encoder
from xstilts import contracts
from xstilts.multitask import (
    MLMSettings,
    mixed_batches,
    mlm_collator,
    mlm_features,
    mlm_stream,
    proportional_batches,
    run_multitask,
)
from xstilts.tasks import DataError
from xstilts.training import HParams, Runtime

DUMMY = {"sw": "unused.parquet"}  # the sampler never reads the files


def mono(path, n: int, seed: int):
    import random

    rng = random.Random(seed)
    return contracts.write("mono", pd.DataFrame({"text": [sentence(rng, rng.randint(4, 14)) for _ in range(n)]}), path)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from xstilts.features import featurize_split

    root = tmp_path_factory.mktemp("mlm")
    base = tiny_encoder(root)
    train = pair_data(root / "a/train.parquet", 40, 1)
    feats = root / "features/a.parquet"
    featurize_split(train, base, SPEC, feats)
    texts = {"sw": str(mono(root / "mono/sw.parquet", 30, 2)), "fi": str(mono(root / "mono/fi.parquet", 25, 3))}
    return {"root": root, "base": base, "features": {"a": str(feats)}, "texts": texts,
            "valid": {"a": str(pair_data(root / "a/valid.parquet", 12, 4))}}


# ---- (a) the mixing rule ----------------------------------------------------------------------------------------


def test_share_rule_gives_mlm_its_fraction_of_the_batches():
    """40 task batches, share 0.25: round(0.25 / 0.75 * 40) = 13 MLM batches; the share is exact up to the rounding
    of one batch (tolerance 1 / epoch batches)."""
    epoch = mixed_batches([300, 100], 5000, 10, seed=0, epoch=0, s=MLMSettings(DUMMY, share=0.25))
    n_mlm = sum(t == 2 for t, _ in epoch)
    assert n_mlm == 13
    assert abs(n_mlm / len(epoch) - 0.25) <= 1 / len(epoch)


def test_share_rule_leaves_the_task_batches_as_without_mlm():
    """The rest is split among the tasks exactly as today: the same batches in the same order."""
    epoch = mixed_batches([300, 100], 5000, 10, seed=4, epoch=2, s=MLMSettings(DUMMY, share=0.4))
    assert [b for b in epoch if b[0] != 2] == proportional_batches([300, 100], 10, 4 + 2)


def test_share_holds_over_a_seeded_multi_epoch_plan_and_its_halves():
    """Over three epochs the share is within one batch per epoch; MLM batches are spread through the plan (each half
    of the plan within 0.1 of the share: seeded, so this is a fixed check of the interleaving, not a chance)."""
    s = MLMSettings(DUMMY, share=0.3)
    plan = [b for e in range(3) for b in mixed_batches([120, 80], 1000, 8, seed=1, epoch=e, s=s)]
    is_mlm = [t == 2 for t, _ in plan]
    assert abs(sum(is_mlm) / len(plan) - 0.3) <= 3 / len(plan)
    half = len(plan) // 2
    assert abs(sum(is_mlm[:half]) / half - 0.3) <= 0.1
    assert abs(sum(is_mlm[half:]) / (len(plan) - half) - 0.3) <= 0.1


def test_the_plan_is_fixed_by_the_seed():
    s = MLMSettings(DUMMY, share=0.3)
    assert mixed_batches([50, 30], 200, 8, 5, 1, s) == mixed_batches([50, 30], 200, 8, 5, 1, s)
    assert mixed_batches([50, 30], 200, 8, 5, 1, s) != mixed_batches([50, 30], 200, 8, 6, 1, s)


def test_proportional_rule_samples_mlm_by_its_capped_size():
    s = MLMSettings(DUMMY, rule="proportional")
    epoch = mixed_batches([300, 100], 95, 10, seed=0, epoch=0, s=s)
    assert sum(t == 2 for t, _ in epoch) == 10  # ceil(95 / 10)
    capped = mixed_batches([300, 100], 95, 10, seed=0, epoch=0, s=s, cap=50)
    assert sum(t == 2 for t, _ in capped) == 5


def test_mlm_batches_see_every_sequence_once_before_any_twice():
    """The MLM stream runs through seeded permutations across epochs; 7 batches of 8 per epoch over 100 sequences."""
    s = MLMSettings(DUMMY, share=0.5)
    seen = [i for e in range(3) for t, idx in mixed_batches([56], 100, 8, 2, e, s) if t == 1 for i in idx]
    assert sorted(seen[:100]) == list(range(100))
    assert seen[100:] == mlm_stream(100, 2, 100, len(seen) - 100)


@pytest.mark.parametrize("kw, key", [({"share": None}, "mlm.share"), ({"share": 1.0}, "mlm.share"),
                                     ({"share": 0.2, "rule": "uniform"}, "mlm.rule"),
                                     ({"share": 0.2, "probability": 0.0}, "mlm.probability")])
def test_settings_out_of_range_name_their_key(kw, key):
    with pytest.raises(ValueError, match=key):
        MLMSettings(DUMMY, **kw)


# ---- (b) masking ------------------------------------------------------------------------------------------------


def test_mlm_batches_mask_only_non_special_tokens(world):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(world["base"])
    root = world["root"]
    texts = {"sw": str(mono(root / "mono/big_sw.parquet", 150, 5)), "fi": str(mono(root / "mono/big_fi.parquet", 150, 6))}
    s = MLMSettings(texts, share=0.5)
    feats, _ = mlm_features(s, tok, 64, 0)
    out = mlm_collator(tok, s, 0)([dict(f) for f in feats])
    orig = torch.full_like(out["input_ids"], tok.pad_token_id)
    for r, f in enumerate(feats):
        orig[r, : len(f["input_ids"])] = torch.tensor(f["input_ids"])
    special = torch.isin(orig, torch.tensor(tok.all_special_ids))
    assert bool(special[:, 0].all())  # every row starts with <s> and the batch has padding: the check has teeth
    assert bool((orig == tok.pad_token_id).any())
    labels = out["labels"]
    selected = labels != -100
    assert not bool((selected & special).any()), "a special or padding position was selected"
    assert torch.equal(labels[selected], orig[selected])  # a selected position predicts its original token
    changed = out["input_ids"] != orig
    assert not bool((changed & ~selected).any()), "an unselected position was changed"
    rate = selected.sum().item() / (~special).sum().item()
    assert abs(rate - 0.15) <= 0.03  # about 2,000 maskable tokens: sd of the rate about 0.008
    to_mask = (out["input_ids"] == tok.mask_token_id) & selected
    assert abs(to_mask.sum().item() / selected.sum().item() - 0.8) <= 0.08  # about 300 selected: sd about 0.023


# ---- (d) missing or empty MLM text ------------------------------------------------------------------------------


def test_missing_mlm_text_is_an_error_naming_the_file(world, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(world["base"])
    missing = tmp_path / "mono/yo.parquet"
    with pytest.raises(DataError, match=r"'yo'.*yo\.parquet"):
        mlm_features(MLMSettings({**world["texts"], "yo": str(missing)}, share=0.5), tok, 64, 0)


@pytest.mark.parametrize("rows", [[], ["", "   "]])
def test_empty_mlm_text_is_an_error_naming_the_file(world, tmp_path, rows):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(world["base"])
    empty = tmp_path / "mono/yo.parquet"
    empty.parent.mkdir(parents=True)
    pd.DataFrame({"text": pd.Series(rows, dtype=object)}).to_parquet(empty)
    with pytest.raises(DataError, match=r"'yo'.*yo\.parquet.*no non-empty text"):
        mlm_features(MLMSettings({"yo": str(empty)}, share=0.5), tok, 64, 0)


def test_a_run_with_missing_mlm_text_stops_before_training(world, tmp_path):
    hp = HParams(learning_rate=5e-3, epochs=1, batch_size=8)
    with pytest.raises(DataError, match=r"yo\.parquet"):
        run_multitask(str(world["base"]), world["features"], hp, tmp_path / "model", tmp_path / "metrics.json", 3,
                      tasks=["a"], ckpt_dir=tmp_path / "ckpt",
                      mlm=MLMSettings({"yo": str(tmp_path / "yo.parquet")}, share=0.5))
    assert not (tmp_path / "ckpt").exists()


# ---- (c) a run with MLM: trains, records the mixing, resumes onto the same plan -------------------------------


def mlm_run(world, job, *, hp: HParams, runtime: Runtime, valid=None):
    s = MLMSettings(world["texts"], share=0.5, cap_per_language=20)
    return run_multitask(str(world["base"]), world["features"], hp, job / "model", job / "metrics.json", 3, tasks=["a"],
                         ckpt_dir=job / "checkpoints", valid_paths=valid, runtime=runtime, mlm=s)


HP = HParams(learning_rate=5e-3, epochs=2, batch_size=8)


@pytest.fixture(scope="module")
def uninterrupted(world):
    job = world["root"] / "jobs/full"
    m = mlm_run(world, job, hp=HP, runtime=Runtime(checkpoint_every=4, keep_checkpoints=10, keep_after_success=True))
    return job, m


def test_a_run_with_mlm_records_the_mixing(uninterrupted):
    job, m = uninterrupted
    written = json.loads((job / "metrics.json").read_text())
    assert written["mlm"]["rule"] == "share"
    assert written["mlm"]["share"] == 0.5
    assert written["mlm"]["task_batches_per_epoch"] == 5  # 40 examples, batches of 8
    assert written["mlm"]["mlm_batches_per_epoch"] == 5
    assert written["mlm"]["planned_mlm_batches"] == 10
    assert written["mlm"]["planned_task_batches"] == 10
    assert written["train"]["optimizer_steps"] == 20
    assert written["mlm"]["languages"]["sw"] == {"path": m["mlm"]["languages"]["sw"]["path"], "rows_in_file": 30, "sequences": 20}
    assert written["mlm"]["languages"]["fi"]["sequences"] == 20
    assert written["mlm"]["head_pretrained"] is False  # the fixture's base is an encoder without an MLM head
    assert written["train_sizes"] == {"a": 40}  # MLM is no task of the metrics' task list
    assert written["tasks"] == ["a"]


def test_a_run_with_mlm_trains_the_shared_encoder(world, uninterrupted):
    from safetensors.torch import load_file

    job, m = uninterrupted
    assert m["train"]["train_loss"] > 0
    before = load_file(world["base"] / "model.safetensors")
    after = load_file(job / "model/model.safetensors")
    key = next(k for k in after if k.endswith("word_embeddings.weight"))
    assert not torch.equal(before[key], after[key])


def test_a_run_with_mlm_resumes_onto_the_same_plan_and_weights(world, uninterrupted, tmp_path):
    from safetensors.torch import load_file

    full, m_full = uninterrupted
    job = tmp_path / "resumed"
    (job / "checkpoints").mkdir(parents=True)
    shutil.copytree(full / "checkpoints/checkpoint-8", job / "checkpoints/checkpoint-8")
    m = mlm_run(world, job, hp=HP, runtime=Runtime(checkpoint_every=4))
    assert m["train"]["resumed_from_step"] == 8
    assert m["mlm"]["plan_sha256"] == m_full["mlm"]["plan_sha256"]
    assert m["train"]["train_loss"] == m_full["train"]["train_loss"]
    a, b = load_file(full / "model/model.safetensors"), load_file(job / "model/model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoints_hold_the_tied_mlm_projection_once(uninterrupted):
    from safetensors.torch import load_file

    job, _ = uninterrupted
    keys = load_file(job / "checkpoints/checkpoint-8/model.safetensors").keys()
    assert "shared.embeddings.word_embeddings.weight" in keys
    assert not [k for k in keys if k.endswith("lm_head.decoder.weight")]


@pytest.mark.slow
def test_selection_with_mlm_is_on_the_tasks_main_metric(world, tmp_path):
    hp = HParams(learning_rate=5e-3, epochs=2, batch_size=8, eval_every=4, eval_samples=8)
    m = mlm_run(world, tmp_path / "sel", hp=hp, runtime=Runtime(checkpoint_every=4), valid=world["valid"])
    assert m["train"]["selected_on"] == "mean_main_metric"
    assert m["mlm"]["selection"].startswith("mean of the member tasks' main metrics")
    assert list(m["validation"]) == ["a"]


def test_the_tied_mlm_projection_is_the_shared_embedding_and_round_trips(world):
    from transformers import AutoModel

    from xstilts.multitask import MultiTaskModel, mlm_head, tie_to_shared

    head, _ = mlm_head(world["base"], 0)
    model = MultiTaskModel([head], AutoModel.from_pretrained(world["base"], add_pooling_layer=True))
    tie_to_shared(model.heads[0], model.shared)
    assert model.heads[0].lm_head.decoder.weight is model.shared.embeddings.word_embeddings.weight
    sd = model.state_dict()
    assert "heads.0.lm_head.decoder.weight" not in sd
    result = model.load_state_dict(sd, strict=True)  # the alias is filled from the shared key: nothing missing
    assert not result.missing_keys


def test_a_checkpoint_with_an_mlm_head_gives_the_pretrained_head(world, tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from finetune_fixtures import save_tiny_xlmr
    from xstilts.multitask import mlm_head

    tok = AutoTokenizer.from_pretrained(world["base"])
    ckpt = save_tiny_xlmr(tok, tmp_path / "mlm_base", layers=1, hidden=16, max_positions=66, masked_lm=True, seed=5)
    head, pretrained = mlm_head(ckpt, 0)
    assert pretrained
    assert torch.equal(head.lm_head.dense.weight, load_file(f"{ckpt}/model.safetensors")["lm_head.dense.weight"])
