import numpy as np
import pytest

from xstilts import alignment as A


def test_cka_invariances():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 16))
    q, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    assert A.linear_cka(x, x @ q * 3.0 + 5.0) == pytest.approx(1.0, abs=1e-9)  # rotation, scale, shift
    assert A.linear_cka(x, rng.standard_normal((200, 16))) < 0.2


def test_cosine_gap_by_hand():
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert A.cosine_gap(x, y) == pytest.approx(1.0)  # diag cos 1, off-diagonal cos 0


def test_centering_recovers_alignment_under_language_offsets():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((100, 32))
    x = z + 0.3 * rng.standard_normal((100, 32)) + 6.0 * rng.standard_normal(32)  # strong language-specific offset
    y = z + 0.3 * rng.standard_normal((100, 32)) + 6.0 * rng.standard_normal(32)
    m = A.measures_for_layer(x, y, use_gpu=False)
    assert m["retrieval_centered"] > m["retrieval"]
    assert m["retrieval_centered"] > 0.9


def test_alignment_table_is_tidy():
    rng = np.random.default_rng(2)
    src, en = rng.standard_normal((3, 20, 8)), rng.standard_normal((3, 20, 8))
    df = A.alignment_table(src, en, [0, 2, 4], "xx", "base", use_gpu=False)
    assert len(df) == 3 * len(A.MEASURES)
    assert set(df.columns) == {"language", "condition", "layer", "measure", "value"}
    assert sorted(df["layer"].unique()) == [0, 2, 4]
