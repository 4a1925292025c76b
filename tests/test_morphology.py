import random

import numpy as np
import pandas as pd
import pytest

from xstilts import morphology as M

WORDS = "dog cat house tree river stone book apple bread letter song ship car road garden window".split()
SUFFIX = ["s", "ed", "ing", "er", "ly", "ness"]


def split_text(n_sent: int, seed: int) -> list[str]:
    """Isolating text: stems and grammatical particles as separate words."""
    rng = random.Random(seed)
    return [" ".join(f"{rng.choice(WORDS)} {rng.choice(SUFFIX)}" for _ in range(5)) + " ." for _ in range(n_sent)]


def fuse(sentences: list[str]) -> list[str]:
    """The same text with each particle fused onto its stem (one word per stem+particle)."""
    out = []
    for s in sentences:
        w = s.split()[:-1]
        out.append(" ".join(a + b for a, b in zip(w[::2], w[1::2])) + " .")
    return out


def char_tokenize(text):
    return [c for w in text.split() for c in ("▁" + w)[: max(1, len(w) // 2)]] if text.strip() else []


def subword(text):
    """A toy subword tokenizer: stems are single pieces, anything longer is split into stem + rest."""
    out = []
    for w in text.split():
        stem = next((s for s in WORDS if w.startswith(s)), None)
        out += [stem, w[len(stem):]] if stem and len(w) > len(stem) else [w]
    return out


def test_fused_text_moves_every_measure_up():
    base = split_text(400, 0)
    fused = fuse(base)
    english = base
    a = M.corpus_measures(base, english, subword, sample_size=500, repeats=5, window=50, seed=1)
    b = M.corpus_measures(fused, english, subword, sample_size=500, repeats=5, window=50, seed=1)
    for m in ("ttr", "mattr", "entropy", "entropy_plugin", "ws_info", "word_length", "fertility", "continued"):
        assert b[m] > a[m], m
    # same pieces, fewer words: the subword count of the corpus is unchanged
    assert b["token_ratio_en"] == pytest.approx(a["token_ratio_en"])


def zipf_text(n_sent: int, seed: int, n_types: int = 3000) -> list[str]:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_types + 1)
    p /= p.sum()
    return [" ".join(f"w{t}" for t in rng.choice(n_types, 10, p=p)) for _ in range(n_sent)]


def test_equal_n_sampling_removes_length_dependence():
    short, long = zipf_text(150, 3), zipf_text(2000, 4)
    raw_s = M.ttr([w for s in short for w in M.words_of(s)])
    raw_l = M.ttr([w for s in long for w in M.words_of(s)])
    assert raw_s - raw_l > 0.15  # raw TTR falls with text length (1,500 vs 20,000 tokens)
    s = M.corpus_measures(short, short, str.split, 1000, 10, 100, 0)["ttr"]
    l = M.corpus_measures(long, long, str.split, 1000, 10, 100, 0)["ttr"]
    assert abs(s - l) < 0.02  # stated tolerance: 0.02 absolute TTR at N = 1,000 tokens


def test_chao_shen_corrects_small_sample_bias():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(400))
    true_h = float(-(p * np.log2(p)).sum())
    toks = [str(t) for t in rng.choice(400, 800, p=p)]
    assert abs(M.entropy_chao_shen(toks) - true_h) < abs(M.entropy_plugin(toks) - true_h)


def test_mattr_matches_naive():
    toks = list("abracadabraabcabd")
    naive = np.mean([len(set(toks[i:i + 5])) / 5 for i in range(len(toks) - 4)])
    assert M.mattr(toks, 5) == pytest.approx(naive)


def test_unsegmented_language_gets_no_word_measures():
    m = M.corpus_measures(split_text(50, 0), split_text(50, 0), subword, 100, 2, 20, 0, segmented=False)
    assert np.isnan(m["ttr"])
    assert m["word_measures"].startswith("excluded")
    assert m["token_ratio_en"] == pytest.approx(1.0)


def test_pc1_orientation_and_variance():
    rng = np.random.default_rng(0)
    z = np.linspace(0, 1, 10)
    t = pd.DataFrame({"ttr": z + 0.01 * rng.standard_normal(10), "fertility": 2 * z + 0.01 * rng.standard_normal(10),
                      "word_length": -z + 0.01 * rng.standard_normal(10)}, index=list("abcdefghij"))
    pc1, info = M.pc1_composite(t, measures=("ttr", "fertility", "word_length"))
    assert info["explained_variance"] > 0.95
    assert np.corrcoef(pc1, t["ttr"])[0, 1] > 0.99


# ---------------------------------------------------------------- WALS (CLDF schema fixtures written here)
def write_cldf(d):
    langs = pd.DataFrame([
        # German: the main doculect and two dialect doculects share ISO deu
        {"ID": "ger", "Name": "German", "Glottocode": "stan1295", "ISO639P3code": "deu", "ISO_codes": "deu"},
        {"ID": "gbe", "Name": "German (Bernese)", "Glottocode": "bern1235", "ISO639P3code": "deu", "ISO_codes": "deu"},
        {"ID": "gco", "Name": "German (Colognian)", "Glottocode": "colo1234", "ISO639P3code": "deu", "ISO_codes": "deu"},
        # Arabic: no 'ara' entry; MSA is 'ams' with ISO arb
        {"ID": "ams", "Name": "Arabic (Modern Standard)", "Glottocode": "stan1318", "ISO639P3code": "arb", "ISO_codes": "arb"},
        {"ID": "aeg", "Name": "Arabic (Egyptian)", "Glottocode": "egyp1253", "ISO639P3code": "arz", "ISO_codes": "arz"},
        # Estonian: WALS ID est carries the individual code ekk
        {"ID": "est", "Name": "Estonian", "Glottocode": "esto1258", "ISO639P3code": "ekk", "ISO_codes": "ekk"},
        # several ISO codes: ISO639P3code is empty, ISO_codes lists them
        {"ID": "mul", "Name": "Multi", "Glottocode": "mult1234", "ISO639P3code": "", "ISO_codes": "aaa bbb"},
    ])
    vals = [("ger", "22A", "2"), ("ger", "49A", "4"), ("ger", "26A", "2"), ("gbe", "22A", "3"), ("gco", "49A", "5"),
            ("ams", "26A", "2"), ("aeg", "22A", "4"), ("aeg", "49A", "1"), ("est", "49A", "8"), ("mul", "22A", "1")]
    values = pd.DataFrame([{"ID": f"{p}-{l}", "Language_ID": l, "Parameter_ID": p, "Value": v, "Code_ID": f"{p}-{v}",
                            "Comment": "", "Source": "", "Example_ID": ""} for l, p, v in vals])
    params = pd.DataFrame([{"ID": p, "Name": p, "Description": "", "ColumnSpec": "", "Chapter_ID": p[:2]} for p in ("22A", "26A", "49A")])
    codes = pd.DataFrame([{"ID": f"22A-{i}", "Parameter_ID": "22A", "Name": str(i), "Description": "", "Number": i, "icon": ""} for i in range(1, 8)])
    for name, df in (("languages", langs), ("values", vals and values), ("parameters", params), ("codes", codes)):
        df.to_csv(d / f"{name}.csv", index=False, lineterminator="\r\n")  # the release uses CRLF


def test_wals_crosswalk_pitfalls(tmp_path):
    write_cldf(tmp_path)
    cldf = M.read_cldf(tmp_path)
    xw = M.wals_crosswalk(["deu", "ara", "est", "bbb", "jav"], cldf)
    assert xw == {"deu": "ger", "ara": "ams", "est": "est", "bbb": "mul", "jav": None}
    feats = M.wals_features(["deu", "ara", "est", "jav"], cldf, ["22A", "49A", "26A"])
    row = feats.set_index("iso639_3")
    assert row.loc["deu", "wals_22A"] == 2
    assert row.loc["deu", "wals_49A"] == 4  # the main doculect, not a dialect
    assert np.isnan(row.loc["ara", "wals_22A"])
    assert row.loc["ara", "wals_26A"] == 2  # MSA gaps stay missing
    assert row.loc["est", "wals_49A"] == 8
    assert feats.loc[feats.iso639_3 == "jav", ["wals_22A", "wals_49A", "wals_26A"]].isna().all().all()
    assert M.coverage(feats, ["22A", "49A", "26A"]) == {"22A": 1, "49A": 2, "26A": 2}


def test_wals_preferred_code_wins(tmp_path):
    write_cldf(tmp_path)
    cldf = M.read_cldf(tmp_path)
    assert M.wals_crosswalk(["ara"], cldf, {"ara": "aeg"}) == {"ara": "aeg"}
    assert M.wals_crosswalk(["ara"], cldf, {"ara": "nope"}) == {"ara": "ams"}  # unknown preferred code: fall back


def test_missing_cldf_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="values.csv"):
        M.read_cldf(tmp_path)


