"""A seeded synthetic-language world whose morphology is a known dial.

Every language renders the same semantic frames ("the big dog did not see 3 cats") from one English-like base
grammar.  Languages differ in

* **morphology** -- ``bound``: which inflectional categories are expressed inside the host word (the true dial
  is ``synthesis = len(bound)``); the remaining categories surface as separate function words (isolating);
  ``fusion`` decides whether bound categories get one suffix each (agglutinative) or one portmanteau suffix per
  feature bundle (fusional);
* word order (SVO/SOV/VSO), adjective placement, lexicon (random stems from a per-language inventory), script
  (a letter-to-letter transliteration into another Unicode block), and resource size (monolingual corpus size).

Shared anchors: numerals are written as digits everywhere and personal names are shared (transliterated for other
scripts).  Labels of every task follow from the frames, never from chance.

Bilingual word lists (``WorldConfig.dictionary``, off by default): lines of a language's words followed by their
English translations in the same order (``w1 w2 ... </s> e1 e2 ...``), as glossaries and dictionary pages in web
text.  They enter the pretraining text beside the sentence-level translation pairs (TLM); a masked English word of
such a line is predicted from its translation at the same position, the easiest form of TLM, which a tiny model learns
where sentence pairs (with their different word orders) alone did not teach it to translate (the same idea as
DICT-MLM, Chaudhary et al. 2020).  Without them a language in another script shares nothing with English but digits and
punctuation, and stays near chance.  The word lists are data, not an objective, and no evaluation set contains one.

Monolingual text comes as short documents (``WorldConfig.doc_sentences``, 2 by default): each sentence continues the
previous one -- its object does the verb's successor next (:func:`continuation`, the script the multiple-choice task
asks about) -- so a word's identity predicts words of the next sentence, as in real text; frames drawn independently
would give a masked LM no reason to keep a content word's identity in its contextual layers.

The generator writes the canonical tables of ``xstilts.contracts`` (the same as the real-source conversions), so every
downstream stage runs the same code on the demo and on the real study.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

import pandas as pd

from xstilts import contracts
from xstilts.io import atomic_write_parquet, atomic_write_text
from xstilts.plan import LAYOUT, Layout

# --------------------------------------------------------------------------------------------------------------
# The base grammar
# --------------------------------------------------------------------------------------------------------------

CATEGORIES = ("number", "tense", "case", "polarity", "agreement", "aspect")
VALUES = {
    "number": ("sg", "pl"),
    "tense": ("pres", "past", "fut"),
    "case": ("nom", "acc"),
    "polarity": ("pos", "neg"),
    "agreement": ("3sg", "3pl"),
    "aspect": ("ipfv", "pfv"),
}
HOST = {"number": "noun", "case": "noun", "tense": "verb", "polarity": "verb", "agreement": "verb", "aspect": "verb"}
UNMARKED = {"sg", "pres", "nom", "pos", "3sg", "ipfv"}

NOUNS = (
    "dog cat bird horse cow fish child woman man king teacher doctor farmer baker singer driver "
    "house tree river stone book apple bread letter song ship car road garden window door table "
    "chair city village mountain flower cake coat hat box key lamp bottle ring shoe boat field"
).split()
VERBS = (
    "see find take make like help call hold carry open paint wash follow watch bring buy sell cook "
    "build break read write visit meet"
).split()
ADJS = "big small old new red green good bad happy quiet tall short warm cold dark bright".split()
CONTENT_CONCEPTS = NOUNS + VERBS + ADJS
NAMES = "Maria John Anna Peter Laura Omar Yuki Ivan Sofia Lucas Amir Elena Kofi Nina Paulo Mei".split()
# a deterministic "script" for the multiple-choice task: what the object does next after verb v
SUCCESSOR = {v: VERBS[(i + 7) % len(VERBS)] for i, v in enumerate(VERBS)}

SCRIPTS = {
    "Latn": None,
    "Cyrl": dict(zip("abcdefghijklmnopqrstuvwxyz", "абцдефгхийклмнопярстуввхыз")),
    "Grek": dict(zip("abcdefghijklmnopqrstuvwxyz", "αβψδεφγηιξκλμνοπθρστυωςχυζ")),
}

CONSONANTS = list("ptkbdgmnlrsfvzh") + ["sh", "ch", "ny"]
VOWELS = list("aeiou") + ["aa", "ei", "ou"]


@dataclass
class LanguageSpec:
    """One synthetic language.  ``bound`` is the morphology dial: the categories realised inside the word."""

    code: str
    name: str
    bound: tuple[str, ...] = ()
    fusion: str = "agglutinative"  # or "fusional"; irrelevant when nothing is bound
    order: str = "SVO"
    adj_first: bool = True
    script: str = "Latn"
    family: str = "Synthetic-A"
    mono_sentences: int = 3000
    tlm_pairs: int = 300
    lexicon: dict[str, str] | None = None  # fixed lexicon (English); random otherwise
    affixes: dict[str, str] | None = None  # fixed affixes per marked value (English)
    particles: dict[str, str] | None = None  # fixed function words per marked value (English)
    determiner: str | None = None
    loan_fraction: float = 0.0  # share of nouns/adjectives borrowed from English (shared anchors; transliterated)

    @classmethod
    def from_dict(cls, d: dict) -> LanguageSpec:
        """A spec from its config entry (``bound`` may be a list)."""
        return cls(**{**d, "bound": tuple(d.get("bound", ()))})

    @property
    def synthesis(self) -> int:
        return len(self.bound)

    @property
    def morph_type(self) -> str:
        return "isolating" if not self.bound else self.fusion


@dataclass
class Word:
    form: str
    tag: str
    role: str = ""  # "subj" marks words of the subject noun phrase (answer span for QA)
    # the frame slots the word expresses ("s.head", "o.adj", "v.tense", ...): a host word also carries its bound
    # categories, a particle its one category; two translations' words are truly aligned when their slots meet
    slots: tuple[str, ...] = ()


@dataclass
class NP:
    kind: str  # "noun" | "name"
    lemma: str
    number: str = "sg"
    adj: str | None = None
    numeral: int | None = None


@dataclass
class Frame:
    subj: NP
    verb: str
    obj: NP
    tense: str = "pres"
    polarity: str = "pos"
    aspect: str = "ipfv"


# --------------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------------


def _syllable(rng: random.Random, cons: list[str], vows: list[str]) -> str:
    return rng.choice(cons) + rng.choice(vows)


class Language:
    """A language built from a spec: lexicon, affixes and particles drawn from a seeded RNG."""

    def __init__(self, spec: LanguageSpec, seed: int):
        self.spec = spec
        rng = random.Random(f"{seed}-{spec.code}")
        cons = rng.sample(CONSONANTS, 11)
        vows = rng.sample(VOWELS, 5)
        used: set[str] = set()

        def fresh(n_syll: int) -> str:
            while True:
                w = "".join(_syllable(rng, cons, vows) for _ in range(n_syll))
                if rng.random() < 0.4:
                    w += rng.choice(cons[:6])
                if w not in used:
                    used.add(w)
                    return w

        concepts = CONTENT_CONCEPTS + ["who"]
        self.lex = dict(spec.lexicon) if spec.lexicon else {c: fresh(rng.choice((2, 2, 3))) for c in concepts}
        if not spec.lexicon and spec.loan_fraction > 0:
            loans = rng.sample(NOUNS + ADJS, int(round(spec.loan_fraction * len(NOUNS + ADJS))))
            self.lex.update({c: c for c in loans})  # borrowed from English: same form, inflected natively
        for c in concepts:
            self.lex.setdefault(c, fresh(2))
        marked = [v for cat in CATEGORIES for v in VALUES[cat] if v not in UNMARKED]
        self.affix = dict(spec.affixes or {})
        self.particle = dict(spec.particles or {})
        for v in marked:
            self.affix.setdefault(v, fresh(1))
            self.particle.setdefault(v, fresh(1))
        # fusional: one portmanteau per bundle of bound values on a host
        self.portmanteau: dict[tuple[str, ...], str] = {}
        if spec.fusion == "fusional":
            for host in ("noun", "verb"):
                cats = [c for c in spec.bound if HOST[c] == host]
                for combo in itertools.product(*(VALUES[c] for c in cats)):
                    if any(v not in UNMARKED for v in combo):
                        self.portmanteau[(host, *combo)] = fresh(rng.choice((1, 2)))
        self.table = SCRIPTS[spec.script]

    # -- word-level -------------------------------------------------------------------------------------------
    def translit(self, s: str) -> str:
        if self.table is None:
            return s
        return "".join(self.table.get(ch, ch) for ch in s)

    def stem(self, concept: str) -> str:
        """The written stem of a concept (its dictionary form), in the language's script."""
        return self.translit(self.lex[concept])

    def bound_on(self, host: str) -> list[str]:
        """The categories realised inside a host word (noun or verb)."""
        return [c for c in self.spec.bound if HOST[c] == host]

    def free_marked(self, host: str, feats: dict[str, str]) -> list[str]:
        """The free categories of a host with a particle for these feature values, in :meth:`inflect`'s order."""
        return [c for c in CATEGORIES if HOST[c] == host and c not in self.spec.bound and feats[c] not in UNMARKED
                and self.particle[feats[c]]]

    def inflect(self, stem: str, host: str, feats: dict[str, str]) -> tuple[str, list[str]]:
        """Return (word, free particles) for a stem and its feature values."""
        bound = [c for c in self.spec.bound if HOST[c] == host]
        free = [c for c in CATEGORIES if HOST[c] == host and c not in bound]
        word = stem
        if bound:
            if self.spec.fusion == "fusional":
                key = (host, *(feats[c] for c in bound))
                word += self.portmanteau.get(key, "")
            else:
                for c in bound:
                    if feats[c] not in UNMARKED:
                        word += self.affix[feats[c]]
        particles = [self.particle[feats[c]] for c in free if feats[c] not in UNMARKED and self.particle[feats[c]]]
        return word, particles

    def render_np(self, np_: NP, case: str, role: str) -> list[Word]:
        out: list[Word] = []
        p = role[0]  # s(ubject) / o(bject)
        if np_.kind == "name":
            out.append(Word(self.translit(np_.lemma), "PROPN", role, (f"{p}.head",)))
            if "case" not in self.spec.bound and case != "nom" and self.particle[case]:
                out.append(Word(self.translit(self.particle[case]), "ADP", slots=(f"{p}.case",)))
            return out
        if self.spec.determiner:
            out.append(Word(self.spec.determiner, "DET", slots=(f"{p}.det",)))
        if np_.numeral is not None:
            out.append(Word(str(np_.numeral), "NUM", slots=(f"{p}.num",)))
        feats = {"number": np_.number, "case": case}
        noun, parts = self.inflect(self.lex[np_.lemma], "noun", feats)
        head = [Word(self.translit(noun), "NOUN", role, (f"{p}.head", *(f"{p}.{c}" for c in self.bound_on("noun"))))]
        if np_.adj:
            adj = Word(self.stem(np_.adj), "ADJ", role, (f"{p}.adj",))
            head = [adj] + head if self.spec.adj_first else head + [adj]
        out += head
        out += [Word(self.translit(w), "ADP", slots=(f"{p}.{c}",)) for w, c in zip(parts, self.free_marked("noun", feats), strict=True)]
        return out

    def render_verb(self, f: Frame) -> list[Word]:
        feats = {"tense": f.tense, "polarity": f.polarity, "aspect": f.aspect, "agreement": "3pl" if f.subj.number == "pl" else "3sg"}
        verb, parts = self.inflect(self.lex[f.verb], "verb", feats)
        return ([Word(self.translit(p), "AUX", slots=(f"v.{c}",)) for p, c in zip(parts, self.free_marked("verb", feats), strict=True)]
                + [Word(self.translit(verb), "VERB", slots=("v.head", *(f"v.{c}" for c in self.bound_on("verb"))))])

    def render(self, f: Frame, question: bool = False) -> list[Word]:
        s = ([Word(self.translit(self.lex["who"]), "PRON", slots=("s.head",))] if question
             else self.render_np(f.subj, "nom", "subj"))
        v = self.render_verb(f)
        o = self.render_np(f.obj, "acc", "obj")
        parts = {"S": s, "V": v, "O": o}
        words = [w for key in self.spec.order for w in parts[key]]
        return words + [Word("?" if question else ".", "PUNCT", slots=("punct",))]


