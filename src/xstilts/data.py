"""Real data and weights from the Hugging Face hub.

The canonical on-disk schema (written by the synthetic world today and by these downloads later):

* ``intermediate/<task>/{train,validation}.parquet`` and ``target/<t>/{train,validation}.parquet`` in the task
  type's columns (pair_classification: sentence1, sentence2, label; multiple_choice: context, endings, label;
  span_qa: id, context, question, answer_text, answer_start; tagging: tokens, tags);
* ``target/<t>/test/<lang>.parquet``; ``tatoeba/<lang>.parquet`` (google/xtreme columns: source_sentence,
  target_sentence, source_lang, target_lang); ``bucc/<lang>.<split>.parquet`` (id, text, side) with
  ``.gold.parquet`` (src_id, en_id); ``parallel.parquet`` (one column per language); ``wals/*.csv`` (CLDF).

Downloading is not implemented yet: the rules validate the pin and then stop with a clear error, never fake data.
"""

from __future__ import annotations

from xstilts.config import require_pinned


class NotImplementedYet(NotImplementedError):
    pass


def download(rule: str, hub: dict, key: str, outputs: dict) -> None:
    if not hub.get("id"):
        raise NotImplementedYet(f"rule {rule}: config key '{key}.id' is empty: no hub source configured")
    require_pinned(hub.get("revision", ""), f"{key}.revision")
    raise NotImplementedYet(
        f"rule {rule}: downloading {hub['id']}@{hub['revision']} is not implemented yet (real downloads are a later issue); "
        f"it would write {sorted(outputs.values())}. Use config/demo.yaml for an offline run."
    )
