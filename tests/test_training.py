import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.training import train_encoder, warmup_cosine_adam


@pytest.mark.parametrize("peak, total, fraction", [(1e-2, 1000, 0.1), (3e-3, 37, 0.2), (0.5, 10, 0.0)])
def test_warmup_cosine_rises_linearly_then_decays_on_a_cosine(peak, total, fraction):
    config = warmup_cosine_adam(peak, total, fraction).get_config()["learning_rate"]
    schedule = keras.optimizers.schedules.deserialize(config)
    warmup = int(total * fraction)
    for step in sorted({0, warmup // 2, warmup, (warmup + total) // 2, total - 1, total}):
        if step < warmup:
            expected = peak * step / warmup
        else:
            expected = peak * 0.5 * (1 + np.cos(np.pi * (step - warmup) / max(total - warmup, 1)))
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-4, abs=1e-7)


@pytest.mark.parametrize(
    "arguments, message",
    [((1e-3, 0), "total_steps must be a positive integer"), ((1e-3, 10, 1.0), r"warmup_fraction must be a number in \[0, 1\)"),
     ((float("nan"), 10), "learning_rate must be a positive number, got nan")],
)
def test_bad_schedules_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        warmup_cosine_adam(*arguments)


def small_encoder():
    return kc.encoders.small_cnn((8, 8, 1), widths=(4,))


def test_train_encoder_runs_the_given_epochs(rng):
    images = rng.integers(0, 256, size=(64, 8, 8, 1)).astype("uint8")
    model, history, seconds = train_encoder(
        small_encoder(), kc.methods.SimCLR(), images, kc.augment.simclr(8, channels=1),
        epochs=2, batch_size=16,
    )
    assert int(model.optimizer.iterations.numpy()) == 2 * 64 // 16
    assert len(history.history["loss"]) == 2 and seconds > 0


def test_train_encoder_needs_labels_for_supervised_methods_and_enough_images():
    images = np.zeros((16, 8, 8, 1), "uint8")
    augment = kc.augment.simclr(8, channels=1)
    with pytest.raises(ValueError, match="SupCon needs labels"):
        train_encoder(small_encoder(), kc.methods.SupCon(), images, augment)
    with pytest.raises(ValueError, match="fewer than batch_size=128"):
        train_encoder(small_encoder(), kc.methods.SimCLR(), images, augment)


def test_train_encoder_streams_a_labelled_dataset_of_known_size(rng):
    images = rng.integers(0, 256, size=(48, 8, 8, 1)).astype("uint8")
    dataset = tf.data.Dataset.from_tensor_slices((images, rng.integers(0, 3, size=48)))
    model, history, _ = train_encoder(
        small_encoder(), kc.methods.SupCon(projection_dim=8), dataset, kc.augment.simclr(8, channels=1),
        epochs=1, batch_size=16, validation_examples=dataset.take(16),
    )
    assert int(model.optimizer.iterations.numpy()) == 3 and "val_loss" in history.history
    with pytest.raises(ValueError, match="size is unknown"):
        train_encoder(small_encoder(), kc.methods.SimCLR(), dataset.filter(lambda x, y: True),
                      kc.augment.simclr(8, channels=1), batch_size=16)
    with pytest.raises(ValueError, match="optimizer must be one of 'adam', 'lars'"):
        train_encoder(small_encoder(), kc.methods.SimCLR(), dataset, kc.augment.simclr(8, channels=1), optimizer="sgd")