def text_of(words: list[Word]) -> str:
    return " ".join(w.form for w in words)


def true_links(en: list[Word], xx: list[Word]) -> set[tuple[int, int]]:
    """The true word alignment of two renderings of one frame: ``(i, j)`` for English word i and word j of the other
    language whenever they express a common slot (a particle aligns with the host word that carries its category
    inside the word in the other language)."""
    return {(i, j) for i, e in enumerate(en) for j, x in enumerate(xx) if set(e.slots) & set(x.slots)}


# --------------------------------------------------------------------------------------------------------------
# Frame sampling
# --------------------------------------------------------------------------------------------------------------


def sample_np(rng: random.Random, allow_name: bool = True, numeral: bool = False) -> NP:
    if allow_name and rng.random() < 0.2:
        return NP("name", rng.choice(NAMES))
    number = rng.choice(VALUES["number"])
    return NP(
        "noun",
        rng.choice(NOUNS),
        number,
        rng.choice(ADJS) if rng.random() < 0.45 else None,
        rng.randint(2, 99) if numeral and number == "pl" and rng.random() < 0.5 else None,
    )


def sample_frame(rng: random.Random) -> Frame:
    return Frame(
        subj=sample_np(rng),
        verb=rng.choice(VERBS),
        obj=sample_np(rng, allow_name=True, numeral=True),
        tense=rng.choice(VALUES["tense"]),
        polarity="neg" if rng.random() < 0.3 else "pos",
        aspect="pfv" if rng.random() < 0.3 else "ipfv",
    )


