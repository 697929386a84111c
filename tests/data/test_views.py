import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.augment import simclr
from keras_contrastive.data.views import make_views


def images_dataset(count=40, labels=False):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(count, 16, 16, 1)).astype("uint8")
    if labels:
        return tf.data.Dataset.from_tensor_slices((images, rng.integers(0, 10, count)))
    return tf.data.Dataset.from_tensor_slices(images)


def test_yields_full_batches_of_two_different_views():
    views = make_views(images_dataset(), simclr(16, channels=1), batch_size=8)
    batches = list(views)
    assert len(batches) == 5
    for view_a, view_b in batches:
        assert view_a.shape == view_b.shape == (8, 16, 16, 1)
        assert np.all(tf.reduce_mean(tf.abs(view_a - view_b), axis=[1, 2, 3]).numpy() > 0)


def test_a_reproducible_seeded_pipeline_makes_the_same_views_every_time():
    def two_epochs():
        augment = simclr(16, channels=1, seed=3)
        views = make_views(images_dataset(), augment, batch_size=8, seed=5, reproducible=True)
        return [np.concatenate([np.stack(pair) for pair in views.as_numpy_iterator()]) for _ in range(2)]

    first, again = two_epochs(), two_epochs()
    for epoch in range(2):
        np.testing.assert_array_equal(first[epoch], again[epoch])
    assert not np.array_equal(first[0], first[1])  # still new views every epoch


def test_labels_are_passed_along_with_their_images():
    dataset = images_dataset(labels=True)
    views = make_views(dataset, lambda batch: tf.cast(batch, tf.float32), batch_size=8, shuffle_buffer=64)
    label_of = {bytes(np.asarray(img)): int(lbl) for img, lbl in dataset.as_numpy_iterator()}
    seen = 0
    for view_a, view_b, labels in views.as_numpy_iterator():
        for image, label in zip(view_a.astype("uint8"), labels):
            assert label_of[bytes(image)] == label
            seen += 1
    assert seen == 40


def test_last_partial_batch_kept_when_asked():
    views = make_views(images_dataset(20), simclr(16, channels=1), batch_size=8, drop_remainder=False)
    assert [int(a.shape[0]) for a, _ in views] == [8, 8, 4]


@pytest.mark.parametrize("batch_size", [1, 0, 2.5])
def test_batch_size_below_two_is_refused(batch_size):
    with pytest.raises(ValueError, match="batch_size .* must be an integer of at least 2"):
        make_views(images_dataset(), simclr(16, channels=1), batch_size=batch_size)


def test_dataset_smaller_than_a_batch_is_refused():
    with pytest.raises(ValueError, match="fewer than batch_size=64"):
        make_views(images_dataset(40), simclr(16, channels=1), batch_size=64)


def test_batched_images_are_refused_by_the_augmentation_saying_to_unbatch():
    with pytest.raises(ValueError, match="unbatch it first"):
        make_views(images_dataset().batch(4), simclr(16, channels=1), batch_size=8)


def test_a_dataset_of_dicts_says_how_to_make_pairs():
    dicts = images_dataset().map(lambda image: {"image": image, "label": 0})
    with pytest.raises(ValueError, match="as_supervised=True"):
        make_views(dicts, simclr(16, channels=1), batch_size=8)


def test_any_kind_of_example_makes_views(seed):
    ids = tf.data.Dataset.from_tensor_slices(tf.reshape(tf.range(64 * 6), (64, 6)))
    mask = lambda batch: tf.where(tf.random.uniform(tf.shape(batch)) < 0.5, 0, batch)  # noqa: E731
    view_a, view_b = next(iter(make_views(ids, mask, batch_size=8)))
    assert view_a.shape == view_b.shape == (8, 6) and view_a.dtype == tf.int32


def test_a_last_batch_of_one_is_refused_before_training():
    with pytest.raises(ValueError, match="its last batch would hold a single example"):
        make_views(images_dataset(65), simclr(16, channels=1), batch_size=8, drop_remainder=False)
