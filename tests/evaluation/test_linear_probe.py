import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.evaluation import embed, linear_probe, linear_probe_accuracy


def test_learns_linearly_separable_classes_and_not_noise(rng, seed):
    directions = rng.normal(size=(3, 20))
    labels = rng.integers(0, 3, 900)
    features = directions[labels] * 3 + rng.normal(size=(900, 20))
    separable = linear_probe_accuracy(features[:600], labels[:600], features[600:], labels[600:], epochs=60,
                                      seed=seed)
    noise = rng.normal(size=(900, 20))
    chance = linear_probe_accuracy(noise[:600], labels[:600], noise[600:], labels[600:], epochs=60, seed=seed)
    assert separable > 0.95
    assert chance < 0.5


def test_mismatched_counts_are_refused():
    with pytest.raises(ValueError, match="5 training features and 4 labels"):
        linear_probe_accuracy(np.ones((5, 2)), np.zeros(4), np.ones((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="differ in width"):
        linear_probe_accuracy(np.ones((5, 2)), np.zeros(5), np.ones((3, 4)), np.zeros(3))


def pixel_encoder(shape):
    """An encoder whose features are the raw pixels."""
    return keras.Sequential([keras.Input(shape), keras.layers.Flatten()])


def test_linear_probe_on_a_trained_encoder_beats_a_random_init_one():
    # A fixed seed, deliberately: the 0.03 margin was calibrated on seed 0 (0.975 vs 0.900); over
    # other seeds the random-init baseline moves between 0.90 and 0.93 and the margin down to 0.031.
    seed = 0

    def encoder():
        keras.utils.set_random_seed(seed)  # the same initial weights for both
        return kc.encoders.small_cnn((8, 8, 1), widths=(32, 64))

    random_init = encoder()
    model = kc.ContrastiveModel(encoder(), kc.methods.SimCLR(projection_dim=64, temperature=0.2))
    model.compile(optimizer=keras.optimizers.Adam(8e-3))
    augment = kc.augment.simclr(8, channels=1, crop_scale=(0.5, 1.0), horizontal_flip=False, seed=seed)
    model.fit(kc.data.make_views(kc.data.load("digits", with_labels=False), augment, batch_size=128, seed=seed),
              epochs=8, verbose=0)
    train, test = kc.data.load("digits", "train"), kc.data.load("digits", "test")
    trained = linear_probe(model.encoder, train, test, epochs=20, seed=seed)
    baseline = linear_probe(random_init, train, test, epochs=20, seed=seed)
    assert trained > baseline + 0.03, (trained, baseline)  # measured 0.975 vs 0.900


def test_linear_probe_is_linear_probe_accuracy_on_the_frozen_encoders_features(seed):
    images, labels = kc.data.load_numpy("digits", "train[:300]")
    test_images, test_labels = kc.data.load_numpy("digits", "test")
    encoder = kc.encoders.small_cnn((8, 8, 1), widths=(8, 16))
    weights = [w.copy() for w in encoder.get_weights()]
    batched = tf.data.Dataset.from_tensor_slices((images, labels)).batch(64)
    got = linear_probe(encoder, batched, (test_images, test_labels), epochs=3, seed=seed)
    expected = linear_probe_accuracy(embed(encoder, images), labels, embed(encoder, test_images), test_labels,
                                     epochs=3, seed=seed)
    assert got == expected
    for before, after in zip(weights, encoder.get_weights()):
        np.testing.assert_array_equal(before, after)  # frozen, batch-norm statistics included


def test_horizontal_flip_trains_on_mirror_images(rng, seed):
    # Class = whether a bright pixel is in the top or bottom half. Training pixels are all in
    # the left half and test pixels in the right half: only the mirrored copies cover them.

    def spots(count, columns):
        labels = rng.integers(0, 2, count)
        images = np.zeros((count, 8, 8, 1), np.uint8)
        images[np.arange(count), labels * 4 + rng.integers(0, 4, count), rng.choice(columns, count)] = 255
        return images, labels

    train, test = spots(600, [0, 1, 2, 3]), spots(300, [4, 5, 6, 7])
    encoder = pixel_encoder((8, 8, 1))
    assert linear_probe(encoder, train, test, epochs=30, horizontal_flip=True, seed=seed) > 0.95
    assert linear_probe(encoder, train, test, epochs=30, seed=seed) < 0.9


def test_unlabelled_dataset_is_refused():
    images = np.zeros((4, 8, 8, 1), np.uint8)
    with pytest.raises(ValueError, match=r"\(image, label\) pairs"):
        linear_probe(pixel_encoder((8, 8, 1)), tf.data.Dataset.from_tensor_slices(images), (images, np.zeros(4)))
    with pytest.raises(ValueError, match="4 images and 3 labels"):
        linear_probe(pixel_encoder((8, 8, 1)), (images, np.zeros(3)), (images, np.zeros(4)))
