"""kc.methods.InBatchSoftmax: the frequency estimator, the corrected loss of the step, batch formats, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.methods.frequency_estimator import FrequencyEstimator, hash_buckets

USERS = np.array([f"u{i}" for i in range(12)])
ITEMS = np.array([f"m{i}" for i in range(18)])


def feature_tower(width=4, dim=6):
    inputs = keras.Input((width,), name="features")
    return keras.Model(inputs, keras.layers.Dense(dim)(inputs))


def two_towers(method, item_tower=None):
    users = kc.encoders.id_tower(USERS, embedding_dim=6)
    return kc.ContrastiveModel(users, method, pair_encoder=item_tower or kc.encoders.id_tower(ITEMS, embedding_dim=6))


def interactions(rng, n):
    """Users with three favourite items each: item 3u/2 + {0, 1, 2} (mod 18), so neighbours share items."""
    users = rng.integers(0, len(USERS), n)
    items = (users * 3 // 2 + rng.integers(0, 3, n)) % len(ITEMS)
    return USERS[users], ITEMS[items]


def test_the_estimate_converges_to_the_sampling_probabilities_of_a_stream(rng):
    """Items drawn i.i.d. from a skewed distribution, 64 a step: 1 / B over the batch size estimates each one's."""
    names = [f"item-{i}" for i in range(40)]
    probabilities = 1.0 / np.arange(1, 41) ** 1.1  # item-0 occurs some 16 times a step: multiplicity matters
    probabilities /= probabilities.sum()
    estimator = FrequencyEstimator(num_buckets=2**16, learning_rate=0.005)
    estimator.build()
    buckets = hash_buckets(tf.constant(names), 2**16).numpy()
    assert len(set(buckets.tolist())) == len(names)  # no two items share a bucket here
    steps, batch = 3000, 64
    stream = buckets[rng.choice(len(names), size=(steps, batch), p=probabilities)]

    @tf.function(autograph=True)
    def run(stream):
        for step in tf.range(steps):
            estimator.update_buckets(stream[step])

    run(tf.constant(stream))
    assert int(estimator.steps.numpy()) == steps
    estimated = np.exp(estimator.log_probabilities(tf.constant(names)).numpy()) / batch
    # B averages over the last 1 / 0.005 = 200 occurrences, some 5% of noise. The bounds are 1.5 times the
    # largest of 300 simulated streams: items occurring once a step or more within 25% each (largest 16%); items
    # occurring every other step or more (some 1,500 times or more) within 10% on average (6%), and unbiased to 6%
    # (3.5%).
    frequent = probabilities * batch >= 0.5
    assert frequent.sum() >= 20
    ratios = estimated / probabilities
    np.testing.assert_allclose(ratios[probabilities * batch >= 1.0], 1.0, rtol=0.25)
    assert np.mean(np.abs(ratios[frequent] - 1.0)) < 0.1 and abs(np.mean(ratios[frequent]) - 1.0) < 0.06
    assert np.corrcoef(np.log(estimated), np.log(probabilities))[0, 1] > 0.95
    # An item never seen yet is estimated as if first seen at the coming step: once in steps + 1.
    np.testing.assert_allclose(estimator.log_probabilities(tf.constant(["never"])).numpy(), [-np.log(steps + 1)])


def test_a_first_sighting_shares_the_gap_since_the_start_and_later_ones_move_by_the_learning_rate():
    estimator = FrequencyEstimator(num_buckets=1024, learning_rate=0.5)
    estimator.build()
    assert len(set(estimator.buckets(tf.constant(["x", "y", "7"])).numpy().tolist())) == 3
    for _ in range(3):
        estimator.update(tf.constant(["x"]))  # steps 1-3: x alone
    estimator.update(tf.constant(["y", "y", "x"]))  # step 4: y first, twice
    gaps = np.exp(-estimator.log_probabilities(tf.constant(["x", "y"])).numpy())
    np.testing.assert_allclose(gaps, [1.0, 4.0 / 2], rtol=1e-6)  # y: the 4 steps since the start, shared by two
    estimator.update(tf.constant([7, 7, 7, 7]))  # integer ids hash as their decimal strings
    estimator.update(tf.constant(["7", "y"]))
    # y, after a gap of 2 steps: B <- 0.5 B + 0.5 * 2 = 2; "7": 5/4 at first, then 0.5 * 1.25 + 0.5 * 1.
    gaps = np.exp(-estimator.log_probabilities(tf.constant(["y", "7"])).numpy())
    np.testing.assert_allclose(gaps, [2.0, 0.5 * 1.25 + 0.5 * 1.0], rtol=1e-6)
    with pytest.raises(ValueError, match=r"learning_rate must be a number in \(0, 1\]"):
        FrequencyEstimator(learning_rate=0.0)


