"""QA scoring as XTREME's evaluate_squad.py / evaluate_mlqa.py compute it.

The expected values are worked out here by hand from the reference scripts' rules (lower-case, punctuation, articles,
segmentation, token-multiset F1, max over gold answers), not by calling the code under test twice."""
import pandas as pd
import pytest

from xstilts import qa_metrics as Q


def token_f1(n_pred: int, n_gold: int, n_common: int) -> float:
    """SQuAD token F1 from token counts: 2PR/(P+R)."""
    p, r = n_common / n_pred, n_common / n_gold
    return 2 * p * r / (p + r)


# ---------------------------------------------------------------- MLQA normalisation, per language

def test_zh_partial_overlap_uses_mixed_segmentation():
    # gold: 8 ideographs (the full-width comma and full stop are Unicode punctuation, removed); prediction: its first 5
    gold, pred = "毛泽东主席，在北京。", "毛泽东主席"
    expected = token_f1(5, 8, 5)  # = 10/13
    assert expected == pytest.approx(0.769, abs=5e-4)
    assert Q.f1(pred, gold, Q.normalize_mlqa, "zh") == pytest.approx(expected)
    assert Q.normalize_mlqa(gold, "zh") == "毛 泽 东 主 席 在 北 京"
    # the SQuAD script sees one whitespace token on each side: no overlap at all
    assert Q.f1(pred, gold, Q.normalize_squad) == 0.0


def test_zh_mixed_segmentation_keeps_latin_and_digit_runs_whole():
    # non-CJK runs are whitespace-split, each CJK ideograph is a token
    assert Q.normalize_mlqa("2008年北京 Olympic Games", "zh") == "2008 年 北 京 olympic games"
    # gold tokens: 2008 年 北 京 (4); prediction: 北 京 (2)
    assert Q.f1("北京", "2008年北京", Q.normalize_mlqa, "zh") == pytest.approx(token_f1(2, 4, 2))


def test_german_articles_are_removed_only_by_the_mlqa_script():
    pred, gold = "der Vertrag von Versailles", "Vertrag von Versailles"
    assert Q.exact_match(pred, gold, Q.normalize_mlqa, "de") == 1.0
    assert Q.f1(pred, gold, Q.normalize_mlqa, "de") == 1.0
    # SQuAD v1.1 keeps "der": 3 common tokens of 4 predicted and 3 gold
    assert Q.exact_match(pred, gold, Q.normalize_squad) == 0.0
    assert Q.f1(pred, gold, Q.normalize_squad) == pytest.approx(token_f1(4, 3, 3))
    for article in ("ein", "eine", "einen", "einem", "eines", "einer", "der", "die", "das", "den", "dem", "des"):
        assert Q.normalize_mlqa(f"{article.capitalize()} Haus", "de") == "haus"
    # German Unicode quotation marks are punctuation
    assert Q.normalize_mlqa("„das Haus“", "de") == "haus"


def test_arabic_definite_article_is_removed_wherever_it_occurs():
    assert Q.exact_match("كتاب", "الكتاب", Q.normalize_mlqa, "ar") == 1.0
    assert Q.exact_match("كتاب", "الكتاب", Q.normalize_squad) == 0.0
    # the reference pattern replaces every "ال" by a space, also inside a word: مالك -> م ك (two tokens)
    assert Q.normalize_mlqa("مالك", "ar") == "م ك"
    # Arabic comma and question mark are Unicode punctuation
    assert Q.normalize_mlqa("كتاب، قلم؟", "ar") == "كتاب قلم"


def test_other_mlqa_languages():
    assert Q.normalize_mlqa("¿La casa?", "es") == "casa"
    assert Q.normalize_mlqa("The «Cat»", "en") == "cat"
    assert Q.normalize_mlqa("cái bàn", "vi") == "bàn"
    assert Q.normalize_mlqa("एक किताब।", "hi") == "एक किताब"  # no articles in Hindi; the danda is punctuation
    with pytest.raises(ValueError, match="'xx'"):
        Q.normalize_mlqa("text", "xx")


def test_squad_normalisation_keeps_unicode_punctuation_and_other_articles():
    # the SQuAD v1.1 script strips ASCII punctuation and English articles only
    assert Q.normalize_squad("The «Cat»!") == "«cat»"
    assert Q.normalize_squad("la casa") == "la casa"


# ---------------------------------------------------------------- several gold answers

def test_max_over_all_gold_answers():
    golds = [["a cat", "the big dog", "dog"], ["big dog", "red"], "Paris"]
    preds = ["big dog", "big red dog", "paris"]
    out = Q.score(preds, golds)
    # ex 1: exact on "the big dog"; ex 2: best F1 is against "big dog" (2 of 3 predicted, 2 of 2 gold), no EM; ex 3: EM
    f1s = [1.0, max(token_f1(3, 2, 2), token_f1(3, 1, 1)), 1.0]
    assert out["f1"] == pytest.approx(sum(f1s) / 3)
    assert out["exact_match"] == pytest.approx(2 / 3)
    assert out["n"] == 3
    # scoring only the first answer would be lower: the maximum matters
    assert Q.score(preds, [g[0] if isinstance(g, list) else g for g in golds])["f1"] < out["f1"]


def test_answers_survive_the_parquet_round_trip(tmp_path):
    # the canonical schema stores every gold answer as a list column (numpy arrays once read back); strings still work
    df = pd.DataFrame({"answer_text": [["Mary", "Maria"], ["x"]]})
    df.to_parquet(tmp_path / "a.parquet")
    back = pd.read_parquet(tmp_path / "a.parquet")["answer_text"].tolist()
    assert Q.gold_answers(back[0]) == ["Mary", "Maria"]
    assert Q.score(["Maria", "x"], back)["exact_match"] == 1.0
    assert Q.gold_answers("Maria") == ["Maria"]


def test_mlqa_scoring_needs_known_language_and_answers():
    assert Q.score(["北京"], [["北京大学", "北京"]], "mlqa", "zh")["exact_match"] == 1.0
    with pytest.raises(ValueError, match="no gold answer"):
        Q.score(["x"], [[]])
    with pytest.raises(KeyError, match="unknown qa_metric 'tydi'"):
        Q.score(["x"], ["x"], "tydi")
