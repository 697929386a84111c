import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from tests.serving import serve_in_fresh_process


def tiny_encoder(input_shape=(12, 12, 1)):
    return kc.encoders.small_cnn(input_shape, widths=(8, 16))


def random_views(rng, batch=8, shape=(12, 12, 1), batches=3, labels=False):
    images = rng.uniform(0, 255, size=(batch * batches, *shape)).astype("float32")
    noisy = np.clip(images + rng.normal(scale=20, size=images.shape), 0, 255).astype("float32")
    parts = (images, noisy) + ((rng.integers(0, 3, len(images)),) if labels else ())
    return tf.data.Dataset.from_tensor_slices(parts).batch(batch, drop_remainder=True)


def make_model(**method_kwargs):
    model = kc.ContrastiveModel(tiny_encoder(), kc.methods.SimCLR(projection_dim=16, **method_kwargs))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def normalised(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_call_is_the_encoders_embedding_and_predict_takes_uint8(rng):
    model = make_model()
    images = rng.integers(0, 256, size=(5, 12, 12, 1)).astype("uint8")
    embedding = model.predict(images, verbose=0)
    assert embedding.shape == (5, 16)
    np.testing.assert_allclose(embedding, model.encoder(images.astype("float32")).numpy(), atol=1e-6)
    np.testing.assert_allclose(model(images.astype("float32")).numpy(), embedding, atol=1e-6)
    np.testing.assert_allclose(model.embed_pair(images), embedding, atol=1e-6)  # a siamese model's one tower


def test_fit_reports_loss_and_contrastive_accuracy_and_lowers_the_loss(rng):
    model = make_model(temperature=0.2)
    history = model.fit(random_views(rng, batches=4).repeat(), steps_per_epoch=4, epochs=25, verbose=0)
    losses = history.history["loss"]
    assert set(history.history) == {"loss", "contrastive_accuracy"}
    assert losses[-1] < 0.7 * losses[0]
    assert history.history["contrastive_accuracy"][-1] > history.history["contrastive_accuracy"][0]


def test_evaluate_uses_test_step_without_changing_weights(rng):
    model = make_model()
    before = [w.numpy().copy() for w in model.weights]
    result = model.evaluate(random_views(rng), return_dict=True, verbose=0)
    assert set(result) == {"loss", "contrastive_accuracy"} and np.isfinite(result["loss"])
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(old, new.numpy())


def test_save_load_gives_identical_embeddings_and_resumes_from_the_saved_step(tmp_path, rng):
    views = random_views(rng, batches=3)
    model = make_model(temperature=0.3, hidden_dim=24, num_layers=3)
    model.fit(views, epochs=2, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    again = keras.models.load_model(path)

    images = rng.uniform(0, 255, size=(7, 12, 12, 1)).astype("float32")
    np.testing.assert_array_equal(again.predict(images, verbose=0), model.predict(images, verbose=0))
    assert isinstance(again.method, kc.methods.SimCLR)
    assert again.method.get_config() == model.method.get_config()
    assert int(again.optimizer.iterations) == 6
    for old, new in zip(model.optimizer.variables, again.optimizer.variables):
        np.testing.assert_array_equal(old.numpy(), new.numpy())

    # One more epoch from the saved state matches one more epoch of the original.
    model.fit(views, epochs=1, verbose=0)
    again.fit(views, epochs=1, verbose=0)
    assert int(again.optimizer.iterations) == 9
    np.testing.assert_allclose(again.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-4)


def test_config_round_trip_builds_an_equivalent_untrained_model():
    model = make_model(temperature=0.4)
    clone = kc.ContrastiveModel.from_config(model.get_config())
    assert clone.method.temperature == 0.4
    assert clone.embedding_dim == model.embedding_dim == 16
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]


@pytest.mark.parametrize(
    "arguments, given",
    [(dict(loss="mse"), "loss"), (dict(metrics=["accuracy"]), "metrics"), (dict(loss_weights=[1.0]), "loss_weights"),
     (dict(weighted_metrics=["mae"]), "weighted_metrics")],
)
def test_compile_refuses_a_loss_or_metrics_it_would_ignore(arguments, given):
    model = kc.ContrastiveModel(tiny_encoder(), kc.methods.SimCLR(projection_dim=8))
    with pytest.raises(ValueError, match=f"compile got {given}, which it would ignore: the loss is the method's"):
        model.compile(optimizer="adam", **arguments)


def test_encoder_whose_output_is_not_2d_is_refused():
    inputs = keras.Input((12, 12, 1))
    feature_map = keras.Model(inputs, keras.layers.Conv2D(4, 3)(inputs))
    with pytest.raises(ValueError, match=r"2-D embeddings \(batch, dim\)"):
        kc.ContrastiveModel(feature_map, kc.methods.SimCLR())


def test_encoder_and_method_of_the_wrong_kind_are_refused():
    with pytest.raises(ValueError, match="encoder must be a keras.Model"):
        kc.ContrastiveModel(keras.layers.Dense(3), kc.methods.SimCLR())
    with pytest.raises(ValueError, match="method must be a keras_contrastive.methods.Method"):
        kc.ContrastiveModel(tiny_encoder(), kc.losses.NTXent())
    with pytest.raises(ValueError, match="pair_encoder must be a keras.Model or None"):
        kc.ContrastiveModel(tiny_encoder(), kc.methods.SimCLR(), pair_encoder="text")

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="must be a built functional or Sequential model"):
        kc.ContrastiveModel(Subclassed(), kc.methods.SimCLR())


