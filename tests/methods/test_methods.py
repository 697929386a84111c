"""Every method plugs into ContrastiveModel, trains in the compiled step, saves and resumes."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.methods import METHODS

BATCH = 8
SMALL = {  # widths that keep these tests fast; each method's defaults are tested by construction
    "barlow_twins": dict(projection_dim=32),
    "byol": dict(projection_dim=16, total_steps=10, predictor_learning_rate_multiplier=10.0),
    "in_batch_softmax": dict(frequency_buckets=64),
    "moco": dict(projection_dim=16, queue_size=32),
    "nnclr": dict(projection_dim=16, support_set_size=32),
    "simsiam": dict(projection_dim=32, predictor_learning_rate_multiplier=10.0),
    "vicreg": dict(projection_dim=32),
}


def make_model(name):
    keras.utils.set_random_seed(1)
    encoder = kc.encoders.small_cnn((12, 12, 1), widths=(4, 8))
    model = kc.ContrastiveModel(encoder, METHODS[name](**SMALL.get(name, {})))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def batch(rng):
    images = rng.uniform(0, 255, size=(BATCH, 12, 12, 1)).astype("float32")
    other = np.clip(images + rng.normal(0, 20, size=images.shape), 0, 255).astype("float32")
    labels = rng.integers(0, 3, size=BATCH)
    return images, other, labels


#: Methods whose batches' third part is item ids (InBatchSoftmax's accidental hits and frequencies); on these
#: images, the class labels stand in for them.
ID_METHODS = {"in_batch_softmax"}


def fit_once(model, data):
    """One step on `data`; labels go along for the methods that take them (SimCSE's third part is hard negatives)."""
    view_a, view_b, labels = data
    takes_third = model.method.requires_labels or type(model.method) in {METHODS[name] for name in ID_METHODS}
    dataset = tf.data.Dataset.from_tensors((view_a, view_b, labels) if takes_third else (view_a, view_b))
    return model.fit(dataset, epochs=1, verbose=0).history


@pytest.mark.parametrize("name", sorted(METHODS))
def test_config_round_trip(name):
    method = METHODS[name](**SMALL.get(name, {}))
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(method))
    assert type(again) is type(method) and again.get_config() == method.get_config()


@pytest.mark.parametrize("name", sorted(METHODS))
def test_each_method_trains_saves_and_resumes_with_the_same_state(name, tmp_path, rng):
    """Momentum networks, queues and step counts are weights: save, load, train on alike."""
    model = make_model(name)
    history = fit_once(model, batch(rng))
    assert set(history) == {"loss", *model.method.metric_names}
    assert all(np.isfinite(values[-1]) for values in history.values())
    if name in ("byol", "simsiam", "barlow_twins", "vicreg"):
        assert "embedding_std" in history  # collapse shows in the logs
    model.save(tmp_path / "m.keras")
    loaded = kc.load_model(tmp_path / "m.keras")
    assert [v.shape for v in loaded.method.weights] == [v.shape for v in model.method.weights]
    for before, after in zip(model.method.weights, loaded.method.weights):
        np.testing.assert_array_equal(before.numpy(), after.numpy())
    data = batch(rng)
    fit_once(model, data)
    fit_once(loaded, data)
    assert int(loaded.optimizer.iterations.numpy()) == 2
    for before, after in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(after.numpy(), before.numpy(), rtol=1e-4, atol=1e-5, err_msg=before.path)


@pytest.mark.parametrize("name", ["moco", "byol"])
def test_the_target_network_moves_by_momentum_inside_the_compiled_step(name, rng):
    model = make_model(name)
    method = model.method
    online = model.encoder.weights + method.projectors[0].weights
    target = method.target_encoders[0].weights + method.target_projectors[0].weights
    for t, o in zip(target, online):
        np.testing.assert_array_equal(t.numpy(), o.numpy())
    target_before = [t.numpy().astype(np.float64) for t in target]
    momentum = float(method.current_momentum())
    fit_once(model, batch(rng))
    assert int(method.steps.numpy()) == 1
    moved = 0
    for t, o, old in zip(target, online, target_before):
        if o.trainable:
            np.testing.assert_allclose(
                t.numpy(), momentum * old + (1 - momentum) * o.numpy(), rtol=1e-5, atol=1e-6
            )
            moved += not np.allclose(t.numpy(), old)
    assert moved > 0


def test_moco_enqueues_the_batch_keys_inside_the_compiled_step(rng):
    model = make_model("moco")
    method = model.method
    view_a, view_b, labels = data = batch(rng)
    keys = method.target_projectors[0](method.target_encoders[0](view_b, training=True), training=True)
    keys = tf.math.l2_normalize(keys, axis=1).numpy()
    untouched = method.queue.embeddings.numpy()[BATCH:]
    fit_once(model, data)
    np.testing.assert_allclose(method.queue.embeddings.numpy()[:BATCH], keys, atol=1e-5)
    np.testing.assert_array_equal(method.queue.embeddings.numpy()[BATCH:], untouched)
    assert int(method.queue.pointer.numpy()) == BATCH


