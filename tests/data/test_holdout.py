import numpy as np
import pytest

from keras_contrastive.data import holdout_split


def test_each_class_is_held_out_in_proportion_and_the_parts_cover_every_index_once(rng):
    sizes = [40, 10, 3, 2, 1]
    labels = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    train, test = holdout_split(len(labels), 0.25, labels, seed=int(rng.integers(1000)))
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(labels)))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    held_out = np.bincount(labels[test], minlength=len(sizes))
    # round(0.25 n), at least one of a class of two or more, never a whole class.
    assert held_out.tolist() == [10, 2, 1, 1, 0]


def test_the_same_seed_gives_the_same_split_and_another_seed_another(rng):
    labels = rng.integers(0, 3, 60)
    first, again, other = (holdout_split(60, 0.2, labels, seed=s)[1] for s in (5, 5, 6))
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_without_labels_the_fraction_is_of_the_whole():
    train, test = holdout_split(10, 0.3)
    assert len(test) == 3 and len(train) == 7


@pytest.mark.parametrize("arguments, message", [
    ((10, 0.0), "above 0"), ((10, 1.0), "test_fraction"), ((1, 0.5), "at least 2"),
    ((5, 0.5, np.zeros(4)), "4 entries for 5"), ((5, 0.2, np.arange(5)), "holds out no example"),
])
def test_bad_arguments_are_refused_by_name(arguments, message):
    with pytest.raises(ValueError, match=message):
        holdout_split(*arguments)
