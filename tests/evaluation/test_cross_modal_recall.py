"""cross_modal_recall: both directions against NumPy, identical captions counted as one, and its refusals."""

import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.evaluation import cross_modal_recall
from tests.evaluation.test_zero_shot import DIM, as_images, two_tower_model, unit

DISTINCT = [f"caption {i}" for i in range(12)]


@pytest.fixture(scope="module")
def model_and_vectors(module_rng):
    vectors = module_rng.normal(size=(len(DISTINCT), DIM)) * module_rng.uniform(0.2, 5.0, size=(len(DISTINCT), 1))
    return two_tower_model(DISTINCT, vectors), vectors


def reference(images, captions, vectors, k):
    """Image to text over the distinct captions; text to image from each distinct caption, any of its images a hit."""
    caption_ids = np.array([DISTINCT.index(caption) for caption in captions])
    present = np.unique(caption_ids)
    similarity = unit(images) @ unit(vectors[present]).T  # (images, distinct captions present)
    nearest_captions = present[np.argsort(-similarity, axis=1, kind="stable")[:, :k]]
    image_to_text = np.mean([caption_ids[i] in nearest_captions[i] for i in range(len(images))])
    nearest_images = np.argsort(-similarity.T, axis=1, kind="stable")[:, :k]
    text_to_image = np.mean([np.any(caption_ids[row] == j) for row, j in zip(nearest_images, present)])
    return image_to_text, text_to_image


def test_both_directions_match_a_brute_force_ranking_with_repeated_captions(model_and_vectors, rng):
    model, vectors = model_and_vectors
    caption_ids = np.concatenate([np.arange(10), rng.integers(0, 10, size=30)])  # 10 distinct texts, 40 pairs
    captions = [DISTINCT[i] for i in caption_ids]
    images = vectors[caption_ids] + rng.normal(scale=2.0, size=(40, DIM))  # near their caption, not on it
    got = cross_modal_recall(model, as_images(images), captions, ks=(1, 3, 5))
    assert set(got) == {"image_to_text", "text_to_image"}
    for direction in got.values():
        assert list(direction) == [1, 3, 5] and all(isinstance(k, int) for k in direction)
    for k in (1, 3, 5):
        image_to_text, text_to_image = reference(images, captions, vectors, k)
        assert got["image_to_text"][k] == pytest.approx(image_to_text)
        assert got["text_to_image"][k] == pytest.approx(text_to_image)


def test_a_caption_finds_any_image_of_its_text_and_is_ranked_once(model_and_vectors):
    model, vectors = model_and_vectors
    a, b = unit(vectors[0]), unit(vectors[1])
    # "caption 0" twice: its first image points away from it, its second onto it; one image of "caption 1".
    images = np.stack([-a, a, b])
    captions = [DISTINCT[0], DISTINCT[0], DISTINCT[1]]
    got = cross_modal_recall(model, as_images(images), captions, ks=(1, 2))
    # Text to image: each distinct caption's nearest image has its text (the second "caption 0" for caption 0).
    assert got["text_to_image"] == {1: 1.0, 2: 1.0}
    # Image to text: two candidates, not three; the first image (cosine -1 with its caption) finds it second.
    assert got["image_to_text"] == {1: pytest.approx(2 / 3), 2: 1.0}
    with pytest.raises(ValueError, match="between 1 and the 2 distinct captions"):
        cross_modal_recall(model, as_images(images), captions, ks=(3,))


def test_aligned_pairs_from_a_dataset_and_bytes_captions_score_one(model_and_vectors):
    model, vectors = model_and_vectors
    images = tf.data.Dataset.from_tensor_slices(as_images(vectors * 2.0))
    captions = [caption.encode() for caption in DISTINCT]  # as tf.data's as_numpy_iterator gives them
    got = cross_modal_recall(model, images, captions, ks=5)
    assert got == {"image_to_text": {5: 1.0}, "text_to_image": {5: 1.0}}
    perfect = cross_modal_recall(model, images.batch(5), tf.constant(DISTINCT), ks=(1, 10))
    assert perfect == {"image_to_text": {1: 1.0, 10: 1.0}, "text_to_image": {1: 1.0, 10: 1.0}}


def test_refuses_mismatched_pairs_bad_captions_and_ks(model_and_vectors):
    model, vectors = model_and_vectors
    images, captions = as_images(vectors), list(DISTINCT)
    with pytest.raises(ValueError, match="got 11 images and 12 captions"):
        cross_modal_recall(model, images[:11], captions)
    with pytest.raises(ValueError, match=r"captions\[2\] is int"):
        cross_modal_recall(model, images[:3], ["a", "b", 3])
    with pytest.raises(ValueError, match="sequence of strings, one per image"):
        cross_modal_recall(model, images[:1], "caption 0")
    with pytest.raises(ValueError, match="no pairs"):
        cross_modal_recall(model, images[:0], [])
    for ks in ((0,), (13,), (1.5,)):
        with pytest.raises(ValueError, match="between 1 and the 12 distinct captions"):
            cross_modal_recall(model, images, captions, ks=ks)
    with pytest.raises(ValueError, match="at least one k"):
        cross_modal_recall(model, images, captions, ks=())
    with pytest.raises(ValueError, match="images alone"):
        cross_modal_recall(model, tf.data.Dataset.from_tensor_slices((images, captions)), captions)


def test_an_embedding_of_zeros_is_similar_to_nothing():
    # Caption "c" embeds to zeros, and so does the second image (a blank picture through a random-init ReLU tower).
    texts = ["a", "b", "c"]
    model = two_tower_model(texts, np.array([[1.0, 0.0], [-1.0, 0.2], [0.0, 0.0]]), dim=2)
    images = np.array([[-1.0, -0.5], [0.0, 0.0], [0.5, 1.0]])
    got = cross_modal_recall(model, as_images(images), texts, ks=(1, 2, 3))
    # Cosines (images x captions): [[-0.89, 0.79, 0], [0, 0, 0], [0.45, -0.26, 0]]; ties rank the lower row first.
    # Image to text: image 0 ranks b, c, a (its "a" third); image 1 (ties) a, b, c; image 2 a, c, b ("c" second).
    assert got["image_to_text"] == {1: 0.0, 2: pytest.approx(2 / 3), 3: 1.0}
    # Text to image: a ranks images 2, 1, 0; b ranks 0, 1, 2 (its image 1 second); c (ties) 0, 1, 2.
    assert got["text_to_image"] == {1: 0.0, 2: pytest.approx(1 / 3), 3: 1.0}
