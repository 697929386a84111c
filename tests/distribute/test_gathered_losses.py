"""InfoNCE, the multiple-negatives ranking loss, the symmetric InfoNCE, the in-batch softmax, SupCon, Barlow Twins, VICReg and the pair margin loss under MirroredStrategy equal their single-device values on the global batch."""

import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses.barlow_twins import barlow_twins
from keras_contrastive.losses.in_batch_softmax import in_batch_softmax
from keras_contrastive.losses.info_nce import info_nce_per_anchor
from keras_contrastive.losses.multiple_negatives_ranking import multiple_negatives_ranking_per_anchor
from keras_contrastive.losses.pair_margin import pair_margin
from keras_contrastive.losses.supcon import supcon
from keras_contrastive.losses.symmetric_info_nce import symmetric_info_nce
from keras_contrastive.losses.vicreg import vicreg
from keras_contrastive.methods.frequency_estimator import FrequencyEstimator
from tests.distribute.replicas import run_check
from tests.losses.test_barlow_twins import reference_barlow_twins
from tests.losses.test_in_batch_softmax import reference as reference_in_batch_softmax
from tests.losses.test_info_nce import reference_info_nce
from tests.losses.test_multiple_negatives_ranking import reference_per_anchor as reference_mnr_per_anchor
from tests.losses.test_pair_margin import reference_pair_margin
from tests.losses.test_supcon import reference_supcon
from tests.losses.test_symmetric_info_nce import reference as reference_symmetric_info_nce
from tests.losses.test_vicreg import reference_vicreg_terms

SIZES = (3, 7)  # unequal halves, as the last partial batch of an epoch
TEMPERATURE = 0.2
ESTIMATOR_BUCKETS = 4096


@pytest.fixture(scope="module")
def runs(tmp_path_factory, module_rng):
    """Fresh random inputs, and what each of the 2 replicas computed on its slice of them."""
    rng = module_rng
    n, dim = sum(SIZES), 12
    queries = rng.normal(size=(n, dim))
    features_a = rng.normal(size=(n, dim))
    inputs = {
        "queries": queries,
        "keys": 0.5 * queries + rng.normal(size=(n, dim)),
        "negatives": rng.normal(size=(6, dim)),
        "hard_negatives": 0.5 * queries + rng.normal(size=(n, dim)),
        "features_a": features_a,
        "features_b": 0.5 * features_a + rng.normal(size=(n, dim)),
    }
    inputs = {name: value.astype("float32") for name, value in inputs.items()}
    # Items repeated within and across the replicas: the accidental hits of one replica's rows are on the other too.
    first, second = rng.permutation([0, 1, 2]), rng.permutation([2, 0, 3, 1, 3, 1, 0])
    item_ids = np.array([f"movie-{k}" for k in np.concatenate([first, second])])
    inputs.update(labels=rng.integers(0, 3, size=n), sizes=np.array(SIZES),
                  temperature=np.array(TEMPERATURE), item_ids=item_ids, estimator_buckets=np.array(ESTIMATOR_BUCKETS),
                  log_probabilities=np.log(rng.dirichlet(np.ones(n)) + 1e-2).astype("float32"))
    return inputs, run_check("gathered_losses", inputs, tmp_path_factory.mktemp("gathered"))


def single_device_gradients(loss, inputs):
    variables = [tf.Variable(v) for v in inputs]
    with tf.GradientTape() as tape:
        value = loss(*variables)
    return [g.numpy() for g in tape.gradient(value, variables)]


def test_info_nce_replicas_score_their_queries_against_every_replicas_keys(runs):
    inputs, outputs = runs
    split = np.cumsum(SIZES)[:-1]
    args = inputs["queries"], inputs["keys"], inputs["negatives"]
    per_anchor = info_nce_per_anchor(*args, TEMPERATURE).numpy()
    gradients = single_device_gradients(
        lambda q, k: tf.reduce_mean(info_nce_per_anchor(q, k, inputs["negatives"], TEMPERATURE)), args[:2]
    )
    for replica in range(2):
        np.testing.assert_allclose(outputs[f"info_nce_per_anchor_{replica}"],
                                   np.split(per_anchor, split)[replica], rtol=1e-5)
        for name, gradient in zip(("queries", "keys"), gradients):
            np.testing.assert_allclose(outputs[f"info_nce_gradient_{name}_{replica}"],
                                       np.split(gradient, split)[replica], rtol=1e-3, atol=1e-6)
    gathered = np.concatenate([outputs[f"info_nce_per_anchor_{r}"] for r in range(2)])
    reference = reference_info_nce(*(a.astype(np.float64) for a in args), TEMPERATURE)
    np.testing.assert_allclose(gathered.mean(), reference, rtol=1e-5)