def test_the_step_uses_the_estimates_before_it_and_only_after_step_changes_them(rng, seed):
    model = two_towers(kc.methods.InBatchSoftmax(temperature=0.2, frequency_buckets=256))
    method, estimator = model.method, model.method.frequency_estimator
    for _ in range(3):  # some history, so that the estimates differ between items
        estimator.update(tf.constant(interactions(rng, 16)[1]))
    users, items = (tf.constant(column) for column in interactions(rng, 16))
    state = [w.numpy().copy() for w in method.weights]
    gaps_before = estimator.step_gap.numpy().copy()
    log_q = estimator.log_probabilities(items).numpy()
    assert np.ptp(log_q) > 0.1
    results = method.compute_loss_and_metrics(model.towers, users, items, training=True)
    for before, after in zip(state, method.weights):
        np.testing.assert_array_equal(after.numpy(), before)  # the forward pass changed no state
    embedded_users, embedded_items = model.encoder(users), model.pair_encoder(items)
    expected = kc.losses.in_batch_softmax(embedded_users, embedded_items, 0.2, log_q, items)
    np.testing.assert_allclose(float(results["loss"]), float(expected), rtol=1e-5)
    uncorrected = kc.losses.in_batch_softmax(embedded_users, embedded_items, 0.2, None, items)
    assert abs(float(expected) - float(uncorrected)) > 1e-3  # the correction shows
    method.after_step(model.towers, results)
    assert int(estimator.steps.numpy()) == 4
    assert not np.array_equal(estimator.step_gap.numpy(), gaps_before)


def test_a_two_tower_model_learns_saves_and_loads_with_its_estimates(rng, tmp_path, seed):
    catalogue_titles = [f"title {i % 6}" for i in range(len(ITEMS))]
    catalogue_genres = ["A|B" if i % 2 else "C" for i in range(len(ITEMS))]
    items = kc.encoders.item_tower(ITEMS, catalogue_titles, catalogue_genres, embedding_dim=8)
    users = kc.encoders.id_tower(USERS, embedding_dim=8)
    model = kc.ContrastiveModel(users, kc.methods.InBatchSoftmax(temperature=0.1, frequency_buckets=256),
                                pair_encoder=items)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    data = tf.data.Dataset.from_tensor_slices(interactions(rng, 24 * 16)).batch(24)
    history = model.fit(data, epochs=2, verbose=0).history
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    assert history["contrastive_accuracy"][-1] > history["contrastive_accuracy"][0]
    assert int(model.method.frequency_estimator.steps.numpy()) == 32
    model.save(tmp_path / "recommender.keras")
    loaded = kc.load_model(tmp_path / "recommender.keras")
    assert isinstance(loaded.method, kc.methods.InBatchSoftmax)
    for before, after in zip(model.method.weights, loaded.method.weights):
        np.testing.assert_array_equal(after.numpy(), before.numpy(), err_msg=before.path)
    probe = tf.constant(list(ITEMS[:4]) + ["never-seen"])
    np.testing.assert_allclose(loaded.pair_encoder(probe, training=False), model.pair_encoder(probe, training=False),
                               rtol=1e-6)
    np.testing.assert_allclose(loaded.method.sampling_probabilities(probe), model.method.sampling_probabilities(probe))