def test_batch_of_one_is_refused(rng):
    model = make_model()
    with pytest.raises(ValueError, match="at least 2 examples"):
        model.fit(random_views(rng, batch=1, batches=2), epochs=1, verbose=0)


def test_views_of_different_shapes_are_refused_for_a_siamese_model():
    model = kc.ContrastiveModel(
        kc.encoders.small_cnn((None, None, 1), widths=(4,)), kc.methods.SimCLR(projection_dim=8)
    )
    model.compile(optimizer="adam")
    a = np.zeros((4, 12, 12, 1), "float32")
    b = np.zeros((4, 10, 10, 1), "float32")
    views = tf.data.Dataset.from_tensor_slices((a, b)).batch(4)
    with pytest.raises(ValueError, match="two views of a siamese model must have the same shape"):
        model.fit(views, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "shape, message",
    [((12, 12), "batch of images"), ((12, 12, 3), "1 channel"), ((10, 10, 1), r"\(batch, 12, 12, 1\)")],
)
def test_images_of_wrong_rank_channel_count_or_size_are_refused(shape, message):
    model = make_model()
    a = np.zeros((4, *shape), "float32")
    views = tf.data.Dataset.from_tensor_slices((a, a)).batch(4)
    with pytest.raises(ValueError, match=message):
        model.fit(views, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "shape, message",
    [((3, 12, 12), "batch of images"), ((3, 12, 12, 3), "1 channel")],
)
def test_predict_refuses_images_of_wrong_rank_or_channel_count(shape, message):
    with pytest.raises(ValueError, match=message):
        make_model().predict(np.zeros(shape, "float32"), verbose=0)


def test_a_batch_of_unknown_rank_gets_a_message_not_a_crash():
    model = make_model()
    embed = tf.function(model, input_signature=[tf.TensorSpec(None, tf.float32)])
    with pytest.raises(ValueError, match=r"Expected the encoder's input to be a batch of images .* unknown rank"):
        embed.get_concrete_function()


def test_batches_that_are_not_pairs_of_views_are_refused():
    model = make_model()
    images = tf.data.Dataset.from_tensor_slices(np.zeros((8, 12, 12, 1), "float32")).batch(4)
    with pytest.raises(ValueError, match=r"\(view_a, view_b\)"):
        model.fit(images, epochs=1, verbose=0)