def test_multiple_negatives_ranking_replicas_rank_against_every_replicas_positives_and_hard_negatives(runs):
    inputs, outputs = runs
    split = np.cumsum(SIZES)[:-1]
    args = inputs["queries"], inputs["keys"], inputs["hard_negatives"]
    gradients = single_device_gradients(
        lambda q, k, h: tf.reduce_mean(multiple_negatives_ranking_per_anchor(q, k, h, TEMPERATURE)), args
    )
    reference = reference_mnr_per_anchor(*(a.astype(np.float64) for a in args), TEMPERATURE)[0]
    for replica in range(2):
        np.testing.assert_allclose(outputs[f"mnr_per_anchor_{replica}"], np.split(reference, split)[replica],
                                   rtol=1e-5)
        for name, gradient in zip(("queries", "keys", "hard"), gradients):
            np.testing.assert_allclose(outputs[f"mnr_gradient_{name}_{replica}"],
                                       np.split(gradient, split)[replica], rtol=1e-3, atol=1e-6)


def test_symmetric_info_nce_replicas_score_rows_and_columns_against_every_replica_with_a_tensor_temperature(runs):
    inputs, outputs = runs
    split = np.cumsum(SIZES)[:-1]
    args = inputs["queries"], inputs["keys"], np.float32(TEMPERATURE)
    gradients = single_device_gradients(symmetric_info_nce, args)
    reference = reference_symmetric_info_nce(*(a.astype(np.float64) for a in args[:2]), TEMPERATURE)
    for replica in range(2):
        np.testing.assert_allclose(outputs[f"clip_per_example_{replica}"],
                                   np.split(reference["per_example"], split)[replica], rtol=1e-5)
        for name, gradient in zip(("queries", "keys"), gradients):
            np.testing.assert_allclose(outputs[f"clip_gradient_{name}_{replica}"],
                                       np.split(gradient, split)[replica], rtol=1e-3, atol=1e-6)
    # Each replica's share sends the temperature its part of the gradient; the optimizer's all-reduce sums them.
    # That gradient is a sum of O(1) terms that nearly cancel (0.0067 on one seed), so float32 summed in another
    # order differs by a few 1e-7 absolute whatever the total: hence atol, not only rtol (seed 1780725394 was
    # 1.02e-4 relative, 6.9e-7 absolute, off the one-device float32 value).
    temperature_gradient = sum(outputs[f"clip_gradient_temperature_{r}"] for r in range(2))
    np.testing.assert_allclose(temperature_gradient, gradients[2], rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(temperature_gradient, reference["gradient_temperature"], rtol=1e-4, atol=2e-6)


def test_in_batch_softmax_replicas_correct_and_mask_with_every_replicas_items(runs):
    inputs, outputs = runs
    split = np.cumsum(SIZES)[:-1]
    ids = inputs["item_ids"]
    assert SIZES == (3, 7)  # the item ids above are made for these slices
    args = inputs["queries"], inputs["keys"], inputs["log_probabilities"]
    gradients = single_device_gradients(
        lambda q, k, l: in_batch_softmax(q, k, TEMPERATURE, l, tf.constant(ids)), args
    )
    reference = reference_in_batch_softmax(*(a.astype(np.float64) for a in args[:2]), TEMPERATURE,
                                           args[2].astype(np.float64), ids)
    np.testing.assert_allclose(gradients[2], reference["gradient_log_q"], rtol=1e-3, atol=1e-6)
    for replica in range(2):
        np.testing.assert_allclose(outputs[f"ibs_per_query_{replica}"], np.split(reference["losses"], split)[replica],
                                   rtol=1e-5)
        for name, gradient in zip(("queries", "keys"), gradients[:2]):
            np.testing.assert_allclose(outputs[f"ibs_gradient_{name}_{replica}"],
                                       np.split(gradient, split)[replica], rtol=1e-3, atol=1e-6)
        # A replica's log-probabilities get the gradient of every replica's queries, summed by the gather.
        np.testing.assert_allclose(outputs[f"ibs_gradient_log_q_{replica}"], np.split(gradients[2], split)[replica],
                                   rtol=1e-3, atol=1e-6)


def test_every_replicas_frequency_estimator_counts_the_global_batch(runs):
    inputs, outputs = runs
    ids = inputs["item_ids"]
    estimator = FrequencyEstimator(ESTIMATOR_BUCKETS, 0.5)
    estimator.build()
    estimator.update(tf.constant(ids))
    estimator.update(tf.constant(np.concatenate([part[:2] for part in np.split(ids, np.cumsum(SIZES)[:-1])])))
    assert int(estimator.steps.numpy()) == 2 and np.count_nonzero(estimator.last_step.numpy() == 2) >= 2
    for replica in range(2):
        for name in ("steps", "last_step", "step_gap"):
            np.testing.assert_array_equal(outputs[f"estimator_{name}_{replica}"], getattr(estimator, name).numpy(),
                                          err_msg=f"{name} of replica {replica}")


def test_supcon_replicas_find_positives_and_negatives_on_every_replica(runs):
    inputs, outputs = runs
    split = np.cumsum(SIZES)[:-1]
    features = inputs["features_a"], inputs["features_b"]
    gradients = single_device_gradients(
        lambda a, b: supcon(a, b, inputs["labels"], TEMPERATURE), features
    )
    # The replicas' means, weighted by their anchors, make the global mean.
    means = np.array([outputs[f"supcon_{r}"] for r in range(2)])
    reference = reference_supcon(*(f.astype(np.float64) for f in features), inputs["labels"], TEMPERATURE)
    np.testing.assert_allclose(means @ np.array(SIZES) / sum(SIZES), reference, rtol=1e-5)
    for replica in range(2):
        for name, gradient in zip(("a", "b"), gradients):
            np.testing.assert_allclose(outputs[f"supcon_gradient_{name}_{replica}"],
                                       np.split(gradient, split)[replica], rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name", ["barlow", "vicreg", "pair"])
def test_batch_statistics_losses_are_taken_over_every_replicas_rows(runs, name):
    inputs, outputs = runs
    split = np.cumsum(SIZES)[:-1]
    labels = inputs["labels"]
    loss = {"barlow": barlow_twins, "vicreg": vicreg,
            "pair": lambda a, b: pair_margin(a, b, labels)}[name]
    features = inputs["features_a"], inputs["features_b"]
    gradients = single_device_gradients(loss, features)
    as_float64 = [f.astype(np.float64) for f in features]
    if name == "barlow":
        reference = reference_barlow_twins(*as_float64, 5e-3, 1e-5)
    elif name == "vicreg":
        terms = reference_vicreg_terms(*as_float64, 1e-4)
        reference = 25.0 * terms["invariance"] + 25.0 * terms["variance"] + terms["covariance"]
    else:
        reference = reference_pair_margin(*as_float64, labels, 1.0)[0]
    for replica in range(2):
        # Every replica computes the loss of the whole global batch ...
        np.testing.assert_allclose(outputs[f"{name}_{replica}"], reference, rtol=1e-5)
        # ... and its share of it sends each replica the global gradient of its own rows.
        for view, gradient in zip(("a", "b"), gradients):
            np.testing.assert_allclose(outputs[f"{name}_gradient_{view}_{replica}"],
                                       np.split(gradient, split)[replica], rtol=1e-3, atol=1e-6)



def test_a_batch_level_keras_loss_class_returns_each_replicas_share_of_the_global_loss(runs):
    """Keras divides reduced losses by the replica count but leaves scalars alone; PairLoss divides them."""
    inputs, outputs = runs
    reference = reference_barlow_twins(inputs["features_a"].astype(np.float64),
                                       inputs["features_b"].astype(np.float64), 5e-3, 1e-5)
    for replica in range(2):
        np.testing.assert_allclose(outputs[f"barlow_class_{replica}"], reference / 2, rtol=1e-5)
