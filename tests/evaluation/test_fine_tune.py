import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.evaluation import class_balanced_subset, classifier, fine_tune, linear_probe


@pytest.fixture(scope="module")
def digits():
    return kc.data.load_numpy("digits", "train"), kc.data.load_numpy("digits", "test")


def test_the_subset_keeps_the_same_share_of_each_class_and_at_least_one():
    labels = np.repeat([2, 0, 3, 1], [50, 30, 7, 1])
    subset = class_balanced_subset(labels, 0.1, seed=3)
    np.testing.assert_array_equal(np.bincount(labels[subset]), [3, 1, 5, 1])  # 30, 1, 50 and 7 examples
    assert len(np.unique(subset)) == len(subset) and np.all(np.diff(subset) > 0)
    np.testing.assert_array_equal(subset, class_balanced_subset(labels, 0.1, seed=3))
    assert not np.array_equal(subset, class_balanced_subset(labels, 0.1, seed=4))
    np.testing.assert_array_equal(class_balanced_subset(labels, 1.0), np.arange(len(labels)))
    assert np.bincount(labels[class_balanced_subset(labels, 0.25)]).tolist() == [8, 1, 13, 2]  # 7.5 rounds up


def test_fine_tuning_trains_the_whole_encoder_on_real_digits_and_leaves_the_callers_alone(digits, seed):
    (images, labels), test = digits
    encoder = kc.encoders.small_cnn((8, 8, 1), widths=(16, 32))
    weights = [w.copy() for w in encoder.get_weights()]
    train = tf.data.Dataset.from_tensor_slices((images, labels)).batch(100)
    result = fine_tune(encoder, train, tf.data.Dataset.from_tensor_slices(test), label_fraction=0.1, epochs=20,
                       learning_rate=3e-3, batch_size=32, seed=seed)
    subset = class_balanced_subset(labels, 0.1, seed=seed)
    assert result["examples_per_class"] == np.bincount(labels[subset]).tolist()
    assert result["labelled_examples"] == len(subset) == 145 and result["label_fraction"] == 0.1
    for before, after in zip(weights, encoder.get_weights()):
        np.testing.assert_array_equal(before, after)
    # The same random-init encoder, frozen, with a linear head trained on the same labels.
    frozen = linear_probe(encoder, (images[subset], labels[subset]), test, epochs=30, seed=seed)
    assert result["accuracy"] > 0.9 and result["accuracy"] > frozen + 0.1, (result, frozen)  # ~0.97 vs ~0.75


def test_a_pretrained_encoder_beats_the_same_fine_tune_from_random_init_and_the_head_first_keeps_its_features(digits):
    # A fixed seed, deliberately: with one label per class the accuracies move by 0.1 between seeds.
    seed = 1
    (images, labels), test = digits
    keras.utils.set_random_seed(seed)
    encoder = kc.encoders.small_cnn((8, 8, 1), widths=(16, 32))
    pretraining = classifier(encoder, 10)
    pretraining.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=False)
    pretraining.fit(images, labels, epochs=3, batch_size=64, verbose=0)
    result = fine_tune(encoder, (images, labels), test, label_fraction=0.01, epochs=100, batch_size=10,
                       seed=seed, compare_random_init=True)
    assert result["examples_per_class"] == [1] * 10
    assert result["accuracy"] > result["random_init_accuracy"] + 0.1, result
    # Without the head trained first, the random head pulls the pretrained features apart.
    joint = fine_tune(encoder, (images, labels), test, label_fraction=0.01, epochs=100, batch_size=10,
                      seed=seed, head_epochs=0)
    assert result["accuracy"] > joint["accuracy"] + 0.04, (result, joint)  # 0.74 against 0.68 here
    assert result["random_init_accuracy"] > 0.25  # chance is 0.1: the baseline learns too
    # The baseline is the fine-tune of the architecture initialised afresh with the same seed.
    keras.utils.set_random_seed(seed)
    fresh = kc.encoders.small_cnn((8, 8, 1), widths=(16, 32))
    alone = fine_tune(fresh, tf.data.Dataset.from_tensor_slices((images, labels)), test, label_fraction=0.01,
                      epochs=100, batch_size=10, seed=seed)
    assert alone["accuracy"] == result["random_init_accuracy"]


@pytest.mark.parametrize(
    "train, test, arguments, message",
    [
        ((np.zeros((4, 8, 8, 1)), np.arange(4)), None, {"label_fraction": 0.0}, r"label_fraction must be a number in \(0, 1\]"),
        ((np.zeros((4, 8, 8, 1)), np.arange(4)), None, {"label_fraction": 1.5}, r"label_fraction must be a number in \[0, 1\]"),
        ((np.zeros((4, 8, 8, 1)), np.array([0.0, 1.0, 0.5, 1.0])), None, {}, "integer class labels in labelled_train"),
        (tf.data.Dataset.from_tensor_slices((np.zeros((4, 8, 8, 1)), np.zeros(4, np.float32))), None, {},
         "integer class labels in labelled_train, got labels of dtype float32"),
        ((np.zeros((4, 8, 8, 1)), np.arange(4)), (np.zeros((2, 8, 8, 1)), np.array([0.5, 1.0])), {},
         "integer class labels in test"),
        ((np.zeros((3, 8, 8, 1)), np.array([0, 2, 2])), None, {}, r"none of class\(es\) \[1\]"),
        ((np.zeros((3, 8, 8, 1)), np.array([0, 1, 2])), None, {"num_classes": 5},
         r"3 labelled examples have none of class\(es\) \[3, 4\]"),
    ],
)
def test_bad_arguments_are_refused_before_training(train, test, arguments, message):
    test = test or (np.zeros((2, 8, 8, 1)), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match=message):
        fine_tune(kc.encoders.small_cnn((8, 8, 1), widths=(4,)), train, test, **arguments)


def test_test_labels_outside_the_training_classes_are_refused():
    train = (np.zeros((4, 8, 8, 1), np.uint8), np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="test labels run from 0 to 3, outside the 2 classes"):
        fine_tune(kc.encoders.small_cnn((8, 8, 1), widths=(4,)), train, (np.zeros((2, 8, 8, 1)), np.array([0, 3])),
                  label_fraction=1.0, epochs=1)