def test_labels_are_passed_through_and_ignored_by_simclr(rng):
    model = make_model()
    history = model.fit(random_views(rng, labels=True), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize(
    "labels, message",
    [(np.zeros((8, 1), "int64"), r"shape \(8, 1\)"), (np.zeros(8, "float32"), "dtype float32")],
)
def test_labels_of_the_wrong_shape_or_dtype_are_refused(labels, message):
    model = kc.ContrastiveModel(tiny_encoder(), kc.methods.SupCon(projection_dim=8))
    model.compile(optimizer="adam")
    images = np.zeros((8, 12, 12, 1), "float32")
    views = tf.data.Dataset.from_tensors((images, images, labels))
    with pytest.raises(ValueError, match=f"Expected labels to be a batch of integer class labels .*{message}"):
        model.fit(views, epochs=1, verbose=0)


# Any input, and two towers.

VOCABULARY, LENGTH = 40, 10


def token_encoder():
    """Token ids (batch, 10) -> mean of their embeddings -> a 16-d embedding."""
    inputs = keras.Input((LENGTH,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(VOCABULARY, 16)(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(16)(x), name="tokens")


def masked(ids):
    """A view of a batch of token ids: a fifth of them replaced by the padding id 0."""
    return tf.where(tf.random.uniform(tf.shape(ids)) < 0.2, tf.zeros_like(ids), ids)


ITEMS = np.array([f"item {i}" for i in range(12)])


def item_encoder():
    """Raw string ids (batch,) -> their row of an embedding table: the lookup is inside the tower."""
    inputs = keras.Input((), dtype="string", name="items")
    x = keras.layers.StringLookup(vocabulary=list(ITEMS))(inputs)
    x = keras.layers.Embedding(len(ITEMS) + 1, 16)(x)
    return keras.Model(inputs, keras.layers.Dense(16)(x), name="items")


TWO_TOWER_METHODS = {
    "simclr": lambda: kc.methods.SimCLR(projection_dim=8, temperature=0.2),
    "moco": lambda: kc.methods.MoCo(projection_dim=8, queue_size=32, symmetric=True),
    "supcon": lambda: kc.methods.SupCon(projection_dim=8, temperature=0.2),
}


def train_save_reload_export(model, data, epochs, directory):
    """Fits, saves, reloads and exports `model`; returns (history, reloaded, export path)."""
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(data, epochs=epochs, verbose=0).history
    model.save(directory / f"{model.name}.keras")
    again = kc.load_model(directory / f"{model.name}.keras")
    return history, again, kc.export.export_embedder(again, directory / f"{model.name}_serving")


@pytest.fixture(scope="module")
def served(tmp_path_factory, module_rng):
    """A siamese model on token ids and a two-tower model per method, each trained, saved, reloaded and
    exported through the public API; all exports served by one fresh process without the package."""
    directory = tmp_path_factory.mktemp("any_input")
    keras.utils.set_random_seed(int(module_rng.integers(2**31)))
    runs, requests = {}, []

    ids = module_rng.integers(1, VOCABULARY, size=(64, LENGTH)).astype("int32")
    views = kc.data.make_views(tf.data.Dataset.from_tensor_slices(ids), masked, batch_size=16, seed=0)
    model = kc.ContrastiveModel(token_encoder(), kc.methods.SimCLR(projection_dim=8, temperature=0.2), name="tokens")
    history, again, path = train_save_reload_export(model, views, 6, directory)
    runs["tokens"] = dict(model=model, again=again, history=history, inputs=ids)
    requests.append((path, "serving_default", "token_ids", ids[:5]))

    classes = module_rng.integers(0, len(ITEMS), size=48)
    images = np.clip(module_rng.normal(20.0 * classes[:, None, None, None], 10.0, (48, 8, 8, 1)), 0, 255).astype("uint8")
    pairs = tf.data.Dataset.from_tensor_slices((images, ITEMS[classes], classes)).batch(12, drop_remainder=True)
    for name, method in TWO_TOWER_METHODS.items():
        model = kc.ContrastiveModel(
            kc.encoders.small_cnn((8, 8, 1), widths=(4, 8)), method(), pair_encoder=item_encoder(), name=name
        )
        history, again, path = train_save_reload_export(model, pairs.repeat(3), 1, directory)
        runs[name] = dict(model=model, again=again, history=history, inputs=images)
        requests += [(path, "serving_default", "images", images[:4]), (path, "embed_pair", "text", ITEMS[:5])]
    answers = iter(serve_in_fresh_process(directory, requests))
    runs["tokens"]["answers"] = [next(answers)]
    for name in TWO_TOWER_METHODS:
        runs[name]["answers"] = [next(answers), next(answers)]
    return runs


def test_a_siamese_model_on_token_ids_trains_saves_reloads_and_serves(served):
    run = served["tokens"]
    model, ids = run["model"], run["inputs"]
    assert run["history"]["loss"][-1] < run["history"]["loss"][0]
    np.testing.assert_array_equal(run["again"].predict(ids, verbose=0), model.predict(ids, verbose=0))
    [answer] = run["answers"]
    assert answer["inputs"] == {"token_ids": ["int32", [None, LENGTH]]}
    np.testing.assert_allclose(answer["outputs"]["embedding"], normalised(model.predict(ids[:5], verbose=0)), atol=1e-5)
    with pytest.raises(ValueError, match=r"batch of integer token ids \(batch, 10\), got dtype float32"):
        model.predict(ids.astype("float32"), verbose=0)


@pytest.mark.parametrize("name", sorted(TWO_TOWER_METHODS))
def test_a_two_tower_model_of_images_and_strings_trains_saves_reloads_and_serves_both_towers(name, served):
    """Images through a CNN, their item names (strings) through a lookup tower, one shared space."""
    run = served[name]
    model, again, images = run["model"], run["again"], run["inputs"]
    assert len(model.method.projectors) == 2  # one head per tower
    assert np.isfinite(run["history"]["loss"][-1])
    np.testing.assert_array_equal(again.predict(images, verbose=0), model.predict(images, verbose=0))
    np.testing.assert_array_equal(again.embed_pair(ITEMS), model.embed_pair(ITEMS))
    for before, after in zip(model.method.weights, again.method.weights):
        np.testing.assert_array_equal(after.numpy(), before.numpy())
    image_answer, item_answer = run["answers"]
    assert image_answer["inputs"] == {"images": ["uint8", [None, 8, 8, 1]]}
    assert item_answer["inputs"] == {"text": ["string", [None]]}
    np.testing.assert_allclose(image_answer["outputs"]["embedding"], normalised(model.predict(images[:4], verbose=0)),
                               atol=1e-5)
    np.testing.assert_allclose(item_answer["outputs"]["embedding"], normalised(model.embed_pair(ITEMS[:5])), atol=1e-5)


def test_predict_takes_a_numpy_array_of_strings_and_no_examples_at_all():
    model = kc.ContrastiveModel(item_encoder(), kc.methods.SimCLR(projection_dim=8))
    names = np.array(list(ITEMS[:3]))  # a unicode array, which Keras's own adapters refuse
    assert names.dtype.kind == "U"
    np.testing.assert_array_equal(model.predict(names, verbose=0), model.predict(tf.constant(names), verbose=0))
    empty = model.predict(np.array([], dtype=str), verbose=0)
    assert empty.shape == (0, 16) and empty.dtype == np.float32
    assert kc.evaluation.embed(model.encoder, []).shape == (0, 16)
    with pytest.raises(ValueError, match="Expected the encoder's input to be a batch of strings"):
        model.predict(np.zeros((0, 3)), verbose=0)


def test_a_two_tower_model_checks_each_view_against_its_own_tower():
    model = kc.ContrastiveModel(
        kc.encoders.small_cnn((8, 8, 1), widths=(4,)), kc.methods.SimCLR(projection_dim=8), pair_encoder=item_encoder()
    )
    model.compile(optimizer="adam")
    images = np.zeros((4, 8, 8, 1), "uint8")
    wrong = tf.data.Dataset.from_tensors((images, np.arange(4)))
    with pytest.raises(ValueError, match=r"Expected view_b to be a batch of strings \(batch\), got shape \(4,\)|got dtype"):
        model.fit(wrong, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"Expected the pair encoder's input to be a batch of strings"):
        model.embed_pair(np.arange(3))


def test_data_that_yields_no_batch_is_refused_and_the_step_count_stays():
    images = np.zeros((16, 12, 12, 1), "float32")
    nothing = tf.data.Dataset.from_tensor_slices((images, images)).filter(lambda a, b: False).batch(8)
    model = make_model()
    with pytest.raises(ValueError, match="fit got no batch to train on"):
        model.fit(nothing, epochs=2, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 0


# Gradient caching: chunk_size.

def plain_encoder(dropout: float = 0.0) -> keras.Model:
    """Conv-ReLU x 2 and global pooling, without batch norm, with an L2 regulariser on the first kernel."""
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-2))(x)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))