def _copy(f: Frame, **kw) -> Frame:
    d = dict(subj=NP(**vars(f.subj)), verb=f.verb, obj=NP(**vars(f.obj)), tense=f.tense, polarity=f.polarity, aspect=f.aspect)
    d.update(kw)
    return Frame(**d)


def nli_example(rng: random.Random) -> tuple[Frame, Frame, int]:
    """Premise/hypothesis frames whose label follows from the edit: dropping a modifier is entailed, adding one is
    neutral, flipping polarity or changing the verb contradicts."""
    f = sample_frame(rng)
    label = rng.randrange(3)
    if label == 0:  # entailment: hypothesis is more general
        if f.subj.kind == "noun" and f.subj.adj is None and f.obj.adj is None:
            f.subj.adj = rng.choice(ADJS)
        h = _copy(f)
        h.subj.adj = None
        h.obj.adj = None
        h.obj.numeral = None
    elif label == 1:  # neutral: hypothesis adds information
        np_ = f.subj if f.subj.kind == "noun" else f.obj
        if np_.kind != "noun":
            f.obj = NP("noun", rng.choice(NOUNS), "sg")
            np_ = f.obj
        np_.adj = None
        h = _copy(f)
        (h.subj if np_ is f.subj else h.obj).adj = rng.choice(ADJS)
    else:  # contradiction
        if rng.random() < 0.5:
            h = _copy(f, polarity="neg" if f.polarity == "pos" else "pos")
        else:
            h = _copy(f, verb=rng.choice([v for v in VERBS if v != f.verb]))
    return f, h, label


