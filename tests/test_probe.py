"""The translation probe (xstilts.probe) and the claim behind synthetic.dictionary: a tiny masked LM that sees
bilingual word lists learns to restore a masked English word from its translation; an untrained one does not."""

import pytest

from xstilts import synthetic as S
from xstilts.finetune import Runtime
from xstilts.pretrain import pretrain_mlm, train_tokenizer
from xstilts.probe import lexicon_nn, masked_translation

SPEC = {"code": "xc", "name": "Duaffa", "bound": ("number", "tense"), "script": "Cyrl", "loan_fraction": 0.6}
ARCH = {"hidden_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 192,
        "max_position_embeddings": 130}


@pytest.mark.slow
def test_word_lists_teach_a_tiny_model_to_translate(tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer, XLMRobertaConfig, XLMRobertaForMaskedLM

    lang = S.Language(S.LanguageSpec(**SPEC), 13)
    texts = S.word_lists(lang, entries=24000, per_row=8, seed="probe-test")
    assert len(texts) == 3000  # lines of 8 entries
    train_tokenizer(texts, 600, tmp_path / "tok")
    hp = {"learning_rate": 2.0e-3, "epochs": 30, "batch_size": 64, "warmup_ratio": 0.05, "mlm_probability": 0.4,
          "mask_replace_prob": 0.4, "random_replace_prob": 0.1, "tlm_position_reset": True}
    pretrain_mlm(texts, str(tmp_path / "tok"), ARCH, hp, str(tmp_path / "model"), str(tmp_path / "m.json"), 13,
                 ckpt_dir=tmp_path / "ckpt", runtime=Runtime(threads=1, checkpoint_every=0))
    tok = AutoTokenizer.from_pretrained(tmp_path / "model")
    trained = AutoModelForMaskedLM.from_pretrained(tmp_path / "model").eval()
    untrained = XLMRobertaForMaskedLM(XLMRobertaConfig(**XLMRobertaConfig.from_pretrained(tmp_path / "model").to_dict())).eval()
    assert masked_translation(trained, tok, lang, n=40) >= 0.8
    assert masked_translation(untrained, tok, lang, n=40) <= 0.1
    chance = 1 / len(S.CONTENT_CONCEPTS)
    assert lexicon_nn(trained, tok, lang) > 5 * chance