def test_config_round_trip_and_bad_settings():
    method = kc.methods.InBatchSoftmax(temperature=0.1, sampling_correction="given", remove_accidental_hits=False,
                                       frequency_buckets=1000, frequency_learning_rate=0.2, block_size=64)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(method))
    assert type(again) is kc.methods.InBatchSoftmax and again.get_config() == method.get_config()
    assert (again.sampling_correction, again.block_size, again.frequency_learning_rate) == ("given", 64, 0.2)
    assert kc.methods.METHODS["in_batch_softmax"] is kc.methods.InBatchSoftmax
    for arguments, message in [
        (dict(temperature=0), "temperature must be a positive number"),
        (dict(sampling_correction="estimate"), "sampling_correction must be True"),
        (dict(remove_accidental_hits="yes"), "remove_accidental_hits must be True or False"),
        (dict(frequency_buckets=0), "frequency_buckets must be a positive integer"),
        (dict(frequency_learning_rate=1.5), "frequency_learning_rate must be a number in"),
        (dict(block_size=8), "block_size needs remove_accidental_hits=False"),
    ]:
        with pytest.raises(ValueError, match=message):
            kc.methods.InBatchSoftmax(**arguments)


def test_batch_formats_are_checked_and_the_ids_come_from_the_items_or_the_third_part(rng, seed):
    users, item_ids = interactions(rng, 8)
    features = rng.normal(size=(8, 4)).astype("float32")
    by_features = two_towers(kc.methods.InBatchSoftmax(frequency_buckets=64), feature_tower())
    check = by_features.method.check_third_part
    with pytest.raises(ValueError, match="needs the items' ids to remove accidental hits and to estimate sampling"):
        check(None, 8, by_features.towers)
    check(tf.constant(item_ids), 8, by_features.towers)
    check({"item_ids": tf.constant([1, 2, 3, 4, 5, 6, 7, 8])}, 8, by_features.towers)
    with pytest.raises(ValueError, match="item_ids as string or integer ids of shape"):
        check(tf.constant(features[:, 0]), 8, by_features.towers)
    with pytest.raises(ValueError, match="item_ids as string or integer ids of shape"):
        check(tf.constant(item_ids[:5]), 8, by_features.towers)
    with pytest.raises(ValueError, match="got the key.*'weights'"):
        check({"weights": tf.ones(8)}, 8, by_features.towers)
    with pytest.raises(ValueError, match="only InBatchSoftmax\\(sampling_correction='given'\\) uses"):
        check({"item_ids": tf.constant(item_ids), "sampling_probabilities": tf.ones(8)}, 8, by_features.towers)
    results = by_features.method.compute_loss_and_metrics(by_features.towers, tf.constant(users),
                                                          tf.constant(features), tf.constant(item_ids))
    assert np.isfinite(float(results["loss"]))
    by_ids = two_towers(kc.methods.InBatchSoftmax(frequency_buckets=64))
    by_ids.method.check_third_part(None, 8, by_ids.towers)  # the items are their ids
    plain = two_towers(kc.methods.InBatchSoftmax(sampling_correction=False, remove_accidental_hits=False),
                       feature_tower())
    plain.method.check_third_part(None, 8, plain.towers)
    assert not plain.method.weights  # no estimator without the streaming correction
    with pytest.raises(ValueError, match="estimates no sampling probabilities"):
        plain.method.sampling_probabilities(["m1"])


def test_given_sampling_probabilities_are_the_batchs_own(rng, seed):
    model = two_towers(kc.methods.InBatchSoftmax(temperature=0.3, sampling_correction="given"))
    users, items = (tf.constant(column) for column in interactions(rng, 10))
    probabilities = tf.constant(rng.uniform(0.01, 0.5, 10), tf.float32)
    with pytest.raises(ValueError, match="needs each batch's sampling probabilities"):
        model.method.check_third_part(None, 10, model.towers)
    third = {"sampling_probabilities": probabilities}
    model.method.check_third_part(third, 10, model.towers)
    loss = model.method.compute_loss_and_metrics(model.towers, users, items, third)["loss"]
    expected = kc.losses.in_batch_softmax(model.encoder(users), model.pair_encoder(items), 0.3,
                                          tf.math.log(probabilities), items)
    np.testing.assert_allclose(float(loss), float(expected), rtol=1e-5)