CHUNKED_METHODS = {
    "simclr": lambda **kw: kc.methods.SimCLR(projection_dim=8, temperature=0.2, projector_batch_norm=False, **kw),
    "supcon": lambda **kw: kc.methods.SupCon(projection_dim=8, temperature=0.2, projector_batch_norm=False, **kw),
}


def stepped(seed, data, chunk_size, method, encoder=plain_encoder, optimizer=None, pair_encoder=None, steps=1):
    """A model built from `seed` (the same weights and random state every time), after `steps` steps on `data`."""
    keras.utils.set_random_seed(seed)
    model = kc.ContrastiveModel(encoder(), method(), pair_encoder=pair_encoder and pair_encoder(),
                                chunk_size=chunk_size)
    model.compile(optimizer=optimizer() if optimizer else keras.optimizers.SGD(0.5))
    start = [v.numpy() for v in model.trainable_variables]
    model.history_of_step = model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0).history
    model.updates = [v.numpy() - s for v, s in zip(model.trainable_variables, start)]
    return model


def assert_same_step(chunked, whole, rtol=1e-5):
    """Every parameter after the step within `rtol` of the network's scale, and each variable's update close.

    A chunked step sums the same gradient in another order, so float32 rounding differs by about 1e-5 of the
    update. Parameters are compared against the largest parameter of the network, not of their own variable: a
    bias that starts at zero is its update after one step, which the second, per-variable check covers.
    """
    scale = max(np.abs(w.numpy()).max() for w in whole.trainable_variables)
    for c, w in zip(chunked.trainable_variables, whole.trainable_variables):
        np.testing.assert_allclose(c.numpy(), w.numpy(), rtol=rtol, atol=rtol * scale, err_msg=w.path)
    for c, w, variable in zip(chunked.updates, whole.updates, whole.trainable_variables):
        np.testing.assert_allclose(c, w, rtol=100 * rtol, atol=100 * rtol * np.abs(w).max(), err_msg=variable.path)
    assert any(np.abs(u).max() > 0 for u in whole.updates)


