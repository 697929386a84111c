import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import (
    InBatchSoftmaxLoss,
    in_batch_softmax,
    in_batch_softmax_and_accuracy,
    in_batch_softmax_logits,
    in_batch_softmax_per_query,
    info_nce,
)
from tests.losses.helpers import check_weighted_reductions, stacked, weights_that_show


def reference(queries, candidates, temperature, log_q=None, ids=None):
    """The loss in float64 with its gradients, written from the definition.

    Logits `l_ij = q_i . c_j / (|q_i| |c_j| T) - log_q_j`; candidate j leaves
    row i when `ids[j] == ids[i]` and `j != i`; the loss is the mean over i of
    `logsumexp_j l_ij - l_ii`. Returns the per-query losses, the argmax of each
    row, and the gradients of the mean with respect to the queries, the
    candidates and `log_q`.
    """
    q, c = np.asarray(queries, np.float64), np.asarray(candidates, np.float64)
    n = len(q)
    q_norm, c_norm = np.linalg.norm(q, axis=1, keepdims=True), np.linalg.norm(c, axis=1, keepdims=True)
    q_hat, c_hat = q / q_norm, c / c_norm
    logits = q_hat @ c_hat.T / temperature
    if log_q is not None:
        logits = logits - np.asarray(log_q, np.float64)[None, :]
    kept = np.ones((n, n), bool)
    if ids is not None:
        ids = np.asarray(ids)
        kept = ~((ids[:, None] == ids[None, :]) & ~np.eye(n, dtype=bool))
    masked = np.where(kept, logits, -np.inf)
    top = masked.max(axis=1, keepdims=True)
    log_softmax = masked - top - np.log(np.exp(masked - top).sum(axis=1, keepdims=True))
    losses = -np.diag(log_softmax)
    # d mean / d logits = (softmax - onehot) / n, zero where masked.
    d_logits = (np.where(kept, np.exp(log_softmax), 0.0) - np.eye(n)) / n
    d_q_hat, d_c_hat = d_logits @ c_hat / temperature, d_logits.T @ q_hat / temperature

    def through_norm(d_hat, x_hat, norm):  # d x = (I - x_hat x_hat^T) d x_hat / |x|
        return (d_hat - np.sum(d_hat * x_hat, axis=1, keepdims=True) * x_hat) / norm

    return {
        "losses": losses,
        "argmax": np.argmax(masked, axis=1),
        "gradient_queries": through_norm(d_q_hat, q_hat, q_norm),
        "gradient_candidates": through_norm(d_c_hat, c_hat, c_norm),
        "gradient_log_q": -d_logits.sum(axis=0),
    }


def f32(x):
    return None if x is None else tf.constant(x, tf.float32)


