"""The language table's contract (xstilts.languages), its coverage of XLM-R's pretraining languages, FLORES+ and
LASER's Tatoeba test sets, and its agreement with the real published files of ../shared (skipped, with the reason,
when those are absent)."""

import collections
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from xstilts.config import ConfigError, known_languages
from xstilts.languages import (
    COLUMNS,
    LanguageTableError,
    check_language_table,
    laser_to_language,
    read_language_table,
    read_laser_outside,
    under_gib,
    with_flores,
    xlmr_languages,
)
from xstilts.sources import language_vars

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "config" / "languages.csv"
OUTSIDE = ROOT / "config" / "laser_tatoeba_outside.csv"
SHARED = ROOT.parent / "shared"
TATOEBA = SHARED / "realdata" / "tatoeba"
WALS = SHARED / "realdata" / "wals-cldf"
REFERENCE = SHARED / "reference" / "languages.csv"

# The ISO codes of XLM-R's Table 6 (Conneau et al. 2020): 100 rows, of which 7 are a second row of a language
# (bn, hi, ta, te, ur romanised; zh Traditional; my Zawgyi) -> 93 languages, English included.
XLMR = set("af am ar as az be bg bn br bs ca cs cy da de el en eo es et eu fa fi fr fy ga gd gl gu ha he hi hr hu hy "
           "id is it ja jv ka kk km kn ko ku ky la lo lt lv mg mk ml mn mr ms my ne nl no om or pa pl ps pt ro ru sa "
           "sd si sk sl so sq sr su sv sw ta te th tl tr ug uk ur uz vi xh yi zh".split())
needs_tatoeba = pytest.mark.skipif(not TATOEBA.is_dir(), reason=f"LASER's Tatoeba files ({TATOEBA}) are absent")
needs_wals = pytest.mark.skipif(not WALS.is_dir(), reason=f"the WALS CLDF release ({WALS}) is absent")


@pytest.fixture(scope="module")
def table():
    return read_language_table(TABLE)


@pytest.fixture(scope="module")
def laser_map(table):
    return laser_to_language(table, read_laser_outside(OUTSIDE))


def _raw() -> pd.DataFrame:
    return pd.read_csv(TABLE, dtype=str, keep_default_na=False)


# ------------------------------------------------------------------------------------------------ the contract


def test_the_table_passes_its_contract(table):
    assert len(table) == 94


def test_every_contract_column_is_in_the_file():
    assert [c.name for c in COLUMNS if c.name not in _raw().columns] == []


def test_sizes_are_typed_as_numbers(table):
    assert table.set_index("iso639_1").loc["sw", "cc100_gib"] == pytest.approx(1.6)


def test_empty_numbers_read_as_missing(table):
    assert pd.isna(table.set_index("iso639_1").loc["en", "tatoeba_pairs"])


def _broken(tmp_path, lang: str, column: str, value: str) -> Path:
    raw = _raw()
    raw.loc[raw["iso639_1"] == lang, column] = value
    p = tmp_path / "languages.csv"
    raw.to_csv(p, index=False)
    return p


@pytest.mark.parametrize(("lang", "column", "value"), [
    ("de", "iso639_1", "fr"),          # duplicate key
    ("et", "flores_code", "ekk_latn"),  # script subtag in lower case
    ("et", "flores_code", "ekk-Latn"),
    ("sw", "cc100_gib", "-1.6"),        # negative size
    ("sw", "cc100_gib", "inf"),
    ("jv", "cc100_tokens_m", "24.5"),   # tokens are whole millions
    ("ka", "tatoeba_pairs", "0"),
    ("fi", "iso639_1", "fin"),          # ISO 639-1 is two letters
    ("fi", "iso639_3", "fi"),           # ISO 639-3 is three letters
    ("fi", "in_xlmr", "maybe"),
    ("fi", "name", ""),                 # required
    ("hu", "laser_code", "fin"),        # LASER code of another language
    ("hu", "script", "Cyrl"),           # not the script of hun_Latn
    ("am", "cc100_gib", ""),            # an XLM-R language without its size
], ids=lambda v: v or "empty")
def test_a_broken_copy_fails_naming_the_column_and_language(tmp_path, lang, column, value):
    p = _broken(tmp_path, lang, column, value)
    with pytest.raises(LanguageTableError, match=rf"languages\.csv: line \d+ \(language [a-z]+\), column {column}: "):
        read_language_table(p)


@pytest.mark.parametrize("lang, column, value, message", [
    ("de", "iso639_1", "fr", r"column iso639_1: 'fr' repeats line \d+"),  # the duplicate names the repeated line
    ("sw", "cc100_gib", "-1.6", r"\(language sw\), column cc100_gib: '-1.6' is not positive"),  # names the language
    ("hi", "cc100_variant_gib", "", r"column cc100_variant: name, GiB and tokens"),  # a half-filled variant
], ids=["duplicate", "negative-size", "half-filled-variant"])
def test_a_broken_value_is_named_in_the_message(tmp_path, lang, column, value, message):
    with pytest.raises(LanguageTableError, match=message):
        read_language_table(_broken(tmp_path, lang, column, value))


