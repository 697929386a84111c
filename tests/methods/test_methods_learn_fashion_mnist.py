"""Every method learns: on real Fashion-MNIST, within a small CPU budget (about
a minute each on 2 cores), its encoder's kNN accuracy beats the same encoder
at its random initialisation.

Random-init CNN features are a strong kNN baseline here (0.706 for this
seed), so a method passes only by a clear margin on the full 10k-image test
split (about 0.5 points of standard error). The recipes are the methods
benchmark's, on a slightly smaller budget. The views are made in order
(`reproducible=True`): with parallel augmentation the same seed scored up to
1.5 points apart from run to run, which a margin of 1.5 points cannot absorb.
"""

import keras
import pytest

import keras_contrastive as kc
from keras_contrastive.evaluation import embed, knn_accuracy
from benchmarks.methods import RECIPES  # each method's learning rate, batch, crop, arguments
from tests.fashion_mnist import fashion_mnist

IMAGES, EPOCHS = 6000, 8  # every method sees the same 48k views; the benchmark runs 10 epochs
MARGIN = 0.015


@pytest.fixture(scope="module")
def data():
    (images, labels), test = fashion_mnist("train"), fashion_mnist("test")
    return (images[:IMAGES], labels[:IMAGES]), test


def encoder():
    return kc.encoders.small_cnn((28, 28, 1), widths=(16, 32, 64))


def knn(network, data):
    (images, labels), (test_images, test_labels) = data
    return knn_accuracy(embed(network, images), labels, embed(network, test_images), test_labels)


@pytest.fixture(scope="module")
def random_init_knn(data):
    keras.utils.set_random_seed(0)
    return knn(encoder(), data)


def test_the_recipes_cover_every_method():
    assert set(RECIPES) == set(kc.methods.METHODS)


def train(name, images, labels):
    """Trains a seed-0 encoder with the method's recipe."""
    recipe = RECIPES[name]
    keras.utils.set_random_seed(0)
    trained_encoder = encoder()
    model, history, seconds = kc.training.train_encoder(
        trained_encoder,
        kc.methods.METHODS[name](**recipe["method"]),
        images,
        kc.augment.simclr(28, channels=1, crop_scale=(recipe["crop_scale"], 1.0), seed=0),
        labels=labels,
        epochs=EPOCHS,
        batch_size=recipe["batch_size"],
        learning_rate=recipe["learning_rate"],
        reproducible=True,
    )
    if "embedding_std" in history.history:
        # Not collapsed: spread unit vectors in d dimensions give about 1 / sqrt(d).
        assert history.history["embedding_std"][-1] > 0.25 / model.method.projection_dim**0.5
    return trained_encoder, seconds


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_method_beats_random_init_knn(name, data, random_init_knn):
    (images, labels), _ = data
    trained_encoder, seconds = train(name, images, labels)
    trained = knn(trained_encoder, data)
    print(f"{name}: kNN {trained:.4f} vs random-init {random_init_knn:.4f} after {seconds:.0f} s")
    assert trained >= random_init_knn + MARGIN