@pytest.mark.parametrize("name", sorted(CHUNKED_METHODS))
@pytest.mark.parametrize("chunk_size, block_size", [(3, None), (4, 5), (16, None)])
def test_a_chunked_step_equals_the_whole_batchs_step_without_batch_norm(seed, rng, name, chunk_size, block_size):
    data = random_views(rng, batch=10, batches=1, labels=True)  # chunks of 3 and 4 do not divide 10; 16 is one
    whole = stepped(seed, data, None, CHUNKED_METHODS[name])
    chunked = stepped(seed, data, chunk_size, lambda: CHUNKED_METHODS[name](block_size=block_size))
    assert_same_step(chunked, whole)
    assert chunked.history_of_step.keys() == whole.history_of_step.keys()
    for metric, values in whole.history_of_step.items():
        np.testing.assert_allclose(chunked.history_of_step[metric], values, rtol=1e-5, err_msg=metric)


def test_a_chunked_two_tower_step_equals_the_whole_batchs(seed, rng):
    """Images through a CNN, item names through a lookup and an embedding (whose gradient is sparse)."""
    classes = rng.integers(0, len(ITEMS), size=10)
    images = rng.uniform(0, 255, size=(10, 12, 12, 1)).astype("float32")
    data = tf.data.Dataset.from_tensors((images, ITEMS[classes]))
    whole = stepped(seed, data, None, CHUNKED_METHODS["simclr"], pair_encoder=item_encoder)
    chunked = stepped(seed, data, 4, CHUNKED_METHODS["simclr"], pair_encoder=item_encoder)
    assert_same_step(chunked, whole)


class FastProjectorSimCLR(kc.methods.SimCLR):
    """SimCLR whose projector steps 10 times as far."""

    @property
    def learning_rate_multipliers(self):
        return [(self.projectors[0].trainable_variables, 10.0)]