def continuation(rng: random.Random, f: Frame) -> Frame:
    """The next sentence of a document: the previous object does ``SUCCESSOR[verb]`` next (the script the
    multiple-choice task asks about), in the same tense."""
    subj = NP(**vars(f.obj))
    subj.numeral = None
    return Frame(subj=subj, verb=SUCCESSOR[f.verb], obj=sample_np(rng, allow_name=True, numeral=True), tense=f.tense,
                 polarity="neg" if rng.random() < 0.3 else "pos", aspect="pfv" if rng.random() < 0.3 else "ipfv")


def document(rng: random.Random, n_sent: int) -> list[Frame]:
    """``n_sent`` frames that follow one another: each continues the previous one (:func:`continuation`), so a word's
    identity predicts words of the next sentence (the entity recurs, the verb's successor follows)."""
    frames = [sample_frame(rng)]
    while len(frames) < n_sent:
        frames.append(continuation(rng, frames[-1]))
    return frames


def mc_example(rng: random.Random, n_choices: int = 4) -> tuple[Frame, list[Frame], int]:
    """Context + endings; the right ending has the context's object doing SUCCESSOR[verb] next."""
    f = sample_frame(rng)
    nxt = SUCCESSOR[f.verb]
    subj = NP(**vars(f.obj))
    subj.numeral = None
    right = Frame(subj=subj, verb=nxt, obj=sample_np(rng), tense=f.tense)
    endings = [right]
    while len(endings) < n_choices:
        kind = len(endings) % 3
        if kind == 1:
            other = NP("noun", rng.choice([n for n in NOUNS if n != subj.lemma]), subj.number)
            endings.append(Frame(subj=other, verb=nxt, obj=sample_np(rng), tense=f.tense))
        elif kind == 2:
            endings.append(Frame(subj=subj, verb=rng.choice([v for v in VERBS if v != nxt]), obj=sample_np(rng), tense=f.tense))
        else:
            endings.append(sample_frame(rng))
    order = list(range(n_choices))
    rng.shuffle(order)
    return f, [endings[i] for i in order], order.index(0)