def inputs(rng, n, d):
    """Queries, their candidates (correlated, so the loss is informative), log-probabilities and ids with repeats."""
    queries = rng.normal(size=(n, d))
    candidates = 0.5 * queries + rng.normal(size=(n, d))
    probabilities = rng.dirichlet(np.ones(n) * 0.5) + 1e-3
    ids = rng.permutation(np.arange(n) % max(2, (n + 1) // 2))  # about every id twice (two distinct ids of two)
    assert n == 2 or len(set(ids.tolist())) < n  # some candidate repeats, so some hits are removed
    return queries, candidates, np.log(probabilities), ids


def test_reference_gradients_match_finite_differences_of_the_reference(rng):
    queries, candidates, log_q, ids = inputs(rng, 6, 4)
    expected = reference(queries, candidates, 0.3, log_q, ids)
    eps = 1e-6
    for name, array in (("queries", queries), ("candidates", candidates), ("log_q", log_q)):
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            values = []
            for sign in (1, -1):
                moved = {"queries": queries, "candidates": candidates, "log_q": log_q}
                moved[name] = array.copy()
                moved[name][index] += sign * eps
                moved_losses = reference(moved["queries"], moved["candidates"], 0.3, moved["log_q"], ids)["losses"]
                values.append(moved_losses.mean())
            numeric[index] = (values[0] - values[1]) / (2 * eps)
        np.testing.assert_allclose(expected[f"gradient_{name}"], numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("correction", [False, True])
@pytest.mark.parametrize("hits", [False, True])
@pytest.mark.parametrize("n, d, temperature", [(2, 3, 0.5), (9, 16, 0.05), (24, 8, 0.2)])
def test_value_accuracy_and_gradients_match_a_float64_reference(rng, correction, hits, n, d, temperature):
    queries, candidates, log_q, ids = inputs(rng, n, d)
    log_q, ids = (log_q if correction else None), (ids if hits else None)
    expected = reference(queries, candidates, temperature, log_q, ids)
    assert expected["losses"].mean() > 1e-2
    given_log_q = np.zeros(n) if log_q is None else log_q
    variables = [tf.Variable(x, dtype=tf.float32) for x in (queries, candidates, given_log_q)]
    with tf.GradientTape() as tape:
        loss = in_batch_softmax(variables[0], variables[1], temperature,
                                variables[2] if correction else None, ids)
    assert loss.dtype == tf.float32
    np.testing.assert_allclose(float(loss), expected["losses"].mean(), rtol=1e-5)
    gradients = tape.gradient(loss, variables)
    for name, gradient in zip(("queries", "candidates", "log_q"), gradients):
        if name == "log_q" and not correction:
            assert gradient is None
            continue
        np.testing.assert_allclose(gradient.numpy(), expected[f"gradient_{name}"], rtol=1e-3, atol=1e-6, err_msg=name)
    per_query = in_batch_softmax_per_query(f32(queries), f32(candidates), temperature, f32(log_q), ids)
    np.testing.assert_allclose(per_query.numpy(), expected["losses"], rtol=1e-4, atol=1e-6)
    loss, accuracy = in_batch_softmax_and_accuracy(f32(queries), f32(candidates), temperature, f32(log_q), ids)
    np.testing.assert_allclose(float(loss), expected["losses"].mean(), rtol=1e-5)
    assert float(accuracy) == pytest.approx(np.mean(expected["argmax"] == np.arange(n)))


def test_the_correction_and_the_hits_each_change_the_loss_and_without_them_it_is_info_nce(rng):
    queries, candidates, log_q, ids = inputs(rng, 12, 8)
    queries, candidates, log_q = f32(queries), f32(candidates), f32(log_q)
    plain = float(in_batch_softmax(queries, candidates, 0.1))
    np.testing.assert_allclose(plain, float(info_nce(queries, candidates, None, 0.1)), rtol=1e-6)
    # Per query: the mean over queries of the correction's effect can cancel out (seed 52 moved it by 5e-4).
    corrected = in_batch_softmax_per_query(queries, candidates, 0.1, log_q, None).numpy()
    assert np.abs(corrected - in_batch_softmax_per_query(queries, candidates, 0.1, None, None).numpy()).max() > 1e-2
    assert float(in_batch_softmax(queries, candidates, 0.1, candidate_ids=ids)) < plain  # fewer negatives
    # Only differences of log q matter: counts per step are as good as probabilities per example.
    np.testing.assert_allclose(float(in_batch_softmax(queries, candidates, 0.1, log_q + 3.0)),
                               float(in_batch_softmax(queries, candidates, 0.1, log_q)), rtol=1e-5)


def test_string_ids_mask_as_the_integers_they_name_and_a_hit_never_wins(rng):
    queries, candidates, _, _ = inputs(rng, 6, 5)
    numbers = np.array([4, 1, 4, 2, 1, 4])
    names = tf.constant(["item-4", "item-1", "item-4", "item-2", "item-1", "item-4"])
    by_number = in_batch_softmax_per_query(f32(queries), f32(candidates), 0.2, None, numbers)
    by_name = in_batch_softmax_per_query(f32(queries), f32(candidates), 0.2, None, names)
    np.testing.assert_allclose(by_name.numpy(), by_number.numpy(), rtol=1e-6)
    # Identical candidates at the positive's id: without the mask they tie with it, with it they are gone.
    duplicated = np.concatenate([queries[:3], queries[:3]])
    logits, positives = in_batch_softmax_logits(f32(duplicated), f32(duplicated), 0.05,
                                                candidate_ids=np.array([0, 1, 2, 0, 1, 2]))
    assert np.all(np.argmax(logits.numpy(), axis=1) == positives.numpy())
    _, accuracy = in_batch_softmax_and_accuracy(f32(duplicated), f32(duplicated), 0.05,
                                                candidate_ids=np.array([0, 1, 2, 0, 1, 2]))
    assert float(accuracy) == 1.0
    masked = in_batch_softmax(f32(duplicated), f32(duplicated), 0.5, candidate_ids=np.array([0, 1, 2, 0, 1, 2]))
    expected = reference(duplicated, duplicated, 0.5, None, np.array([0, 1, 2, 0, 1, 2]))["losses"].mean()
    np.testing.assert_allclose(float(masked), expected, rtol=1e-5)
    unmasked = reference(duplicated, duplicated, 0.5)["losses"].mean()
    assert unmasked > expected + 0.1  # each row's duplicate, as similar as its positive, is a negative there
    np.testing.assert_allclose(float(in_batch_softmax(f32(duplicated), f32(duplicated), 0.5)), unmasked, rtol=1e-5)


def test_block_size_gives_the_corrected_loss_and_refuses_ids(rng):
    queries, candidates, log_q, ids = inputs(rng, 10, 6)
    expected = reference(queries, candidates, 0.1, log_q)
    variables = [tf.Variable(x, dtype=tf.float32) for x in (queries, candidates)]
    with tf.GradientTape() as tape:
        loss, accuracy = in_batch_softmax_and_accuracy(*variables, 0.1, f32(log_q), block_size=3)
    np.testing.assert_allclose(float(loss), expected["losses"].mean(), rtol=1e-5)
    assert float(accuracy) == pytest.approx(np.mean(expected["argmax"] == np.arange(10)))
    for gradient, name in zip(tape.gradient(loss, variables), ("queries", "candidates")):
        np.testing.assert_allclose(gradient.numpy(), expected[f"gradient_{name}"], rtol=1e-3, atol=1e-6)
    with pytest.raises(ValueError, match="cannot remove accidental hits"):
        in_batch_softmax(f32(queries), f32(candidates), 0.1, None, ids, block_size=3)


def test_a_dynamic_batch_is_checked_in_the_graph(rng):
    queries, candidates, log_q, ids = inputs(rng, 8, 4)
    spec = tf.TensorSpec((None, 4), tf.float32)
    loss = tf.function(lambda q, c, l, i: in_batch_softmax(q, c, 0.1, l, i), autograph=False, input_signature=[
        spec, spec, tf.TensorSpec((None,), tf.float32), tf.TensorSpec((None,), tf.int64)])
    np.testing.assert_allclose(float(loss(f32(queries), f32(candidates), f32(log_q), ids)),
                               reference(queries, candidates, 0.1, log_q, ids)["losses"].mean(), rtol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="one value per candidate"):
        loss(f32(queries), f32(candidates), f32(log_q[:5]), ids)


def test_bad_inputs_are_refused_by_name():
    z = tf.ones((4, 3))
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        in_batch_softmax(z, z, 0.0)
    with pytest.raises(ValueError, match="same shape"):
        in_batch_softmax(z, tf.ones((5, 3)))
    with pytest.raises(ValueError, match="candidate_log_probabilities must hold one value per candidate: got 3"):
        in_batch_softmax(z, z, 0.1, tf.zeros(3))
    with pytest.raises(ValueError, match=r"candidate_log_probabilities must be a \(batch,\) tensor"):
        in_batch_softmax(z, z, 0.1, tf.zeros((4, 1)))
    with pytest.raises(ValueError, match="candidate_log_probabilities must be a float"):
        in_batch_softmax(z, z, 0.1, tf.zeros(4, tf.int32))
    with pytest.raises(ValueError, match="candidate_ids must hold one value per candidate: got 2"):
        in_batch_softmax(z, z, 0.1, candidate_ids=tf.constant([1, 2]))
    with pytest.raises(ValueError, match="candidate_ids must be a .* of integer or string ids, got dtype float32"):
        in_batch_softmax(z, z, 0.1, candidate_ids=tf.zeros(4))
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        in_batch_softmax(z, z, 0.1, block_size=0)


def test_loss_class_masks_with_y_true_ids_and_honours_sample_weights(rng):
    queries, candidates, _, ids = inputs(rng, 12, 6)
    expected = reference(queries, candidates, 0.2, None, ids)["losses"]
    loss = InBatchSoftmaxLoss(temperature=0.2, remove_accidental_hits=True)
    np.testing.assert_allclose(float(loss(tf.constant(ids), stacked(queries, candidates))), expected.mean(), rtol=1e-5)
    with pytest.raises(ValueError, match="needs y_true"):
        loss(None, stacked(queries, candidates))
    check_weighted_reductions(InBatchSoftmaxLoss, {"temperature": 0.2, "remove_accidental_hits": True},
                              tf.constant(ids), stacked(queries, candidates), expected,
                              weights_that_show(rng, expected))
    plain = reference(queries, candidates, 0.2)["losses"]
    np.testing.assert_allclose(float(InBatchSoftmaxLoss(0.2)(tf.constant(ids), stacked(queries, candidates))),
                               plain.mean(), rtol=1e-5)  # y_true ignored


def test_loss_class_round_trips_through_config_and_refuses_block_size_with_hits(rng):
    loss = InBatchSoftmaxLoss(temperature=0.1, remove_accidental_hits=True, reduction="sum", name="retrieval")
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, InBatchSoftmaxLoss) and again.get_config() == loss.get_config()
    assert (again.temperature, again.remove_accidental_hits, again.reduction) == (0.1, True, "sum")
    queries, candidates, _, ids = inputs(rng, 6, 4)
    np.testing.assert_allclose(float(again(tf.constant(ids), stacked(queries, candidates))),
                               reference(queries, candidates, 0.1, None, ids)["losses"].sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="block_size cannot remove accidental hits"):
        InBatchSoftmaxLoss(remove_accidental_hits=True, block_size=4)
    with pytest.raises(ValueError, match="remove_accidental_hits must be True or False"):
        InBatchSoftmaxLoss(remove_accidental_hits=1)
