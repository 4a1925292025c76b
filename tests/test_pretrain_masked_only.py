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
