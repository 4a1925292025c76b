"""Zero-shot evaluation: one target model scored on every language's test file, one score file per language."""

from __future__ import annotations

from transformers import AutoTokenizer

from xstilts.io import atomic_write_json
from xstilts.tasks import get_task_type, main_metric, read_frame, task_labels


def evaluate_languages(model_dir: str, spec: dict, test_paths: dict[str, str], out_paths: dict[str, str], batch_size: int,
                       device, meta: dict) -> dict[str, dict]:
    """Load the target model once and score every language's test file; one JSON per language."""
    tt = get_task_type(spec["type"])
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = tt.auto_model.from_pretrained(model_dir).to(device)
    if tt.head_width is None:  # the task's fixed label set; a model saved with its own label map as the fallback
        labels = task_labels(spec) or [model.config.id2label[i] for i in range(model.config.num_labels)]
        spec = {**spec, "labels": labels}
    metric = main_metric(spec)
    results = {}
    for lang, path in test_paths.items():
        df = read_frame(path)
        # the language selects per-language answer normalisation (MLQA)
        m = tt.predict(model, df, tokenizer, {**spec, "language": lang}, batch_size, device)
        m.update(meta, language=lang, metric=metric, score=m[metric])
        atomic_write_json(m, out_paths[lang])
        results[lang] = m
    return results
