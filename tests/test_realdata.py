"""Loaders on the real published files of ../shared/realdata (LASER Tatoeba, WALS CLDF v2020.4), and the morphology
stage on real text. Skipped, with the reason, when that folder is absent."""

from pathlib import Path

import pandas as pd
import pytest

from xstilts import contracts
from xstilts.morphology import (
    available_tokens,
    build_table,
    choose_sample_size,
    corpus_measures,
    hf_word_tokenizer,
    read_cldf,
)
from xstilts.sources import convert_tatoeba, convert_wals

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "realdata"
TABLE = ROOT / "config" / "languages.csv"
pytestmark = pytest.mark.skipif(not (REAL / "tatoeba").is_dir(), reason=f"real data folder {REAL} is absent")

SMALL = {"jav": 205, "kat": 746, "kaz": 575, "mal": 687, "swh": 390, "tam": 307, "tel": 234, "tha": 548}
LASER = ["afr", "ara", "ben", "bul", "deu", "cmn", "ell", "est", "eus", "fin", "fra", "heb", "hin", "hun", "ind", "ita", "jav", "jpn", "kat", "kaz", "kor", "mal", "mar", "nld", "pes", "por", "rus", "spa", "swh", "tam", "tel", "tgl", "tha", "tur", "urd", "vie"]
SOURCE = {"kind": "git_files", "format": "laser_tatoeba"}


def _iso1():
    t = pd.read_csv(TABLE, keep_default_na=False, dtype=str)
    return dict(zip(t["laser_xtreme_code"], t["iso639_1"]))


@pytest.fixture(scope="module")
def tatoeba(tmp_path_factory):
    out = tmp_path_factory.mktemp("tatoeba")
    iso1 = _iso1()
    counts = {}
    for code in LASER:
        counts[code] = convert_tatoeba(SOURCE, REAL / "tatoeba", iso1[code], out / f"{iso1[code]}.parquet", TABLE)
    return out, counts


def test_tatoeba_converted_row_counts(tatoeba):
    out, counts = tatoeba
    assert len(counts) == 36
    for code, n in counts.items():
        assert n == SMALL.get(code, 1000), code
    df = contracts.read("tatoeba", out / "te.parquet")
    assert len(df) == 234
    assert set(df["source_lang"]) == {"te"}
    assert set(df["target_lang"]) == {"en"}
    assert not any(s != s.strip() for s in df["source_sentence"].tolist() + df["target_sentence"].tolist())


def test_every_tatoeba_language_of_the_study_converts_with_its_set_size(tmp_path):
    """The 74 XLM-R languages in LASER's Tatoeba (retrieval.tatoeba.languages of config/config.yaml) are read by their
    laser_code (not only XTREME's 36) and convert to exactly the language table's tatoeba_pairs."""
    import yaml

    langs = yaml.safe_load((ROOT / "config/config.yaml").read_text())["retrieval"]["tatoeba"]["languages"]
    table = pd.read_csv(TABLE, keep_default_na=False, dtype=str).set_index("iso639_1")
    counts = {l: convert_tatoeba(SOURCE, REAL / "tatoeba", l, tmp_path / f"{l}.parquet", TABLE) for l in langs}
    assert len(counts) == 74
    assert counts == {l: int(table.loc[l, "tatoeba_pairs"]) for l in langs}


