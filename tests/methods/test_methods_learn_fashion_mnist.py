"""Every method learns on real data: Fashion-MNIST, about 15 CPU-seconds each.

Each method trains a seed-0 `small_cnn` (widths 8-16-32) on the first 2000
training images, halved to 14x14 so that a step costs a quarter as much, and
its encoder's weighted kNN accuracy (k=50, the 2000 images as the index) on
the full 10k-image test split must beat the same architecture at its seed-0
random initialisation by its margin in `MARGINS`. The views are made in
order (`reproducible=True`), so a seed scores the same on every run of a
host. The gaps over the same seed's random init measured on seeds 0 to 2
were 4.3 (NNCLR) to 10.3 points, the methods without negatives the lowest
(SimSiam 4.4, Barlow Twins 4.7, BYOL 4.8 at their worst seed); the margins
sit at about half the smallest gap or below, so a host whose kernels round
differently still passes a method that learns.
SimCLR's encoder also passes a linear probe against the random init, so one
trained encoder serves both checks.

The recipes are this test's own, found for this budget: a step's cost hardly
depends on the batch size here, so the methods without negatives keep small
batches (more steps per epoch) and the gentler crops (0.5) that learn faster
in a short run. The methods benchmark (benchmarks/methods.py) trains longer
at full size.
"""

import keras
import pytest

import keras_contrastive as kc
from keras_contrastive.evaluation import embed, knn_accuracy, linear_probe_accuracy
from tests.fashion_mnist import fashion_mnist, half_size

IMAGES, SIZE, WIDTHS, K = 2000, 14, (8, 16, 32), 50
#: The kNN points each method must gain over the random init (the methods without negatives vary most).
MARGINS = {"simclr": 0.03, "moco": 0.02, "nnclr": 0.02, "byol": 0.015, "simsiam": 0.02, "barlow_twins": 0.02,
           "vicreg": 0.025, "supcon": 0.035, "triplet": 0.05, "pair_margin": 0.04}
#: A 10-epoch probe, which underfits the random-init features: the gaps were 10 to 15 points.
PROBE_MARGIN = 0.05

#: Each method's peak learning rate, batch size, epochs, smallest crop and arguments on this budget.
RECIPES = {
    "simclr": dict(learning_rate=1e-2, batch_size=128, epochs=7, crop_scale=0.5, method=dict(temperature=0.2)),
    "moco": dict(learning_rate=1e-2, batch_size=128, epochs=6, crop_scale=0.5,
                 method=dict(temperature=0.2, queue_size=1024, symmetric=True)),
    "nnclr": dict(learning_rate=1e-2, batch_size=128, epochs=6, crop_scale=0.5,
                  method=dict(temperature=0.1, support_set_size=2048, projection_dim=128)),
    "byol": dict(learning_rate=3e-3, batch_size=32, epochs=5, crop_scale=0.5,
                 method=dict(momentum=0.9, predictor_learning_rate_multiplier=10.0)),
    "simsiam": dict(learning_rate=3e-3, batch_size=64, epochs=9, crop_scale=0.5,
                    method=dict(predictor_learning_rate_multiplier=10.0, projection_dim=128)),
    "barlow_twins": dict(learning_rate=6e-3, batch_size=64, epochs=7, crop_scale=0.5,
                         method=dict(projection_dim=256, num_layers=2)),
    "vicreg": dict(learning_rate=5e-3, batch_size=128, epochs=6, crop_scale=0.5,
                   method=dict(projection_dim=128, variance_weight=50.0)),
    "supcon": dict(learning_rate=1e-2, batch_size=128, epochs=4, crop_scale=0.3, method=dict(temperature=0.2)),
    "triplet": dict(learning_rate=5e-3, batch_size=64, epochs=3, crop_scale=0.3,
                    method=dict(margin=0.2, mining="semi_hard")),
    "pair_margin": dict(learning_rate=1e-2, batch_size=128, epochs=3, crop_scale=0.3, method=dict(margin=1.0)),
}


@pytest.fixture(scope="module")
def data():
    (images, labels), (test_images, test_labels) = fashion_mnist("train"), fashion_mnist("test")
    return (half_size(images[:IMAGES]), labels[:IMAGES]), (half_size(test_images), test_labels)


def seed_0_encoder():
    keras.utils.set_random_seed(0)
    return kc.encoders.small_cnn((SIZE, SIZE, 1), widths=WIDTHS)


def features(encoder, data):
    (images, labels), (test_images, test_labels) = data
    return embed(encoder, images), labels, embed(encoder, test_images), test_labels


@pytest.fixture(scope="module")
def random_init(data):
    """The seed-0 encoder untrained: its kNN and linear-probe accuracy."""
    train_features, labels, test_features, test_labels = features(seed_0_encoder(), data)
    return {
        "knn": knn_accuracy(train_features, labels, test_features, test_labels, k=K),
        "probe": linear_probe_accuracy(train_features, labels, test_features, test_labels, epochs=10),
    }


@pytest.fixture(scope="module")
def trained(data):
    """Trains each method once, on demand; SimCLR's encoder serves two tests."""
    encoders = {}

    def train(name):
        if name not in encoders:
            recipe = RECIPES[name]
            (images, labels), _ = data
            encoder = seed_0_encoder()
            method = kc.methods.METHODS[name](**recipe["method"])
            _, history, seconds = kc.training.train_encoder(
                encoder, method, images,
                kc.augment.simclr(SIZE, channels=1, crop_scale=(recipe["crop_scale"], 1.0), seed=0),
                labels=labels, epochs=recipe["epochs"], batch_size=recipe["batch_size"],
                learning_rate=recipe["learning_rate"], seed=0, reproducible=True,
            )
            encoders[name] = (encoder, method, history.history, seconds)
        return encoders[name]

    return train


#: Methods whose learning test is on text: SimCSE's is tests/methods/test_simcse_learns_wordnet.py.
TEXT_METHODS = {"simcse"}
#: Methods made for two towers of different kinds (images and captions), whose learning test is on such pairs.
TWO_MODALITY_METHODS = {"clip"}
#: Methods of users and items (ids), whose learning test is on interactions: tests/methods/test_in_batch_softmax.py.
RECOMMENDATION_METHODS = {"in_batch_softmax"}


def test_the_recipes_cover_every_method():
    assert set(RECIPES) == set(MARGINS) == (set(kc.methods.METHODS) - TEXT_METHODS - TWO_MODALITY_METHODS
                                            - RECOMMENDATION_METHODS)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_method_beats_random_init_knn(name, data, random_init, trained):
    encoder, method, history, seconds = trained(name)
    if "embedding_std" in history:
        # Not collapsed: spread unit vectors in d dimensions give about 1 / sqrt(d).
        assert history["embedding_std"][-1] > 0.25 / method.projection_dim**0.5
    accuracy = knn_accuracy(*features(encoder, data), k=K)
    print(f"{name}: kNN {accuracy:.4f} vs random-init {random_init['knn']:.4f} after {seconds:.0f} s")
    assert accuracy >= random_init["knn"] + MARGINS[name]


def test_simclr_beats_random_init_on_a_linear_probe(data, random_init, trained):
    encoder, _, history, _ = trained("simclr")
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    accuracy = linear_probe_accuracy(*features(encoder, data), epochs=10)
    print(f"simclr: linear probe {accuracy:.4f} vs random-init {random_init['probe']:.4f}")
    assert accuracy >= random_init["probe"] + PROBE_MARGIN
