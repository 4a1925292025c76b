"""The resumable training harness (xstilts.training) and Trainer's loss scaling under gradient accumulation."""
import pytest
import torch
from transformers import TrainingArguments, XLMRobertaConfig, XLMRobertaForSequenceClassification

from xstilts.training import PlanTrainer


def tiny_classifier():
    torch.manual_seed(0)
    cfg = XLMRobertaConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=32, num_labels=3, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return XLMRobertaForSequenceClassification(cfg)


@pytest.mark.parametrize("accum", [1, 4])
def test_a_training_step_divides_the_mean_loss_by_the_accumulation_steps(tmp_path, accum):
    """The heads return the micro-batch's mean loss; one optimizer step over ``accum`` micro-batches must average
    them, so each micro-batch contributes loss / accum (Trainer skips this for models whose forward takes **kwargs
    unless told the loss is not scaled)."""
    model = tiny_classifier()
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none",
                             gradient_accumulation_steps=accum, per_device_train_batch_size=1)
    trainer = PlanTrainer(model=model, args=args)
    trainer.current_gradient_accumulation_steps = accum  # set by Trainer's loop for each optimizer step
    batch = {"input_ids": torch.tensor([[0, 5, 6, 2], [0, 7, 8, 2]]), "attention_mask": torch.ones(2, 4, dtype=torch.long),
             "labels": torch.tensor([1, 2])}
    expected = model(**batch).loss.item() / accum
    got = trainer.training_step(model, dict(batch), num_items_in_batch=torch.tensor(2))
    assert got.item() == pytest.approx(expected, rel=1e-6)