def test_a_chunked_step_applies_the_methods_learning_rate_multipliers(seed, rng):
    data = random_views(rng, batch=10, batches=1)
    fast = lambda: FastProjectorSimCLR(projection_dim=8, projector_batch_norm=False)  # noqa: E731
    whole = stepped(seed, data, None, fast)
    chunked = stepped(seed, data, 3, fast)
    assert_same_step(chunked, whole)
    plain = stepped(seed, data, 3, lambda: kc.methods.SimCLR(projection_dim=8, projector_batch_norm=False))
    projector = {id(v) for v in chunked.method.projectors[0].trainable_variables}
    for variable, fast_update, plain_update in zip(chunked.trainable_variables, chunked.updates, plain.updates):
        factor = 10.0 if id(variable) in projector else 1.0
        np.testing.assert_allclose(fast_update, factor * plain_update, rtol=1e-4, atol=1e-4 * np.abs(fast_update).max())


class CountingSimCLR(kc.methods.SimCLR):
    """SimCLR that counts its `after_step` calls in a variable."""

    def build(self, towers):
        super().build(towers)
        self.after_steps = self.add_weight(shape=(), initializer="zeros", trainable=False, name="after_steps")

    def after_step(self, towers, results):
        self.after_steps.assign_add(1.0)


def test_metrics_and_after_step_happen_once_per_chunked_step(seed, rng):
    data = random_views(rng, batch=10, batches=3)
    counting = lambda: CountingSimCLR(projection_dim=8, projector_batch_norm=False)  # noqa: E731
    whole = stepped(seed, data, None, counting, steps=3)
    chunked = stepped(seed, data, 3, counting, steps=3)  # 4 chunks a step
    assert float(chunked.method.after_steps.numpy()) == float(whole.method.after_steps.numpy()) == 3.0
    assert float(chunked.loss_tracker.count.numpy()) == 3.0
    assert int(chunked.optimizer.iterations.numpy()) == 3
    np.testing.assert_allclose(chunked.history_of_step["loss"], whole.history_of_step["loss"], rtol=1e-5)
    assert_same_step(chunked, whole, rtol=1e-4)  # three steps of rounding


@pytest.fixture
def float16_policy():
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    yield
    keras.mixed_precision.set_dtype_policy("float32")


@pytest.mark.parametrize("initial_scale, applied", [(2.0**8, True), (2.0**40, False)])
def test_a_chunked_step_under_loss_scaling_applies_or_skips_as_the_whole_batchs(seed, rng, float16_policy,
                                                                                 initial_scale, applied):
    data = random_views(rng, batch=10, batches=1)
    optimizer = lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.5), initial_scale=initial_scale)  # noqa: E731,E501
    whole = stepped(seed, data, None, CHUNKED_METHODS["simclr"], optimizer=optimizer)
    chunked = stepped(seed, data, 3, CHUNKED_METHODS["simclr"], optimizer=optimizer)
    assert chunked.encoder.output.dtype == "float16"
    for model in (whole, chunked):
        assert int(model.optimizer.iterations.numpy()) == int(applied)
        assert all(np.all(np.isfinite(v.numpy())) for v in model.trainable_variables)
    assert float(chunked.optimizer.scale_loss(1.0)) == float(whole.optimizer.scale_loss(1.0))
    if applied:  # float16 layers round differently on chunks: within float16's precision of the step
        for c, w in zip(chunked.updates, whole.updates):
            np.testing.assert_allclose(c, w, rtol=2e-2, atol=2e-2 * np.abs(w).max())
    else:
        assert all(np.abs(u).max() == 0 for u in chunked.updates + whole.updates)


def test_with_dropout_one_chunk_equals_the_whole_batch_because_the_second_pass_draws_the_same_masks(seed, rng):
    data = random_views(rng, batch=10, batches=1)
    dropout = lambda: plain_encoder(dropout=0.5)  # noqa: E731
    whole = stepped(seed, data, None, CHUNKED_METHODS["simclr"], encoder=dropout)
    chunked = stepped(seed, data, 10, CHUNKED_METHODS["simclr"], encoder=dropout)
    assert_same_step(chunked, whole)
    several = stepped(seed, data, 3, CHUNKED_METHODS["simclr"], encoder=dropout)
    assert np.isfinite(several.history_of_step["loss"][0])


