"""Does a model pretrained on the synthetic world translate?  Two probes per language, from the world's own lexicon.

* ``translate``: bilingual word lists in the pretraining format (``w1 .. w8 </s> e1 .. e8``, the config's TLM
  positions) with one English word masked -- never a loan, which would be a copy; the share of masked words the masked
  LM restores from their translation.
* ``lexicon_nn``: nearest-neighbour accuracy between each concept's stem in the language and the English words, on
  the input embeddings (mean over subword pieces), each side centred; concepts whose stem is the English word itself
  (Latin-script loans) are left out.

Without the word lists of ``synthetic.dictionary`` the demo's tiny model restores none (0 of 40 in every language)
and its lexicon is unaligned (at chance, 1/88); this is the measurement behind that setting (README, issue 12).

    python -m xstilts.probe results/models/base --config config/demo.yaml
"""

from __future__ import annotations

import argparse
import random

import numpy as np
import pandas as pd
import torch

from xstilts import synthetic as S
from xstilts.pretrain import reset_positions


def languages_of(config: dict) -> list[S.Language]:
    """The synthetic languages of a workflow config, built as the world generator builds them."""
    specs = config["synthetic"]["languages"]
    return [S.Language(S.LanguageSpec.from_dict(s), config["seed"]) for s in specs]


@torch.no_grad()
def masked_translation(model, tokenizer, lang: S.Language, n: int = 40, per_row: int = 8, seed: int = 0,
                       position_reset: bool = True) -> float:
    """Share of ``n`` masked English words that the model restores from the other side of a word list.

    Lines are drawn from the English words that are one token (so that a line's English tokens are its words); the
    masked word is one whose stem in ``lang`` differs from the English word (a loan would be a plain copy)."""
    def single(w: str) -> int | None:
        ids = tokenizer(" " + w, add_special_tokens=False)["input_ids"]
        return ids[0] if len(ids) == 1 else None

    pool = [c for c in S.CONTENT_CONCEPTS if single(c) is not None]
    targets = [c for c in pool if lang.stem(c) != c]
    if len(pool) < per_row or not targets or n < 1:
        raise ValueError(f"probe of {lang.spec.code!r}: {len(pool)} one-token English words ({len(targets)} not loans) "
                         f"cannot fill lines of {per_row} with n={n} masked words")
    rng = random.Random(f"{seed}-{lang.spec.code}")
    hits = 0
    for _ in range(n):
        target = rng.choice(targets)
        words = rng.sample([c for c in pool if c != target], per_row - 1)
        j = rng.randrange(per_row)
        words.insert(j, target)
        ids = tokenizer(S.word_lists_line(lang, words), return_tensors="pt")["input_ids"]
        at = ids[0].tolist().index(tokenizer.sep_token_id) + 1 + j  # English tokens follow the inner separator
        positions = (reset_positions(ids, tokenizer.pad_token_id, tokenizer.sep_token_id) if position_reset
                     else torch.arange(ids.shape[1]).unsqueeze(0) + tokenizer.pad_token_id + 1)
        ids[0, at] = tokenizer.mask_token_id
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), position_ids=positions).logits[0, at]
        hits += int(logits.argmax().item() == single(target))
    return hits / n


def lexicon_nn(model, tokenizer, lang: S.Language) -> float:
    """Nearest-neighbour accuracy native stem -> English word on centred input embeddings (loans left out)."""
    table = model.get_input_embeddings().weight.detach().float().numpy()

    def vec(w: str) -> np.ndarray:
        return table[tokenizer(w, add_special_tokens=False)["input_ids"]].mean(0)

    native = [c for c in S.CONTENT_CONCEPTS if lang.stem(c) != c]
    if not native:
        return float("nan")
    x = np.stack([vec(lang.stem(c)) for c in native])
    e = np.stack([vec(c) for c in S.CONTENT_CONCEPTS])
    x, e = x - x.mean(0), e - e.mean(0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    gold = np.array([S.CONTENT_CONCEPTS.index(c) for c in native])
    return float(np.mean((x @ e.T).argmax(1) == gold))


def probe(model_dir: str, config: dict, n: int = 40) -> pd.DataFrame:
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from xstilts.config import schema_defaults

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    chance = 1 / len(S.CONTENT_CONCEPTS)
    synthetic = config.get("synthetic", {})
    per_row = {**schema_defaults("synthetic.dictionary"), **synthetic.get("dictionary", {})}["per_row"]
    reset = {**schema_defaults("synthetic.pretrain"), **synthetic.get("pretrain", {})}["tlm_position_reset"]
    rows = [{"language": lang.spec.code, "script": lang.spec.script,
             "translate": masked_translation(model, tokenizer, lang, n, per_row, config["seed"], bool(reset)),
             "lexicon_nn": lexicon_nn(model, tokenizer, lang), "chance": chance} for lang in languages_of(config)]
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    import yaml

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a pretrained synthetic model directory (results/models/base)")
    ap.add_argument("--config", required=True, help="the workflow config it was trained under (config/demo.yaml)")
    ap.add_argument("--n", type=int, default=40, help="masked words per language")
    args = ap.parse_args(argv)
    with open(args.config) as f:
        config = yaml.safe_load(f)
    print(probe(args.model, config, args.n).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