def test_tatoeba_row_count_far_from_the_language_table_stops_naming_the_file(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for side in ("kat", "eng"):  # a truncated upstream file: 700 of Georgian's 746 pairs
        lines = (REAL / "tatoeba" / f"tatoeba.kat-eng.{side}").read_text(encoding="utf-8").splitlines()[:700]
        (raw / f"tatoeba.kat-eng.{side}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(contracts.ContractError, match=r"ka\.parquet: 700 rows, expected 746"):
        convert_tatoeba(SOURCE, raw, "ka", tmp_path / "ka.parquet", TABLE)
    assert not (tmp_path / "ka.parquet").exists()


def _wals_outputs(d: Path) -> dict:
    return {n: str(d / f"{n}.csv") for n in ("values", "languages", "parameters", "codes")}


def _coded(values: pd.DataFrame, feature: str) -> int:
    return values.loc[values["Parameter_ID"] == feature, "Language_ID"].nunique()


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_wals_cldf_converted_counts(tmp_path, newline):
    raw = tmp_path / "raw" / "cldf"
    raw.mkdir(parents=True)
    for f in (REAL / "wals-cldf").glob("*.csv"):  # a git checkout of the release gives CRLF (its .gitattributes)
        (raw / f.name).write_bytes(f.read_bytes().replace(b"\n", newline.encode()))
    out = _wals_outputs(tmp_path / "wals")
    counts = convert_wals(tmp_path / "raw", out, expected_values=76475)
    assert counts["values"] == 76475
    assert b"\r\n" not in Path(out["values"]).read_bytes()
    values = read_cldf(tmp_path / "wals")["values"]
    assert _coded(values, "22A") == 145
    assert _coded(values, "49A") == 261
    assert _coded(values, "20A") == 165
    assert _coded(values, "21A") == 162
    assert _coded(values, "26A") == 969


def test_wals_row_count_mismatch_stops(tmp_path):
    with pytest.raises(contracts.ContractError, match=r"values\.csv: 76475 rows, expected 80000"):
        convert_wals(REAL / "wals-cldf", _wals_outputs(tmp_path), expected_values=80000)


@pytest.mark.slow
def test_morphology_stage_on_real_tatoeba_and_wals(tatoeba, tmp_path):
    """The morphology stage (sample size policy, corpus measures, WALS join, PC1 composite) on the 36 real Tatoeba
    languages. The tokenizer is a BPE trained here on the same sentences (XLM-R's is not available offline)."""
    from xstilts.pretrain import train_tokenizer

    out, _ = tatoeba
    langs = sorted(p.stem for p in out.glob("*.parquet"))
    unsegmented = {"zh", "ja", "th"}
    frames = {l: contracts.read("tatoeba", out / f"{l}.parquet") for l in langs}
    texts = [s for df in frames.values() for s in df["source_sentence"].tolist() + df["target_sentence"].tolist()]
    tok = hf_word_tokenizer(train_tokenizer(texts, 8000, tmp_path / "tok"))
    sizing = choose_sample_size({l: available_tokens(frames[l]["source_sentence"].tolist()) for l in langs if l not in unsegmented},
                                "auto", 0.8)
    assert sizing["bounded_by"] == "te"
    assert sizing["sample_size"] == 750  # Telugu: 980 word tokens
    with pytest.raises(ValueError, match=r"'te': 980"):  # the old fixed size names the language that cannot support it
        choose_sample_size(sizing["available_tokens"], 1000)
    measures = []
    for l in langs:
        df = frames[l]
        m = corpus_measures(df["source_sentence"].tolist(), df["target_sentence"].tolist(), tok, sizing["sample_size"], 10, 100,
                            13, segmented=l not in unsegmented)
        m.update(language=l, corpus="tatoeba", sample_policy=sizing["policy"])
        measures.append(m)
    meta = pd.read_csv(TABLE, keep_default_na=False, na_values=[""]).set_index("iso639_1")
    table, info = build_table(measures, meta, read_cldf(REAL / "wals-cldf"), ["20A", "21A", "22A", "26A", "49A"])
    assert info["word_measures_computed"] == 33
    assert sorted(info["word_measures_excluded"]) == ["ja", "th", "zh"]
    assert table.loc["te", "word_measures"] == "computed"
    assert table.loc["te", "sample_size"] == 750
    rho22, rho49 = info["spearman_composite_wals_22A"], info["spearman_composite_wals_49A"]
    print(f"word measures: {info['word_measures_computed']} languages; composite n={info['n_languages']}; "
          f"Spearman with WALS 22A {rho22['rho']:.3f} (n={rho22['n']}), 49A {rho49['rho']:.3f} (n={rho49['n']})")
    assert rho22["rho"] > 0
    assert rho49["rho"] > 0