def test_nnclr_adds_view_a_projections_to_its_support_set(rng):
    model = make_model("nnclr")
    method = model.method
    view_a, view_b, labels = data = batch(rng)
    projections, _ = method.project(model.towers, view_a, view_b, training=True)
    expected = tf.math.l2_normalize(projections, axis=1).numpy()
    fit_once(model, data)
    np.testing.assert_allclose(method.support_set.embeddings.numpy()[:BATCH], expected, atol=1e-5)


def test_nnclr_draws_neighbours_only_from_written_projections(rng):
    method = make_model("nnclr").method
    queries = rng.normal(size=(BATCH, method.projection_dim))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    # Empty support set: each projection is its own positive, never a random initial row.
    np.testing.assert_array_equal(method.nearest_neighbours(tf.constant(queries, tf.float32)), queries.astype(np.float32))
    written = rng.normal(size=(3, method.projection_dim))
    written /= np.linalg.norm(written, axis=1, keepdims=True)
    method.support_set.enqueue(tf.constant(written, tf.float32))
    expected = written[np.argmax(queries @ written.T, axis=1)]
    np.testing.assert_allclose(method.nearest_neighbours(tf.constant(queries, tf.float32)), expected, atol=1e-6)


def reference_nnclr(z_a, z_b, p_a, p_b, support, temperature):
    """NNCLR's loss in float64: InfoNCE both ways between each view's neighbours and the other view's predictions."""
    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def info_nce(queries, keys):
        logits = unit(queries) @ unit(keys).T / temperature
        top = logits.max(axis=1, keepdims=True)
        log_softmax = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        return -np.mean(np.diag(log_softmax))

    terms = []
    for z, p_other in ((z_a, p_b), (z_b, p_a)):
        neighbours = support[np.argmax(unit(z) @ support.T, axis=1)]
        terms += [info_nce(neighbours, p_other), info_nce(p_other, neighbours)]
    return np.mean(terms)


def test_nnclr_loss_matches_a_float64_reference(rng):
    model = make_model("nnclr")
    method = model.method
    support = rng.normal(size=(method.support_set_size, method.projection_dim))
    support /= np.linalg.norm(support, axis=1, keepdims=True)
    method.support_set.enqueue(tf.constant(support, tf.float32))
    view_a, view_b, _ = batch(rng)
    z_a, z_b = method.project(model.towers, view_a, view_b, training=False)
    p_a, p_b = (method.predictors[0](z, training=False).numpy().astype(np.float64) for z in (z_a, z_b))
    z_a, z_b = z_a.numpy().astype(np.float64), z_b.numpy().astype(np.float64)
    loss = method.compute_loss_and_metrics(model.towers, view_a, view_b, training=False)["loss"]
    expected = reference_nnclr(z_a, z_b, p_a, p_b, support, method.temperature)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


@pytest.mark.parametrize("name", ["moco", "nnclr", "byol"])
def test_evaluation_and_the_forward_pass_change_no_state(name, rng):
    """State changes only in after_step: a test step leaves every variable, and the training-mode
    forward pass every variable but batch norm's moving statistics (what training mode means), alone."""
    model = make_model(name)
    view_a, view_b, labels = batch(rng)

    def state(moving_statistics=True):
        return {v.path: v.numpy() for v in model.method.weights if moving_statistics or "moving_" not in v.path}

    before = state()
    model.evaluate(tf.data.Dataset.from_tensors((view_a, view_b)), verbose=0)
    for path, value in state().items():
        np.testing.assert_array_equal(value, before[path], err_msg=path)
    before = state(moving_statistics=False)
    model.method.compute_loss_and_metrics(model.towers, view_a, view_b, labels, training=True)
    for path, value in state(moving_statistics=False).items():
        np.testing.assert_array_equal(value, before[path], err_msg=path)


@pytest.mark.parametrize("name", ["supcon", "triplet", "pair_margin"])
def test_supervised_methods_without_labels_are_a_clear_error(name, rng):
    model = make_model(name)
    view_a, view_b, _ = batch(rng)
    with pytest.raises(ValueError, match="needs labelled batches"):
        model.fit(tf.data.Dataset.from_tensors((view_a, view_b)), epochs=1, verbose=0)


@pytest.mark.parametrize("name", ["triplet", "pair_margin", "supcon"])
def test_without_labels_the_views_of_an_image_are_the_positives(name, rng):
    model = kc.ContrastiveModel(
        kc.encoders.small_cnn((12, 12, 1), widths=(4,)), METHODS[name](use_labels=False)
    )
    model.compile(optimizer="adam")
    view_a, view_b, _ = batch(rng)
    history = model.fit(tf.data.Dataset.from_tensors((view_a, view_b)), epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][-1])


