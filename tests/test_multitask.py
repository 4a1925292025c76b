"""The multi-task model: explicit member list, a member without data is an error naming it, proportional batches,
and a run that trains, saves the shared encoder and records its members."""
from __future__ import annotations

import json

import pytest

from finetune_fixtures import SPEC, pair_data, tiny_encoder
from xstilts.multitask import check_members, proportional_batches, run_multitask
from xstilts.tasks import DataError
from xstilts.training import HParams, Runtime


def test_proportional_batches_share_by_size_and_cap():
    plan = proportional_batches([300, 100], 10, seed=0)
    assert sum(t == 0 for t, _ in plan) == 30
    assert sum(t == 1 for t, _ in plan) == 10
    capped = proportional_batches([300, 100], 10, seed=0, cap=50)
    assert sum(t == 0 for t, _ in capped) == 5
    assert sum(t == 1 for t, _ in capped) == 5


def test_a_member_without_data_is_an_error_naming_it(tmp_path):
    ok = tmp_path / "nli.parquet"
    ok.write_bytes(b"x")
    with pytest.raises(DataError, match="'ccg'.*no training data"):
        check_members(["nli", "ccg"], {"nli": str(ok), "ccg": str(tmp_path / "missing.parquet")})
    with pytest.raises(DataError, match="multitask.tasks"):
        check_members([], {})


@pytest.mark.slow
def test_multitask_trains_and_saves_the_shared_encoder(tmp_path):
    from transformers import AutoModel

    from xstilts.features import featurize_split

    base = tiny_encoder(tmp_path)
    paths, valid = {}, {}
    for i, name in enumerate(("a", "b")):
        train = pair_data(tmp_path / f"{name}/train.parquet", 40 + 20 * i, i)
        valid[name] = str(pair_data(tmp_path / f"{name}/valid.parquet", 12, 10 + i))
        paths[name] = str(tmp_path / f"features/{name}.parquet")
        featurize_split(train, base, SPEC, paths[name])
    hp = HParams(learning_rate=5e-3, epochs=1, batch_size=8, eval_every=3, eval_samples=8)
    m = run_multitask(str(base), paths, hp, tmp_path / "mt/model", tmp_path / "mt/metrics.json", 3, tasks=["a", "b"],
                      ckpt_dir=tmp_path / "mt/checkpoints", valid_paths=valid, runtime=Runtime(checkpoint_every=2))
    assert m["tasks"] == ["a", "b"]
    assert m["train_sizes"] == {"a": 40, "b": 60}
    assert m["train"]["selected_on"] == "mean_main_metric"
    assert m["train"]["planned_batches"] == 5 + 8
    assert json.loads((tmp_path / "mt/metrics.json").read_text())["tasks"] == ["a", "b"]
    AutoModel.from_pretrained(tmp_path / "mt/model")
    assert not (tmp_path / "mt/checkpoints").exists()


def test_config_must_list_the_members_explicitly(root):
    import yaml

    from xstilts.config import ConfigError, load_and_check

    schema = root / "workflow/schemas/config.schema.yaml"
    cfg = yaml.safe_load((root / "config/demo.yaml").read_text())
    assert load_and_check(cfg, schema)["multitask"]["tasks"] == ["nli", "mc", "qa"]
    for tasks, msg in (([], "list the multi-task model's member tasks explicitly"), (["nli", "nope"], "'nope' is not an intermediate task"),
                       (["nli", "nli"], "listed twice")):
        cfg = yaml.safe_load((root / "config/demo.yaml").read_text())
        cfg["multitask"]["tasks"] = tasks
        with pytest.raises(ConfigError, match="multitask.tasks") as e:
            load_and_check(cfg, schema)
        assert msg in str(e.value)