def qa_example(rng: random.Random, n_sent: int = 3) -> tuple[list[Frame], int]:
    """A context of frames with distinct verbs; the question asks who did the verb of frame ``target``."""
    verbs = rng.sample(VERBS, n_sent)
    frames = []
    for v in verbs:
        f = sample_frame(rng)
        f.verb = v
        frames.append(f)
    return frames, rng.randrange(n_sent)


# --------------------------------------------------------------------------------------------------------------
# Task rendering into the canonical schema
# --------------------------------------------------------------------------------------------------------------


def render_nli(lang: Language, ex) -> dict:
    p, h, label = ex
    return {"sentence1": text_of(lang.render(p)), "sentence2": text_of(lang.render(h)), "label": label}


def render_mc(lang: Language, ex) -> dict:
    ctx, endings, label = ex
    return {"context": text_of(lang.render(ctx)), "endings": [text_of(lang.render(e)) for e in endings], "label": label}


def render_qa(lang: Language, ex, idx: int) -> dict:
    frames, t = ex
    pieces, start = [], None
    offset = 0
    for i, f in enumerate(frames):
        words = lang.render(f)
        for w in words:
            if i == t and w.role == "subj" and start is None:
                start = offset
                ans_words = [x.form for x in words if x.role == "subj"]
            pieces.append(w.form)
            offset += len(w.form) + 1
    context = " ".join(pieces)
    answer = " ".join(ans_words)
    assert context[start : start + len(answer)] == answer, (context, answer)
    question = text_of(lang.render(frames[t], question=True))
    return {"id": f"{lang.spec.code}-{idx}", "context": context, "question": question, "answer_text": answer, "answer_start": start}


def render_tagging(lang: Language, f: Frame) -> dict:
    words = lang.render(f)
    return {"tokens": [w.form for w in words], "tags": [w.tag for w in words]}


# --------------------------------------------------------------------------------------------------------------
# The world: languages + all datasets
# --------------------------------------------------------------------------------------------------------------

ENGLISH = LanguageSpec(
    code="en",
    name="English (synthetic)",
    bound=("number", "tense"),
    fusion="agglutinative",
    order="SVO",
    adj_first=True,
    family="Synthetic-A",
    lexicon={c: c for c in NOUNS + VERBS + ADJS} | {"who": "who"},
    affixes={"pl": "s", "past": "ed", "fut": "ll", "acc": "m", "neg": "nt", "3pl": "en", "pfv": "en"},
    particles={"pl": "many", "past": "did", "fut": "will", "acc": "", "neg": "not", "3pl": "", "pfv": "had"},
    determiner="the",
)


DICTIONARY_DEFAULTS = {"entries": 0, "per_row": 8}  # the schema's synthetic.dictionary defaults (tested)


@dataclass
class WorldConfig:
    seed: int
    languages: list[LanguageSpec]
    english_mono: int = 5000
    parallel_sentences: int = 600
    tatoeba_pairs: int = 200
    bucc_languages: list[str] = field(default_factory=list)
    bucc_gold: dict[str, int] = field(default_factory=lambda: {"sample": 80, "training": 150})
    bucc_distractor_ratio: float = 2.0
    # task name -> {"type": canonical format, "train": n}; the type picks the generator
    intermediate: dict[str, dict] = field(default_factory=dict)
    targets: dict[str, dict] = field(default_factory=dict)
    target_test_size: int = 150
    dev_size: int = 150
    # monolingual text as documents of this many sentences that continue one another (1: independent sentences);
    # 2 by default so that a word's identity predicts the next sentence (issue 12)
    doc_sentences: int = 2
    # bilingual word lists in the pretraining text: `entries` dictionary entries per language, `per_row` to a line
    # ("w1 w2 ... </s> e1 e2 ...", the same order on both sides)
    dictionary: dict[str, int] = field(default_factory=lambda: dict(DICTIONARY_DEFAULTS))
    # the +mlm conditions' text: {"languages": [...], "sentences": n} (None: not written)
    mlm: dict | None = None
    # '<task>+translated' -> {"type", "languages", "train"}: the task's English training set plus its frames
    # rendered in each language ("machine translation" that is exact in this world)
    translated: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> WorldConfig:
        d = dict(d)
        langs = [LanguageSpec.from_dict(l) for l in d.pop("languages")]
        if "dictionary" in d:  # a partial spec keeps the other key's default
            d["dictionary"] = {**DICTIONARY_DEFAULTS, **d["dictionary"]}
        return cls(languages=langs, **d)