@pytest.mark.parametrize(
    "name, arguments, message",
    [
        ("moco", dict(queue_size=BATCH - 1), "make the queue at least as large as the batch"),
        ("nnclr", dict(support_set_size=BATCH - 1), "make the queue at least as large as the batch"),
    ],
)
def test_a_queue_smaller_than_the_batch_is_a_clear_error(name, arguments, message, rng):
    model = kc.ContrastiveModel(
        kc.encoders.small_cnn((12, 12, 1), widths=(4,)), METHODS[name](**arguments)
    )
    model.compile(optimizer="adam")
    view_a, view_b, _ = batch(rng)
    with pytest.raises(ValueError, match=message):
        model.fit(tf.data.Dataset.from_tensors((view_a, view_b)), epochs=1, verbose=0)


@pytest.mark.parametrize(
    "name, arguments, message",
    [
        ("moco", dict(momentum=1.0), r"momentum must be a number in \[0, 1\)"),
        ("byol", dict(momentum=-0.5), r"momentum must be a number in \[0, 1\)"),
        ("byol", dict(total_steps=0), "total_steps must be a positive integer"),
        ("byol", dict(predictor_learning_rate_multiplier=0), "predictor_learning_rate_multiplier must be a positive"),
        ("simsiam", dict(predictor_learning_rate_multiplier=-1.0), "predictor_learning_rate_multiplier must be a positive"),
        ("moco", dict(temperature=0.0), "temperature must be a positive"),
        ("nnclr", dict(temperature=-1.0), "temperature must be a positive"),
        ("supcon", dict(temperature=0), "temperature must be a positive"),
        ("moco", dict(queue_size=0), "queue_size must be a positive integer"),
        ("triplet", dict(margin=-0.1), "margin must be a non-negative"),
        ("triplet", dict(mining="hardest"), "mining"),
        ("pair_margin", dict(margin=-1.0), "margin must be a non-negative"),
        ("barlow_twins", dict(lambda_param=-1e-3), "lambda_param must be a non-negative"),
        ("vicreg", dict(variance_weight=-1), "variance_weight must be a non-negative"),
    ],
)
def test_bad_settings_are_refused_when_the_method_is_made(name, arguments, message):
    with pytest.raises(ValueError, match=message):
        METHODS[name](**arguments)


def test_a_method_belongs_to_one_model():
    method = kc.methods.MoCo(projection_dim=8, queue_size=32)
    first = kc.ContrastiveModel(kc.encoders.small_cnn((12, 12, 1), widths=(4,)), method)
    assert kc.ContrastiveModel(first.encoder, method).method is method  # the same encoder again: its own state
    with pytest.raises(ValueError, match="already belongs to a ContrastiveModel with other encoders"):
        kc.ContrastiveModel(kc.encoders.small_cnn((12, 12, 1), widths=(4,)), method)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(projection_dim=2.5), "projection_dim must be a positive integer, got 2.5"),
        (dict(projection_dim=True), "projection_dim must be a positive integer, got True"),
        (dict(hidden_dim=0), "hidden_dim must be a positive integer"),
        (dict(temperature=float("inf")), "temperature must be a positive number, got inf"),
        (dict(temperature=float("nan")), "temperature must be a positive number, got nan"),
        (dict(temperature=None), "temperature must be a positive number, got None"),
        (dict(temperature="a"), "temperature must be a positive number, got 'a'"),
    ],
)
def test_non_finite_and_non_numeric_settings_name_the_argument(arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        kc.methods.SimCLR(**arguments)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_building_a_method_for_a_model_leaves_its_config_as_given(name):
    method = METHODS[name](**SMALL.get(name, {}))
    config = method.get_config()
    kc.ContrastiveModel(kc.encoders.small_cnn((12, 12, 1), widths=(4, 8)), method)
    assert method.get_config() == config


def test_byols_projector_is_twice_the_embedding_wide_by_default_without_rewriting_hidden_dim():
    method = kc.methods.BYOL(projection_dim=16)
    model = kc.ContrastiveModel(kc.encoders.small_cnn((12, 12, 1), widths=(4, 8)), method)
    assert method.hidden_dim is None and method.projectors[0].hidden_dim == 2 * model.embedding_dim


def test_int64_labels_above_2_to_the_32_stay_distinct_classes(rng):
    """They used to be cut to int32 first, which made 0 and 2**32 the same class (and Triplet's loss 0)."""
    model = kc.ContrastiveModel(kc.encoders.small_cnn((12, 12, 1), widths=(4,)), kc.methods.Triplet(projection_dim=8))
    view_a, view_b, _ = batch(rng)
    distinct = np.array([0, 2**32] * (BATCH // 2), dtype=np.int64)
    same = np.zeros(BATCH, np.int64)
    results = [model.method.compute_loss_and_metrics(model.towers, view_a, view_b, tf.constant(labels))["loss"]
               for labels in (distinct, same)]
    assert float(results[0]) > 0 and float(results[1]) == 0.0
