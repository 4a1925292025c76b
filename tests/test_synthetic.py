import hashlib
import random
from pathlib import Path

import pandas as pd
import pytest

from xstilts import synthetic as S
from xstilts.morphology import ttr, words_of
from xstilts.plan import LAYOUT

LANGS = [
    {"code": "p0", "name": "Iso", "bound": []},
    {"code": "p3", "name": "Agg", "bound": ["number", "tense", "case"], "fusion": "agglutinative", "order": "SOV", "script": "Cyrl"},
    {"code": "p6", "name": "Fus", "bound": ["number", "tense", "case", "polarity", "agreement", "aspect"], "fusion": "fusional", "order": "VSO"},
]


def world(tmp: Path, seed=5, **kw):
    cfg = S.WorldConfig.from_dict(dict(kw,
        seed=seed, languages=[dict(l, mono_sentences=200, tlm_pairs=20) for l in LANGS], english_mono=200, parallel_sentences=300,
        tatoeba_pairs=40, bucc_languages=["p3"], bucc_gold={"sample": 10, "training": 20},
        intermediate={"nli": {"type": "pair_classification", "train": 60}, "mc": {"type": "multiple_choice", "train": 30},
                      "qa": {"type": "span_qa", "train": 30}},
        targets={"pos": {"type": "tagging", "train": 30}}, target_test_size=20, dev_size=20))
    S.generate_world(cfg, LAYOUT.rooted(tmp))
    return cfg


def digest(d: Path) -> dict:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()}


def test_world_is_deterministic_and_complete(tmp_path):
    world(tmp_path / "a")
    world(tmp_path / "b")
    a, b = digest(tmp_path / "a" / "data"), digest(tmp_path / "b" / "data")
    assert a == b
    for f in ("languages.csv", "parallel.parquet", "tatoeba/p3.parquet", "bucc/p3.sample.parquet", "bucc/p3.training.gold.parquet",
              "intermediate/nli/train.parquet", "intermediate/mc/validation.parquet", "target/pos/test/p6.parquet", "wals/values.csv",
              "mono/en.parquet"):
        assert f in a, f
    world(tmp_path / "c", seed=6)
    assert digest(tmp_path / "c" / "data") != a


def test_morphology_dial_orders_type_token_ratio(tmp_path):
    world(tmp_path)
    par = pd.read_parquet(tmp_path / "data/parallel.parquet")
    t = {c: ttr([w for s in par[c] for w in words_of(s)][:2000]) for c in ("p0", "p3", "p6")}
    assert t["p0"] < t["p3"] < t["p6"]
    table = pd.read_csv(tmp_path / "data/languages.csv")
    assert table.set_index("iso639_1").loc["p6", "true_synthesis"] == 6


def test_labels_follow_from_the_generator():
    rng = random.Random(0)
    en = S._english()
    for _ in range(200):
        p, h, label = S.nli_example(rng)
        if label == 2:
            assert (p.polarity != h.polarity) or (p.verb != h.verb)
        elif label == 0:
            assert h.subj.adj is None
            assert h.obj.adj is None
            assert p.verb == h.verb
            assert p.polarity == h.polarity
        else:
            assert (h.subj.adj, h.obj.adj) != (p.subj.adj, p.obj.adj)
    for _ in range(100):
        ctx, endings, label = S.mc_example(rng)
        assert endings[label].verb == S.SUCCESSOR[ctx.verb]
        assert endings[label].subj.lemma == ctx.obj.lemma
    for i in range(50):
        ex = S.render_qa(en, S.qa_example(rng), i)
        assert ex["context"][ex["answer_start"]:ex["answer_start"] + len(ex["answer_text"])] == ex["answer_text"]


def test_bucc_gold_pairs_are_translations(tmp_path):
    world(tmp_path)
    sents = pd.read_parquet(tmp_path / "data/bucc/p3.training.parquet").set_index("id")["text"]
    gold = pd.read_parquet(tmp_path / "data/bucc/p3.training.gold.parquet")
    assert len(gold) == 20
    assert len(sents) == 2 * (20 + 40)
    # a gold pair shares its digits (anchors) whenever the frame has a numeral
    for s, e in zip(gold.src_id, gold.en_id):
        ds = [w for w in sents[s].split() if w.isdigit()]
        de = [w for w in sents[e].split() if w.isdigit()]
        assert ds == de


def test_unknown_task_type_is_named():
    with pytest.raises(ValueError, match="no generator for task type 'ranking'"):
        S._task_frame("ranking", S._english(), random.Random(0), 1)


def test_documents_continue_their_previous_sentence(tmp_path):
    rng = random.Random(1)
    for _ in range(50):
        a, b, c = S.document(rng, 3)
        assert b.verb == S.SUCCESSOR[a.verb]
        assert c.verb == S.SUCCESSOR[b.verb]
        assert (b.subj.kind, b.subj.lemma, b.subj.number) == (a.obj.kind, a.obj.lemma, a.obj.number)
        assert b.tense == a.tense
    cfg = S.WorldConfig.from_dict(dict(seed=2, languages=[dict(LANGS[0], mono_sentences=30, tlm_pairs=0)], english_mono=31,
                                       parallel_sentences=10, tatoeba_pairs=5, doc_sentences=2))
    S.generate_world(cfg, LAYOUT.rooted(tmp_path))
    en = pd.read_parquet(LAYOUT.rooted(tmp_path).path("mono", lang="en"))["text"]
    assert len(en) == 16
    assert all(t.count(" . ") == 1 and t.endswith(" .") for t in en)  # 16 two-sentence documents


def test_word_lists_enter_only_the_pretraining_text_of_the_other_languages(tmp_path):
    """Bilingual word lists are appended to each non-English language's monolingual text; they are translations
    (the language's stem of the same concept, in its script, at the same place in the line), and English text and
    every evaluation set stay as without them."""
    world(tmp_path / "off")
    world(tmp_path / "on", dictionary={"entries": 20, "per_row": 8})
    off, on = digest(tmp_path / "off" / "data"), digest(tmp_path / "on" / "data")
    assert {f for f in off if off[f] != on[f]} == {f"mono/{l['code']}.parquet" for l in LANGS}
    for l in LANGS:
        lang = S.Language(S.LanguageSpec(**{**l, "bound": tuple(l["bound"])}), 5)
        before = pd.read_parquet(tmp_path / "off" / "data" / "mono" / f"{l['code']}.parquet")["text"].tolist()
        after = pd.read_parquet(tmp_path / "on" / "data" / "mono" / f"{l['code']}.parquet")["text"].tolist()
        assert after[: len(before)] == before
        assert len(after) == len(before) + 3  # 8 + 8 + 4 entries
        for line in after[len(before):]:
            native, english = (side.split() for side in line.split(" </s> "))
            assert len(native) == len(english)
            assert set(english) <= set(S.CONTENT_CONCEPTS)
            assert native == [lang.stem(c) for c in english]
        if l.get("script") == "Cyrl":
            assert not any("a" <= ch <= "z" for line in after[len(before):] for ch in line.split(" </s> ")[0])
    partial = S.WorldConfig.from_dict(dict(seed=1, languages=[], dictionary={"entries": 16}))
    assert partial.dictionary == {"entries": 16, "per_row": 8}  # the other key keeps its default