def _english() -> Language:
    return Language(ENGLISH, 0)


def language_table(cfg: WorldConfig) -> pd.DataFrame:
    """Metadata table in the schema of config/languages.csv (plus the true dial columns)."""
    rows = []
    for s in cfg.languages:
        rows.append(
            {
                "iso639_1": s.code,
                "iso639_3": s.code,
                "name": s.name,
                "family": s.family,
                "script": s.script,
                # the demo's "resource size": GiB-like units proportional to the monolingual corpus
                "cc100_gib": round(s.mono_sentences / 1000.0, 3),
                "tatoeba_pairs": cfg.tatoeba_pairs,
                "in_bucc": "yes" if s.code in cfg.bucc_languages else "no",
                "wals_code": f"w{s.code}",
                "true_synthesis": s.synthesis,
                "true_morph_type": s.morph_type,
            }
        )
    rows.append(
        {"iso639_1": "en", "iso639_3": "en", "name": ENGLISH.name, "family": ENGLISH.family, "script": "Latn",
         "cc100_gib": cfg.english_mono / 1000.0, "tatoeba_pairs": None, "in_bucc": "pivot", "wals_code": "wen",
         "true_synthesis": ENGLISH.synthesis, "true_morph_type": ENGLISH.morph_type}
    )
    return pd.DataFrame(rows)


def wals_cldf(cfg: WorldConfig) -> dict[str, pd.DataFrame]:
    """WALS-schema (CLDF) tables derived from the true dial, with realistic gaps (every third language lacks 20A-22A)."""
    specs = cfg.languages + [ENGLISH]
    languages = pd.DataFrame(
        {
            "ID": [f"w{s.code}" for s in specs],
            "Name": [s.name for s in specs],
            "Glottocode": [f"synt{i:04d}" for i, _ in enumerate(specs)],
            "ISO639P3code": [s.code for s in specs],
            "ISO_codes": [s.code for s in specs],
            "Family": [s.family for s in specs],
        }
    )
    values = []
    for i, s in enumerate(specs):
        verb_bound = sum(HOST[c] == "verb" for c in s.bound)
        feats = {
            "20A": "2" if not s.bound else "1",
            "21A": "2" if {"case", "number"} <= set(s.bound) and s.fusion == "fusional" else ("1" if "case" in s.bound else "5"),
            "22A": str(min(7, 1 + verb_bound)),
            "26A": "1" if not s.bound else "2",
            "49A": "2" if "case" in s.bound else "1",
        }
        for pid, val in feats.items():
            if pid in ("20A", "21A", "22A") and i % 3 == 2 and s.code != "en":
                continue  # not coded: WALS gaps are common
            values.append({"ID": f"{pid}-w{s.code}", "Language_ID": f"w{s.code}", "Parameter_ID": pid, "Value": val, "Code_ID": f"{pid}-{val}"})
    parameters = pd.DataFrame({"ID": ["20A", "21A", "22A", "26A", "49A"], "Name": ["Fusion", "Exponence", "Inflectional Synthesis of the Verb", "Prefixing vs. Suffixing", "Number of Cases"]})
    codes = pd.DataFrame(
        [{"ID": f"{p}-{n}", "Parameter_ID": p, "Name": f"{p} value {n}", "Number": n} for p in parameters.ID for n in range(1, 10)]
    )
    return {"languages": languages, "values": pd.DataFrame(values), "parameters": parameters, "codes": codes}


def _tlm_text(src: str, tgt: str) -> str:
    return f"{src} </s> {tgt}"


def word_lists_line(lang: Language, concepts: list[str]) -> str:
    """One bilingual word list: the language's stems of ``concepts``, ``</s>``, the English words in the same order."""
    return _tlm_text(" ".join(lang.stem(c) for c in concepts), " ".join(concepts))