def test_a_missing_column_is_named(tmp_path):
    p = tmp_path / "languages.csv"
    _raw().drop(columns=["flores_code"]).to_csv(p, index=False)
    with pytest.raises(LanguageTableError, match=r"lacks column\(s\) \['flores_code'\]"):
        read_language_table(p)


def test_check_accepts_columns_outside_the_contract():
    raw = _raw().assign(extra="x")
    assert check_language_table(raw)["extra"].iloc[0] == "x"


def test_the_config_check_reads_through_the_contract(tmp_path):
    p = _broken(tmp_path, "et", "flores_code", "ekk_latn")
    with pytest.raises(ConfigError, match=r"(?s)config key 'language_table': .*column flores_code"):
        known_languages({"source": "real", "language_table": str(p)})


def test_the_sources_read_through_the_contract(tmp_path):
    p = _broken(tmp_path, "sw", "cc100_gib", "-1.6")
    with pytest.raises(LanguageTableError, match=r"column cc100_gib"):
        language_vars(p)


def test_the_sources_still_see_the_template_variables():
    assert language_vars(TABLE)["et"]["flores_code"] == "ekk_Latn"


# ------------------------------------------------------------------------------------------------ what the table holds


@pytest.mark.skipif(not REFERENCE.is_file(), reason=f"the reference table ({REFERENCE}) is absent")
def test_the_36_xtreme_languages_and_english_keep_their_values():
    ref = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)
    ours = _raw().set_index("iso639_1").loc[ref["iso639_1"], [c for c in ref.columns if c != "iso639_1"]].reset_index()
    assert ours.equals(ref)


def test_every_xlmr_pretraining_language_has_a_row(table):
    assert set(table.loc[table["in_xlmr"] == "yes", "iso639_1"]) == XLMR


def test_the_non_xlmr_rows_are_the_target_only_yoruba(table):
    assert table.loc[table["in_xlmr"] == "no", "iso639_1"].tolist() == ["yo"]


def test_92_non_english_xlmr_languages(table):
    assert len(xlmr_languages(table)) == 92


def test_the_xtreme_tatoeba_flag_marks_the_36(table):
    assert (table["xtreme_tatoeba"] == "yes").sum() == 36


def test_flores_covers_89_of_the_92(table):
    assert len(with_flores(table)) == 89


def test_flores_lacks_breton_western_frisian_latin(table):
    assert sorted(set(xlmr_languages(table)) - set(with_flores(table))) == ["br", "fy", "la"]


def test_flores_languages_under_10_gib(table):
    assert len(under_gib(table, 10.0, list(with_flores(table)))) == 54


def test_flores_languages_under_1_gib(table):
    assert len(under_gib(table, 1.0, list(with_flores(table)))) == 25


@pytest.mark.parametrize(("lang", "code"), [("et", "ekk_Latn"), ("tl", "fil_Latn"), ("zh", "cmn_Hans"), ("fa", "pes_Arab"),
                                            ("ms", "zsm_Latn"), ("sw", "swh_Latn"), ("ar", "arb_Arab"), ("sr", "srp_Cyrl")])
def test_flores_codes_as_flores_plus_names_them(table, lang, code):
    assert with_flores(table)[lang] == code


def test_romanised_rows_are_counted_with_their_language(table):
    t = table.set_index("iso639_1")
    assert sorted(t.index[t["cc100_variant"] != ""]) == ["bn", "hi", "my", "ta", "te", "ur", "zh"]


# ------------------------------------------------------------------------------------------------ LASER's Tatoeba


def test_nynorsk_is_a_second_code_of_norwegian(laser_map):
    assert (laser_map["nob"], laser_map["nno"]) == ("no", "no")


def test_a_code_both_in_the_table_and_outside_fails(table):
    outside = pd.DataFrame([{"laser_code": "nob", "name": "Norwegian Bokmål", "xlmr_iso639_1": "", "tatoeba_pairs": "1000",
                             "reason": "x"}])
    with pytest.raises(LanguageTableError, match="'nob' is both"):
        laser_to_language(table, outside)


def test_an_outside_code_mapped_to_an_unknown_language_fails(table):
    outside = pd.DataFrame([{"laser_code": "xyz", "name": "X", "xlmr_iso639_1": "qq", "tatoeba_pairs": "1", "reason": "x"}])
    with pytest.raises(LanguageTableError, match="'qq', which is not in the language table"):
        laser_to_language(table, outside)


