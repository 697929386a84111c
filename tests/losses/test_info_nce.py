import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import InfoNCE, info_nce, info_nce_and_accuracy, info_nce_logits
from tests.losses.helpers import check_weighted_reductions, stacked, weights_that_show


def unit_rows(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def reference_logits(queries, keys, negatives, temperature):
    """Row i: q_i . k_j / T for every key j, then q_i . n_m / T for every negative m."""
    q, k = unit_rows(queries), unit_rows(keys)
    n = unit_rows(negatives) if negatives is not None else np.zeros((0, q.shape[1]))
    rows = []
    for i in range(len(q)):
        rows.append([q[i] @ k[j] / temperature for j in range(len(k))]
                    + [q[i] @ n[m] / temperature for m in range(len(n))])
    return np.array(rows)


def reference_info_nce_per_query(queries, keys, negatives, temperature):
    losses = []
    for i, row in enumerate(reference_logits(queries, keys, negatives, temperature)):
        top = row.max()
        losses.append(top + np.log(np.exp(row - top).sum()) - row[i])
    return np.array(losses)


def reference_info_nce(queries, keys, negatives, temperature):
    return np.mean(reference_info_nce_per_query(queries, keys, negatives, temperature))


def reference_accuracy(queries, keys, negatives, temperature):
    logits = reference_logits(queries, keys, negatives, temperature)
    return np.mean([np.argmax(row) == i for i, row in enumerate(logits)])


@pytest.mark.parametrize(
    "n, d, k, temperature",
    [(2, 3, 0, 0.5), (7, 16, 5, 0.1), (32, 128, 0, 0.07), (16, 8, 256, 1.0), (16, 64, 64, 0.02)],
)
def test_matches_float64_reference_on_fresh_random_inputs(rng, n, d, k, temperature):
    queries = rng.normal(size=(n, d))
    keys = queries * temperature * rng.uniform(0.5, 3.0) + rng.normal(size=(n, d))
    negatives = rng.normal(size=(k, d)) if k else None
    expected = reference_info_nce(queries, keys, negatives, temperature)
    assert expected > 1e-2
    as_f32 = lambda x: None if x is None else tf.constant(x, tf.float32)  # noqa: E731
    got = info_nce(as_f32(queries), as_f32(keys), as_f32(negatives), temperature)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    loss, accuracy = info_nce_and_accuracy(as_f32(queries), as_f32(keys), as_f32(negatives), temperature)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    assert float(accuracy) == pytest.approx(reference_accuracy(queries, keys, negatives, temperature))


def test_accuracy_is_one_for_identical_views_and_drops_when_keys_are_shuffled(rng):
    queries = rng.normal(size=(12, 32)).astype(np.float32)
    _, accuracy = info_nce_and_accuracy(queries, queries, rng.normal(size=(20, 32)), 0.1)
    assert float(accuracy) == 1.0
    _, shuffled = info_nce_and_accuracy(queries, np.roll(queries, 1, axis=0), None, 0.1)
    assert float(shuffled) == 0.0


def test_half_precision_and_mixed_dtypes_are_computed_in_float32(rng):
    queries, keys = rng.normal(size=(2, 10, 16))
    negatives = rng.normal(size=(30, 16))
    expected = reference_info_nce(queries, keys, negatives, 0.2)
    got = info_nce(tf.constant(queries, tf.float16), tf.constant(keys, tf.float16),
                   tf.constant(negatives, tf.float64), 0.2)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=2e-3)  # inputs rounded to fp16


@pytest.mark.parametrize("with_queue", [False, True])
def test_gradient_is_finite_at_low_temperature_and_on_nearly_collapsed_inputs(rng, with_queue):
    centre = rng.normal(size=(1, 32))
    collapsed = centre + 1e-6 * rng.normal(size=(16, 32))
    for queries in (rng.normal(size=(16, 32)), collapsed):
        variable = tf.Variable(queries, dtype=tf.float32)
        negatives = tf.constant(centre + 1e-6 * rng.normal(size=(64, 32)), tf.float32) if with_queue else None
        with tf.GradientTape() as tape:
            loss = info_nce(variable, tf.constant(collapsed, tf.float32), negatives, temperature=0.01)
        gradient = tape.gradient(loss, variable).numpy()
        assert np.isfinite(float(loss))
        assert np.all(np.isfinite(gradient))