def word_lists(lang: Language, entries: int, per_row: int, seed: str) -> list[str]:
    """``entries`` dictionary entries (content words drawn at random, their own random stream) as bilingual word
    lists of ``per_row`` words (:func:`word_lists_line`)."""
    rng = random.Random(seed)
    words = [rng.choice(CONTENT_CONCEPTS) for _ in range(entries)]
    return [word_lists_line(lang, words[i : i + per_row]) for i in range(0, len(words), per_row)]


def generate_world(cfg: WorldConfig, layout: Layout = LAYOUT) -> None:
    """Write every dataset of the embedded world where ``layout`` puts it (canonical schema, parquet): the same
    paths as the real sources' converters write, so every later stage reads one layout."""
    en = _english()
    langs = {s.code: Language(s, cfg.seed) for s in cfg.languages}
    all_langs = {"en": en, **langs}

    # monolingual text (+ a TLM fraction of parallel pairs): pretraining data
    for code, lang in all_langs.items():
        rng = random.Random(f"{cfg.seed}-mono-{code}")
        n = cfg.english_mono if code == "en" else lang.spec.mono_sentences
        if cfg.doc_sentences > 1:
            texts = [" ".join(text_of(lang.render(f)) for f in document(rng, cfg.doc_sentences))
                     for _ in range(-(-n // cfg.doc_sentences))]
        else:
            texts = [text_of(lang.render(sample_frame(rng))) for _ in range(n)]
        if code != "en":
            for _ in range(lang.spec.tlm_pairs):
                f = sample_frame(rng)
                texts.append(_tlm_text(text_of(lang.render(f)), text_of(en.render(f))))
        if code != "en":
            texts += word_lists(lang, cfg.dictionary["entries"], cfg.dictionary["per_row"], f"{cfg.seed}-dictionary-{code}")
        contracts.write("mono", pd.DataFrame({"text": texts}), layout.path("mono", lang=code))

    # the +mlm conditions' MLM text: pure monolingual sentences of fresh frames (no translation pairs, no word lists)
    if cfg.mlm:
        for code in cfg.mlm["languages"]:
            contracts.write("mono", pd.DataFrame({"text": mlm_text(all_langs[code], cfg.mlm["sentences"], f"{cfg.seed}-mlm-{code}")}),
                            layout.path("mlm_text", lang=code))

    # multi-parallel corpus (morphology measures): one column per language
    rng = random.Random(f"{cfg.seed}-parallel")
    frames = [sample_frame(rng) for _ in range(cfg.parallel_sentences)]
    rendered = {c: [l.render(f) for f in frames] for c, l in all_langs.items()}
    parallel = pd.DataFrame({c: [text_of(ws) for ws in r] for c, r in rendered.items()})
    contracts.parallel_columns(parallel, list(all_langs), layout.parallel)
    atomic_write_parquet(parallel, layout.parallel)
    # its true word alignment with English (the frames are rendered word by word): validates the word aligner
    truth = [(c, s, i, j) for c in langs for s, (e, x) in enumerate(zip(rendered["en"], rendered[c]))
             for i, j in sorted(true_links(e, x))]
    atomic_write_parquet(pd.DataFrame(truth, columns=["language", "sentence", "en_word", "xx_word"]), layout.parallel_truth)

    # Tatoeba-like pairs (google/xtreme schema): distinct frames per language, as in the real data
    for code, lang in langs.items():
        rng = random.Random(f"{cfg.seed}-tatoeba-{code}")
        fr = [sample_frame(rng) for _ in range(cfg.tatoeba_pairs)]
        df = pd.DataFrame({"source_sentence": [text_of(lang.render(f)) for f in fr], "target_sentence": [text_of(en.render(f)) for f in fr],
                           "source_lang": code, "target_lang": "en"})
        contracts.write("tatoeba", df, layout.path("tatoeba", lang=code))

    # BUCC-like comparable corpora with distractors and gold pairs; sample (dev) and training (test) splits
    for code in cfg.bucc_languages:
        lang = langs[code]
        for split, n_gold in cfg.bucc_gold.items():
            rng = random.Random(f"{cfg.seed}-bucc-{code}-{split}")
            n_dis = int(n_gold * cfg.bucc_distractor_ratio)
            gold_frames = [sample_frame(rng) for _ in range(n_gold)]
            xx = [text_of(lang.render(f)) for f in gold_frames] + [text_of(lang.render(sample_frame(rng))) for _ in range(n_dis)]
            ee = [text_of(en.render(f)) for f in gold_frames] + [text_of(en.render(sample_frame(rng))) for _ in range(n_dis)]
            xi, ei = list(range(len(xx))), list(range(len(ee)))
            rng.shuffle(xi)
            rng.shuffle(ei)
            x_ids = {orig: f"{code}-{split}-{pos:06d}" for pos, orig in enumerate(xi)}
            e_ids = {orig: f"en-{split}-{pos:06d}" for pos, orig in enumerate(ei)}
            sents = pd.DataFrame(
                {"id": [x_ids[i] for i in xi] + [e_ids[i] for i in ei], "text": [xx[i] for i in xi] + [ee[i] for i in ei],
                 "side": [code] * len(xi) + ["en"] * len(ei)}
            )
            gold = pd.DataFrame({"src_id": [x_ids[i] for i in range(n_gold)], "en_id": [e_ids[i] for i in range(n_gold)]})
            contracts.write("bucc_sentences", sents, layout.path("bucc", lang=code, split=split))
            contracts.write("bucc_gold", gold, layout.path("bucc_gold", lang=code, split=split))

    # English intermediate tasks (train/validation), labels from the generator
    for task, spec in cfg.intermediate.items():
        for split, n in (("train", spec["train"]), ("validation", cfg.dev_size)):
            rng = random.Random(f"{cfg.seed}-inter-{task}-{split}")
            contracts.write(spec["type"], _task_frame(spec["type"], en, rng, n), layout.path("intermediate_split", task=task, split=split))

    # '<task>+translated': the English training rows, then the same frames rendered in each language (the
    # demo's translate-train), with a language column
    for name, spec in cfg.translated.items():
        task = name.split("+", 1)[0]
        seed = f"{cfg.seed}-inter-{task}-train"  # the English set's frames, as a translation of it would have
        frames = [_task_frame(spec["type"], en, random.Random(seed), cfg.intermediate[task]["train"]).assign(language="en")]
        for code in spec["languages"]:
            frames.append(_task_frame(spec["type"], langs[code], random.Random(seed), spec["train"]).assign(language=code))
        df = pd.concat(frames, ignore_index=True)  # span QA ids carry the language code: unique across languages
        contracts.write(spec["type"], df, layout.path("intermediate_split", task=name, split="train"))

    # target tasks: English train/validation, per-language test
    for target, spec in cfg.targets.items():
        for split, n in (("train", spec["train"]), ("validation", cfg.dev_size)) if spec["train"] else ():
            rng = random.Random(f"{cfg.seed}-target-{target}-{split}")
            contracts.write(spec["type"], _task_frame(spec["type"], en, rng, n), layout.path("target_split", target=target, split=split))
        for code, lang in all_langs.items():
            rng = random.Random(f"{cfg.seed}-target-{target}-test")  # same frames in every language
            contracts.write(spec["type"], _task_frame(spec["type"], lang, rng, cfg.target_test_size),
                            layout.path("target_test", target=target, lang=code))

    tables = wals_cldf(cfg)
    for name, df in tables.items():
        contracts.write(f"wals_{name}", df, layout.path("wals", table=name))
    atomic_write_text(language_table(cfg).to_csv(index=False), layout.synthetic_languages)


def mlm_text(lang: Language, n: int, seed: str) -> list[str]:
    """``n`` single sentences of fresh frames in ``lang`` alone: the +mlm conditions' monolingual text."""
    rng = random.Random(seed)
    return [text_of(lang.render(sample_frame(rng))) for _ in range(n)]


def _task_frame(kind: str, lang: Language, rng: random.Random, n: int) -> pd.DataFrame:
    """n examples of one canonical task format, rendered in ``lang``."""
    if kind not in GENERATORS:
        raise ValueError(f"the synthetic world has no generator for task type {kind!r} (known: {sorted(GENERATORS)})")
    return pd.DataFrame([GENERATORS[kind](lang, rng, i) for i in range(n)])


# canonical task format -> example generator (the registry that makes a new synthetic task metadata, not code)
GENERATORS = {
    "pair_classification": lambda lang, rng, i: render_nli(lang, nli_example(rng)),
    "multiple_choice": lambda lang, rng, i: render_mc(lang, mc_example(rng)),
    "span_qa": lambda lang, rng, i: render_qa(lang, qa_example(rng), i),
    "tagging": lambda lang, rng, i: render_tagging(lang, sample_frame(rng)),
}