def _laser_files() -> dict[str, Path]:
    """LASER code -> its non-English file, from the real file names (tatoeba.<code>-eng.<code>)."""
    out = {}
    for p in TATOEBA.glob("tatoeba.*-eng.eng"):
        code = p.name.split(".")[1].split("-")[0]
        out[code] = TATOEBA / f"tatoeba.{code}-eng.{code}"
    return out


def _lines(p: Path) -> int:
    return len(p.read_text(encoding="utf-8").rstrip("\n").split("\n"))


@needs_tatoeba
def test_laser_has_112_test_sets():
    assert len(_laser_files()) == 112


@needs_tatoeba
def test_every_laser_test_set_is_mapped_or_listed_outside(laser_map):
    assert sorted(set(_laser_files()) - set(laser_map)) == []


@needs_tatoeba
def test_every_mapped_laser_code_has_its_files(laser_map):
    assert sorted(set(laser_map) - set(_laser_files())) == []


@needs_tatoeba
def test_laser_covers_74_xlmr_languages(laser_map):
    assert len({v for c, v in laser_map.items() if v and c in _laser_files()}) == 74


@needs_tatoeba
def test_37_laser_test_sets_are_outside_xlmr(laser_map):
    assert sum(v is None for c, v in laser_map.items() if c in _laser_files()) == 37


@needs_tatoeba
def test_laser_covered_languages_under_10_gib(table, laser_map):
    covered = sorted({v for c, v in laser_map.items() if v and c in _laser_files()})
    assert len(under_gib(table, 10.0, covered)) == 39


@needs_tatoeba
def test_tatoeba_pairs_are_the_line_counts_of_the_laser_files(table):
    files = _laser_files()
    t = table[table["laser_code"] != ""]
    assert {c: int(n) for c, n in zip(t["laser_code"], t["tatoeba_pairs"])} == {c: _lines(files[c]) for c in t["laser_code"]}


@needs_tatoeba
def test_the_outside_list_records_the_line_counts():
    files = _laser_files()
    o = read_laser_outside(OUTSIDE)
    assert {c: int(n) for c, n in zip(o["laser_code"], o["tatoeba_pairs"])} == {c: _lines(files[c]) for c in o["laser_code"]}


_SCRIPT = {"LATIN": "Latn", "CYRILLIC": "Cyrl", "ARABIC": "Arab", "HEBREW": "Hebr", "GREEK": "Grek", "ARMENIAN": "Armn",
           "GEORGIAN": "Geor", "ETHIOPIC": "Ethi", "KHMER": "Khmr", "DEVANAGARI": "Deva", "BENGALI": "Beng", "TAMIL": "Taml",
           "TELUGU": "Telu", "MALAYALAM": "Mlym", "THAI": "Thai", "HANGUL": "Hang", "CJK": "Hani", "HIRAGANA": "Jpan",
           "KATAKANA": "Jpan"}


def _script_shares(text: str) -> dict[str, float]:
    """Share of letters per script (Unicode character names), Japanese kana and kanji together when kana occur."""
    c = collections.Counter(_SCRIPT.get(unicodedata.name(ch, "?").split()[0], "other") for ch in text if ch.isalpha())
    if c["Jpan"]:
        c["Jpan"] += c.pop("Hani", 0)
    total = sum(c.values())
    return {k: v / total for k, v in c.most_common()}


@needs_tatoeba
def test_laser_script_is_the_dominant_script_of_the_file(table):
    files = _laser_files()
    t = table[table["laser_code"] != ""]
    found = {c: next(iter(_script_shares(files[c].read_text(encoding="utf-8")))) for c in t["laser_code"]}
    assert dict(zip(t["laser_code"], t["laser_script"])) == found


@needs_tatoeba
def test_serbian_disagreement_is_measured():
    """FLORES+ Serbian is Cyrillic (srp_Cyrl); LASER's Serbian is mostly Latin (languages.md, disagreements)."""
    shares = _script_shares((TATOEBA / "tatoeba.srp-eng.srp").read_text(encoding="utf-8"))
    assert round(shares["Latn"], 2) == 0.69


# ------------------------------------------------------------------------------------------------ WALS


@needs_wals
def test_wals_values_and_genus_are_those_of_the_cldf_release(table):
    langs = pd.read_csv(WALS / "languages.csv", dtype=str, keep_default_na=False).set_index("ID")
    values = pd.read_csv(WALS / "values.csv", dtype=str, keep_default_na=False)
    v = values.set_index(["Language_ID", "Parameter_ID"])["Value"]
    t = table[table["wals_code"] != ""]
    ours = {(r["wals_code"], f): (str(r[f"wals_{f}"]) if pd.notna(r[f"wals_{f}"]) else "", r["genus"])
            for r in t.to_dict("records") for f in ("20A", "21A", "22A", "26A", "49A")}
    theirs = {(w, f): (v.get((w, f), ""), langs.loc[w, "Genus"]) for w, f in ours}
    assert ours == theirs
