import pytest
import torch
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

from xstilts.pretrain import MaskedOnlyMLM


def _cfg():
    return XLMRobertaConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                            max_position_embeddings=20, type_vocab_size=1, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def test_masked_only_head_gives_the_plain_loss_and_gradients():
    torch.manual_seed(0)
    fast = MaskedOnlyMLM(_cfg())
    plain = XLMRobertaForMaskedLM(_cfg())
    plain.load_state_dict(fast.state_dict())
    ids = torch.randint(5, 50, (3, 9))
    mask = torch.ones_like(ids)
    mask[2, 6:] = 0
    labels = torch.full_like(ids, -100)
    labels[0, 1], labels[1, 4], labels[2, 2] = ids[0, 1], ids[1, 4], ids[2, 2]
    a = fast(input_ids=ids, attention_mask=mask, labels=labels)
    b = plain(input_ids=ids, attention_mask=mask, labels=labels)
    assert a.loss.item() == pytest.approx(b.loss.item(), rel=1e-5)
    assert a.logits.shape == (3, 50)  # masked positions only
    a.loss.backward()
    b.loss.backward()
    ga, gb = fast.roberta.embeddings.word_embeddings.weight.grad, plain.roberta.embeddings.word_embeddings.weight.grad
    assert torch.allclose(ga, gb, atol=1e-6)
    # no labels: the plain model's logits over every position; no masked token: a zero loss, not NaN
    assert fast(input_ids=ids, attention_mask=mask).logits.shape == (3, 9, 50)
    assert fast(input_ids=ids, attention_mask=mask, labels=torch.full_like(ids, -100)).loss.item() == 0.0


def test_tlm_positions_restart_at_the_inner_separator():
    from xstilts.pretrain import reset_positions

    pad, sep = 1, 2
    ids = torch.tensor([[0, 5, 6, 2, 7, 8, 2, 1], [0, 5, 6, 7, 2, 1, 1, 1]])
    pos = reset_positions(ids, pad, sep)
    # "<s> a b" and "</s> c d" get the same positions; the final </s> continues; padding keeps pad's position
    assert pos.tolist() == [[2, 3, 4, 2, 3, 4, 5, 1], [2, 3, 4, 5, 6, 1, 1, 1]]


class _Tok:
    """The few tokenizer members the masked-LM collator reads (ids as in XLM-R: <s>=0, <pad>=1, </s>=2, <mask>=4)."""

    pad_token_id, sep_token_id, mask_token_id, bos_token_id = 1, 2, 4, 0
    pad_token, mask_token, padding_side = "<pad>", "<mask>", "right"
    all_special_ids = [0, 1, 2, 3, 4]

    def __len__(self):
        return 50

    def convert_tokens_to_ids(self, token):
        return {"<pad>": 1, "<mask>": 4}[token]

    def get_special_tokens_mask(self, ids, already_has_special_tokens=True):
        return [int(i in self.all_special_ids) for i in ids]

    def pad(self, features, return_tensors="pt", pad_to_multiple_of=None):
        w = max(len(f["input_ids"]) for f in features)
        return {"input_ids": torch.tensor([f["input_ids"] + [1] * (w - len(f["input_ids"])) for f in features]),
                "attention_mask": torch.tensor([[1] * len(f["input_ids"]) + [0] * (w - len(f["input_ids"])) for f in features])}


def test_collation_is_deterministic_and_keeps_its_split():
    from xstilts.pretrain import mlm_collate

    tok = _Tok()
    batch = [{"input_ids": [0] + list(range(5, 45)) + [2, 7, 8, 2]}, {"input_ids": [0, 9, 10, 11, 2]}]
    plain = mlm_collate(tok, 0.15, 3)(batch)
    assert "position_ids" not in plain  # the default run is the model's own positions, as before
    a = mlm_collate(tok, 0.5, 3, position_reset=True, position_offset=4, mask_replace_prob=0.5, random_replace_prob=0.1)(batch)
    b = mlm_collate(tok, 0.5, 3, position_reset=True, position_offset=4, mask_replace_prob=0.5, random_replace_prob=0.1)(batch)
    assert torch.equal(a["input_ids"], b["input_ids"])
    assert torch.equal(a["position_ids"], b["position_ids"])
    pos = a["position_ids"]
    assert pos[1, -1] == 1
    assert pos[1, 0] >= 2
    assert pos[1, 0] <= 6  # padding at pad's position; start offset in 0..4
    row = pos[0]
    assert row[41] == row[0]  # the inner </s> restarts at the first position (plus the row's offset)
    # selected tokens that kept their id are still predicted (BERT's 'keep' share)
    sel = a["labels"] != -100
    kept = sel & (a["input_ids"] == a["labels"])
    assert kept.any()
    assert (sel & (a["input_ids"] == tok.mask_token_id)).any()
