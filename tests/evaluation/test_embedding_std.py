import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.evaluation.embedding_std import embedding_std


def reference_embedding_std(embeddings):
    """Mean over dimensions of the population std of row-normalised embeddings, in float64."""
    normalised = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    stds = []
    for column in normalised.T:
        mean = sum(column) / len(column)
        stds.append(np.sqrt(sum((value - mean) ** 2 for value in column) / len(column)))
    return np.mean(stds)


def test_matches_reference_on_random_embeddings(rng):
    embeddings = rng.normal(size=(50, 7)) * rng.uniform(0.1, 10, size=(50, 1))
    got = embedding_std(embeddings.astype(np.float32))
    assert got.dtype == tf.float32 and got.shape == ()
    assert float(got) == pytest.approx(reference_embedding_std(embeddings), rel=1e-5)


def test_collapsed_embeddings_give_zero(rng):
    direction = rng.normal(size=(1, 64))
    # One direction at different lengths, plus float32-level noise: still collapsed.
    collapsed = direction * rng.uniform(0.5, 3, size=(256, 1)) + rng.normal(scale=1e-6, size=(256, 64))
    assert float(embedding_std(collapsed.astype(np.float32))) < 1e-4


@pytest.mark.parametrize("dim", [16, 128])
def test_spread_embeddings_give_one_over_sqrt_dim(rng, dim):
    spread = rng.normal(size=(4096, dim)).astype(np.float32)
    assert float(embedding_std(spread)) == pytest.approx(1 / np.sqrt(dim), rel=0.03)


def test_runs_in_a_compiled_function_with_unknown_batch_and_half_precision(rng):
    compiled = tf.function(embedding_std, input_signature=[tf.TensorSpec((None, 32), tf.float16)], jit_compile=True)
    spread = rng.normal(size=(2048, 32)).astype(np.float16)
    got = compiled(spread)
    assert got.dtype == tf.float32
    assert float(got) == pytest.approx(1 / np.sqrt(32), rel=0.05)


def test_wrong_rank_is_refused():
    with pytest.raises(ValueError, match=r"\(batch, dim\) embeddings, got shape \(4, 2, 3\)"):
        embedding_std(np.ones((4, 2, 3), np.float32))