def test_default_temperature_is_moco_v2s_0_2(rng):
    queries, keys = rng.normal(size=(2, 12, 8))
    expected = reference_info_nce(queries, keys, None, 0.2)
    assert abs(expected - reference_info_nce(queries, keys, None, 0.1)) > 1e-2  # the temperature shows
    as_f32 = lambda x: tf.constant(x, tf.float32)  # noqa: E731
    np.testing.assert_allclose(float(info_nce(as_f32(queries), as_f32(keys))), expected, rtol=1e-5)
    np.testing.assert_allclose(float(info_nce_and_accuracy(as_f32(queries), as_f32(keys))[0]), expected, rtol=1e-5)
    assert InfoNCE().temperature == 0.2
    np.testing.assert_allclose(float(InfoNCE()(None, stacked(queries, keys))), expected, rtol=1e-5)


def test_loss_class_takes_queries_then_keys_and_matches_the_reference_per_query(rng):
    n = 10
    queries, keys = rng.normal(size=(2, n, 6))
    y_pred = stacked(queries, keys)
    per_query = reference_info_nce_per_query(queries, keys, None, 0.3)
    # The loss is not symmetric: swapping the views changes the queries' losses.
    assert np.abs(per_query - reference_info_nce_per_query(keys, queries, None, 0.3)).max() > 1e-2
    loss = InfoNCE(temperature=0.3)
    np.testing.assert_allclose(float(loss(None, y_pred)), per_query.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(loss(rng.integers(0, 3, n), y_pred)), per_query.mean(), rtol=1e-5)
    unreduced = InfoNCE(temperature=0.3, reduction="none")(None, y_pred)
    assert unreduced.shape == (n,)
    np.testing.assert_allclose(unreduced.numpy(), per_query, rtol=1e-5)


def test_loss_class_weights_each_query_by_its_sample_weight(rng):
    queries, keys = rng.normal(size=(2, 12, 8))
    per_query = reference_info_nce_per_query(queries, keys, None, 0.3)
    weights = weights_that_show(rng, per_query)
    check_weighted_reductions(InfoNCE, {"temperature": 0.3}, None, stacked(queries, keys), per_query, weights)


def test_loss_class_round_trips_through_config(rng):
    queries, keys = rng.normal(size=(2, 10, 6))
    loss = InfoNCE(temperature=0.3, reduction="sum", name="moco")
    assert loss.get_config()["temperature"] == 0.3
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, InfoNCE)
    assert (again.temperature, again.reduction, again.name) == (0.3, "sum", "moco")
    expected = reference_info_nce_per_query(queries, keys, None, 0.3).sum()
    np.testing.assert_allclose(float(again(None, stacked(queries, keys))), expected, rtol=1e-5)


def test_loss_class_refuses_views_not_stacked_on_axis_1():
    for shape in ((4, 8), (4, 3, 8)):
        with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
            InfoNCE()(None, tf.ones(shape))


@pytest.mark.parametrize("temperature", [0.0, -0.1, float("inf"), float("nan"), None, "a", True])
def test_temperature_that_is_not_a_positive_finite_number_is_refused(temperature):
    z = tf.ones((4, 3))
    message = "temperature must be a positive number, got " + re.escape(repr(temperature))
    with pytest.raises(ValueError, match=message):
        info_nce(z, z, temperature=temperature)
    with pytest.raises(ValueError, match=message):
        info_nce_logits(z, z, temperature=temperature)
    with pytest.raises(ValueError, match=message):
        InfoNCE(temperature)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        info_nce(tf.ones((4, 3)), tf.ones((5, 3)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        info_nce(tf.ones((4, 3, 2)), tf.ones((4, 3, 2)))
    with pytest.raises(ValueError, match="at least 2 images"):
        info_nce(tf.ones((1, 3)), tf.ones((1, 3)))
    with pytest.raises(ValueError, match=r"negatives must be a \(K, dim\) batch with the queries' dim 3"):
        info_nce(tf.ones((4, 3)), tf.ones((4, 3)), tf.ones((10, 4)))
    with pytest.raises(ValueError, match="negatives must be"):
        info_nce(tf.ones((4, 3)), tf.ones((4, 3)), tf.ones((10,)))
