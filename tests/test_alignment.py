import numpy as np
import pytest

from xstilts import alignment as A
from xstilts import retrieval as R


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
    assert m["retrieval_centered_en2xx"] > m["retrieval_en2xx"]
    assert m["retrieval_centered_mean"] > 0.9


def test_alignment_table_is_tidy_and_reads_the_searches_from_the_hits():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((3, 20, 8))
    src, en = z + 0.8 * rng.standard_normal((3, 20, 8)), z + 0.8 * rng.standard_normal((3, 20, 8))
    hits, _ = R.hits_table({"src": src, "en": en}, [0, 2, 4], "xx", "base", "emb/xx.npz", use_gpu=False)
    df = A.alignment_table(src, en, [0, 2, 4], "xx", "base", hits, corpus="tatoeba")
    assert len(df) == 3 * len(A.MEASURES)
    assert set(df.columns) == {"corpus", "language", "condition", "layer", "measure", "value"}
    assert sorted(df["layer"].unique()) == [0, 2, 4]
    # the same numbers as searching the embeddings again (what the retrieval job does once)
    for li, layer in enumerate([0, 2, 4]):
        again = A.measures_for_layer(src[li], en[li], use_gpu=False)
        got = df[df["layer"] == layer].set_index("measure")["value"]
        for measure, value in again.items():
            assert got[measure] == pytest.approx(value), (layer, measure)


def test_alignment_table_refuses_hits_of_other_sentences():
    rng = np.random.default_rng(5)
    src, en = rng.standard_normal((1, 20, 8)), rng.standard_normal((1, 20, 8))
    hits, _ = R.hits_table({"src": src[:, :15], "en": en[:, :15]}, [0], "xa", "nli", "emb/xa.npz", use_gpu=False)
    with pytest.raises(ValueError, match="the hits table has 15 sentences at this layer, the embeddings 20"):
        A.alignment_table(src, en, [0], "xa", "nli", hits, source="emb/xa.npz", corpus="flores")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_rows_are_an_error_not_a_zero(value):
    rng = np.random.default_rng(3)
    src, en = rng.standard_normal((2, 20, 8)), rng.standard_normal((2, 20, 8))
    src[1, 5, 2] = value
    with pytest.raises(R.RetrievalInputError, match=r"emb/xa\.npz \(language xa, condition nli, layer 4\).*NaN or inf"):
        R.hits_table({"src": src, "en": en}, [0, 4], "xa", "nli", "emb/xa.npz", use_gpu=False)
    with pytest.raises(R.RetrievalInputError, match="CKA-input"):
        A.measures_for_layer(src[1], en[1], use_gpu=False, name="CKA-input")


def test_sides_of_different_length_are_an_error():
    rng = np.random.default_rng(4)
    with pytest.raises(R.RetrievalInputError, match=r"xb\.npz: the sides differ in length \(20 non-English vs 19 English"):
        A.measures_for_layer(rng.standard_normal((20, 8)), rng.standard_normal((19, 8)), use_gpu=False, name="xb.npz")
