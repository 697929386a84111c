import keras
import numpy as np
import pytest

import keras_contrastive as kc
from keras_contrastive.export import export_embedder, export_search
from keras_contrastive.retrieval import ServedSearch


@pytest.fixture(scope="module")
def exported(module_rng, tmp_path_factory):
    keras.utils.set_random_seed(int(module_rng.integers(2**31)))
    model = kc.ContrastiveModel(kc.encoders.small_cnn((10, 10, 3), widths=(8,)), kc.methods.SimCLR())
    images = module_rng.integers(0, 256, size=(20, 10, 10, 3)).astype("uint8")
    ids = [f"dir/é{i}.png" for i in range(20)]  # non-ASCII ids come back as the same str
    base = tmp_path_factory.mktemp("served")
    version = export_search(model, base / "search", images, ids, k=4, verbose=False)
    return model, images, np.array(ids, object), version, export_embedder(model, base / "embedder")


def test_the_answers_are_numpy_brute_force_over_the_models_embeddings(exported, rng):
    model, images, ids, version, _ = exported
    search = ServedSearch(version)
    assert search.image_shape == (10, 10, 3) and search.k == 4
    queries = rng.integers(0, 256, size=(3, 10, 10, 3)).astype("uint8")
    found, scores = search(queries)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    similarity = unit(model.predict(queries, verbose=0).astype(np.float64)) @ unit(
        model.predict(images, verbose=0).astype(np.float64)).T
    best = np.argsort(-similarity, axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(found, ids[best])
    np.testing.assert_allclose(scores, np.take_along_axis(similarity, best, axis=1), atol=1e-5)


def test_what_is_not_a_search_export_or_not_its_input_is_refused(exported, tmp_path):
    _, images, _, version, embedder = exported
    with pytest.raises(ValueError, match="not a SavedModel version directory"):
        ServedSearch(tmp_path)
    with pytest.raises(ValueError, match="no search signature"):
        ServedSearch(embedder)
    search = ServedSearch(version)
    with pytest.raises(ValueError, match=r"uint8 queries of shape \(Q, 10, 10, 3\), got float32"):
        search(images.astype("float32"))
    with pytest.raises(ValueError, match=r"got uint8 \(2, 10, 10, 1\)"):
        search(images[:2, ..., :1])
