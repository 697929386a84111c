"""The methods' `block_size`, the chunking interface (`forward`, `loss_from_outputs`) and the projector option."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.methods import METHODS
from tests.methods.test_methods import BATCH, SMALL, batch

BLOCKWISE = {  # the methods whose loss takes a block_size, with the settings the test builds them with
    "simclr": dict(projection_dim=8),
    "supcon": dict(projection_dim=8),
    "moco": dict(SMALL["moco"]),
    "moco_symmetric": dict(SMALL["moco"], symmetric=True),
    "nnclr": dict(SMALL["nnclr"]),
    "in_batch_softmax": dict(SMALL["in_batch_softmax"], remove_accidental_hits=False),  # labels as item ids
}
CHUNKING = {"simclr", "supcon", "triplet", "pair_margin", "clip"}


def build(name: str, **kwargs) -> kc.ContrastiveModel:
    encoder = kc.encoders.small_cnn((12, 12, 1), widths=(4, 8))
    return kc.ContrastiveModel(encoder, METHODS[name.replace("_symmetric", "")](**BLOCKWISE[name], **kwargs))


@pytest.mark.parametrize("name", sorted(BLOCKWISE))
def test_block_size_gives_the_full_losses_loss_and_metrics_and_round_trips(name, rng):
    full = build(name)
    blockwise = build(name, block_size=3)  # divides neither the batch nor the queue
    blockwise.set_weights(full.get_weights())
    assert blockwise.method.block_size == 3 and full.method.block_size is None
    view_a, view_b, labels = batch(rng)
    expected = full.method.compute_loss_and_metrics(full.towers, view_a, view_b, labels, training=False)
    got = blockwise.method.compute_loss_and_metrics(blockwise.towers, view_a, view_b, labels, training=False)
    for metric in ("loss", *full.method.metric_names):
        # A random-init encoder embeds random images almost alike, so an anchor's two best candidates can tie to
        # float32 rounding, which blocks and the full matrix sum in other orders: one anchor's hit may flip.
        one_anchor = 1.0 / (2 * BATCH) + 1e-6 if metric.endswith("accuracy") else 0.0
        np.testing.assert_allclose(float(got[metric]), float(expected[metric]), rtol=1e-5, atol=one_anchor,
                                   err_msg=metric)
    config = blockwise.method.get_config()
    assert config["block_size"] == 3
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(blockwise.method))
    assert again.block_size == 3 and again.get_config() == config


@pytest.mark.parametrize("name", sorted(BLOCKWISE))
def test_block_size_that_is_not_a_positive_integer_is_refused(name):
    cls = METHODS[name.replace("_symmetric", "")]
    for block_size in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="block_size must be a positive integer"):
            cls(block_size=block_size)


def test_the_methods_that_support_chunking_are_those_with_forward_and_loss_from_outputs():
    assert {name for name, cls in METHODS.items() if cls.supports_chunking()} == CHUNKING
    assert not kc.methods.Method.supports_chunking()


@pytest.mark.parametrize("name", ["simclr", "supcon"])
def test_compute_loss_and_metrics_is_loss_from_outputs_of_forward(name, rng):
    model = build(name)
    view_a, view_b, labels = batch(rng)
    outputs = model.method.forward(model.towers, view_a, view_b, training=False)
    assert [tuple(o.shape) for o in outputs] == [(BATCH, 8), (BATCH, 8)]
    composed = model.method.loss_from_outputs(outputs, labels)
    direct = model.method.compute_loss_and_metrics(model.towers, view_a, view_b, labels, training=False)
    assert set(composed) == set(direct) == {"loss", *model.method.metric_names}
    for key in direct:
        np.testing.assert_allclose(float(composed[key]), float(direct[key]), rtol=1e-6)


def test_a_method_with_neither_interface_says_what_to_implement():
    class Bare(kc.methods.Method):
        pass

    with pytest.raises(NotImplementedError, match="compute_loss_and_metrics, or forward and loss_from_outputs"):
        Bare().compute_loss_and_metrics(None, tf.ones((2, 1)), tf.ones((2, 1)))


def has_batch_norm(model: kc.ContrastiveModel) -> bool:
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.method.projectors[0].blocks)


@pytest.mark.parametrize("name", ["simclr", "supcon"])
def test_projector_batch_norm_option_builds_a_head_without_batch_norm_and_round_trips(name):
    default = build(name)
    assert has_batch_norm(default) and default.method.get_config()["projector_batch_norm"] is True
    model = build(name, projector_batch_norm=False)
    assert not has_batch_norm(model)
    config = model.method.get_config()
    assert config["projector_batch_norm"] is False
    assert type(model.method).from_config(config).projector_batch_norm is False
    assert build("moco").method.get_config()["projector_batch_norm"] is False  # MoCo's own choice, recorded