def test_one_sample_size_every_language_supports():
    available = {"de": 9096, "te": 980, "jv": 1069}
    auto = M.choose_sample_size(available, "auto", 0.8)
    assert auto["sample_size"] == 750
    assert auto["bounded_by"] == "te"
    assert "auto" in auto["policy"]
    assert M.choose_sample_size(available, 900)["sample_size"] == 900
    with pytest.raises(ValueError, match=r"config key 'morphology.sample_tokens': 1000 .* \{'te': 980\} have fewer"):
        M.choose_sample_size(available, 1000)
    with pytest.raises(ValueError, match="no segmented language"):
        M.choose_sample_size({}, "auto")


def test_sample_tokens_schema_accepts_auto_only_as_string():
    from pathlib import Path

    import yaml

    from xstilts.config import ConfigError, validate_config

    schema = Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml"
    base = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/demo.yaml").read_text())
    for ok in ("auto", 500):
        cfg = {**base, "morphology": {**base["morphology"], "sample_tokens": ok}}
        assert validate_config(cfg, schema)["morphology"]["sample_tokens"] == ok
    with pytest.raises(ConfigError, match="morphology.sample_tokens"):
        validate_config({**base, "morphology": {**base["morphology"], "sample_tokens": "many"}}, schema)


def test_subword_tokenizer_gives_the_transformers_ids_without_importing_it(tmp_path):
    """The morphology jobs read tokenizer.json with the tokenizers library (no torch/transformers import); the ids
    are those of the Hugging Face tokenizer the encoder uses."""
    from xstilts.morphology import hf_word_tokenizer, subword_tokenizer
    from xstilts.pretrain import train_tokenizer

    texts = [f"the {a} dogs did not see {n} {b} cats, unbelievably" for a in ("big", "small") for b in ("red", "wild")
             for n in range(5)]
    hf = train_tokenizer(texts * 3, 300, tmp_path / "tok")
    fast, slow = subword_tokenizer(tmp_path / "tok"), hf_word_tokenizer(hf)
    for t in texts + [w for s in texts for w in s.split()] + ["Ünïcödé  spaces", ""]:
        assert fast(t) == slow(t), t
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        subword_tokenizer(tmp_path)