def test_with_batch_norm_each_chunk_updates_the_moving_statistics_once(seed, rng):
    view_a, view_b = next(iter(random_views(rng, batch=10, batches=1)))
    data = tf.data.Dataset.from_tensors((view_a, view_b))
    method = lambda: kc.methods.SimCLR(projection_dim=8)  # noqa: E731 - batch norm in the projector too
    chunked = stepped(seed, data, 4, method, encoder=tiny_encoder)
    keras.utils.set_random_seed(seed)
    reference = kc.ContrastiveModel(tiny_encoder(), method())
    for start in range(0, 10, 4):  # the chunks through the model before its step, in training mode
        reference.method.forward(reference.towers, view_a[start:start + 4], view_b[start:start + 4], training=True)
    moving = [(c, r) for c, r in zip(chunked.non_trainable_variables, reference.non_trainable_variables)
              if "moving" in c.path]
    assert len(moving) == 2 * 5  # mean and variance of the encoder's 4 batch norms and the projector's
    for got, expected in moving:
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6, err_msg=got.path)


def test_a_chunked_evaluate_equals_the_whole_batchs(seed, rng):
    data = random_views(rng, batch=10, batches=2)
    keras.utils.set_random_seed(seed)
    whole = kc.ContrastiveModel(tiny_encoder(), kc.methods.SimCLR(projection_dim=8, block_size=7))
    chunked = kc.ContrastiveModel.from_config(dict(whole.get_config(), chunk_size=3))
    chunked.set_weights(whole.get_weights())
    for model in (whole, chunked):
        model.compile(optimizer="sgd")
    expected = whole.evaluate(data, return_dict=True, verbose=0)
    got = chunked.evaluate(data, return_dict=True, verbose=0)
    for metric, value in expected.items():
        np.testing.assert_allclose(got[metric], value, rtol=1e-5, err_msg=metric)


def test_chunk_size_is_checked_saved_and_loaded(tmp_path, rng):
    for chunk_size in (0, -2, 2.5, True, "8"):
        with pytest.raises(ValueError, match=f"chunk_size must be a positive integer, got {chunk_size!r}"):
            kc.ContrastiveModel(tiny_encoder(), kc.methods.SimCLR(), chunk_size=chunk_size)
    model = kc.ContrastiveModel(tiny_encoder(), kc.methods.SimCLR(projection_dim=8, block_size=16), chunk_size=4)
    assert model.get_config()["chunk_size"] == 4 and make_model().get_config()["chunk_size"] is None
    model.compile(optimizer="adam")
    model.fit(random_views(rng, batch=8, batches=1), epochs=1, verbose=0)
    model.save(tmp_path / "chunked.keras")
    again = kc.load_model(tmp_path / "chunked.keras")
    assert again.chunk_size == 4 and again.method.block_size == 16
    images = rng.uniform(0, 255, size=(3, 12, 12, 1)).astype("float32")
    np.testing.assert_array_equal(again.predict(images, verbose=0), model.predict(images, verbose=0))


def test_chunk_size_with_a_method_that_cannot_chunk_names_those_that_can():
    message = ("chunk_size needs a method that computes its loss from per-example outputs .*MoCo does not; the "
               "methods that do are CLIP, PairMargin, SimCLR, SupCon, Triplet")
    with pytest.raises(ValueError, match=message):
        kc.ContrastiveModel(tiny_encoder(), kc.methods.MoCo(projection_dim=8, queue_size=16), chunk_size=4)


def test_chunk_size_refuses_layers_that_add_losses_when_called(rng):
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.Flatten()(inputs)
    encoder = keras.Model(inputs, keras.layers.Dense(8, activity_regularizer=keras.regularizers.L2(1e-3))(x))
    model = kc.ContrastiveModel(encoder, kc.methods.SimCLR(projection_dim=8), chunk_size=4)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"chunk_size cannot train layers that add losses when called \(1 of them"):
        model.fit(random_views(rng, batch=8, batches=1), epochs=1, verbose=0)
