import warnings

import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.data.files import from_files
from tests.data.images import HEIGHT
from tests.data.images import WIDTH
from tests.data.images import write_bad_files
from tests.data.images import write_images

LOSSLESS = ["rgb.png", "rgba.png", "palette.bmp", "animated.gif", "gray16.png"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory, module_rng):
    folder = tmp_path_factory.mktemp("files")
    expected = write_images(folder, module_rng)
    return folder, {name: expected[name] for name in LOSSLESS}


def test_yields_the_decoded_images_in_order_with_their_labels(folder):
    root, expected = folder
    paths = [root / name for name in expected]
    dataset = from_files(paths, (HEIGHT, WIDTH), labels=[3, 1, 4, 1, 5], verbose=False)
    assert dataset.element_spec == (tf.TensorSpec((HEIGHT, WIDTH, 3), tf.uint8), tf.TensorSpec((), tf.int64))
    assert int(dataset.cardinality()) == 5
    images, labels = zip(*dataset.as_numpy_iterator())
    np.testing.assert_array_equal(np.stack(images), np.stack(list(expected.values())))
    assert list(labels) == [3, 1, 4, 1, 5]
    assert dataset.file_paths == [str(path) for path in paths] and dataset.skipped_files == []


def test_unreadable_files_are_skipped_counted_and_named_in_one_warning(folder, tmp_path):
    root, expected = folder
    bad = write_bad_files(tmp_path)
    missing = tmp_path / "deleted.png"
    paths = [bad[0], root / "rgb.png", bad[1], missing, root / "rgba.png", bad[2]]
    with pytest.warns(UserWarning, match="Skipped 4 of 6 files") as caught:
        dataset = from_files(paths, 8, labels=[0, 1, 2, 3, 4, 5], verbose=False)
    assert len(caught) == 1
    message = str(caught[0].message)
    for path in (*bad, missing):
        assert str(path) in message
    assert dataset.skipped_files == [str(bad[0]), str(bad[1]), str(missing), str(bad[2])]
    assert dataset.file_paths == [str(root / "rgb.png"), str(root / "rgba.png")]
    assert [int(label) for _, label in dataset] == [1, 4]


def test_more_than_five_bad_files_are_counted_and_the_first_five_named(tmp_path, folder):
    root, _ = folder
    bad = []
    for index in range(7):
        path = tmp_path / f"bad{index}.png"
        path.write_bytes(b"\x89PNG broken")
        bad.append(path)
    with pytest.warns(UserWarning, match="Skipped 7 of 8 files") as caught:
        from_files([*bad, root / "rgb.png"], 8, verbose=False)
    message = str(caught[0].message)
    assert "bad4.png" in message and "bad5.png" not in message and "2 more" in message


def test_no_readable_file_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="None of the 3 files could be read"):
        from_files(write_bad_files(tmp_path), 8, verbose=False)


def test_a_good_set_warns_nothing_and_shows_progress_when_verbose(folder, capsys):
    root, expected = folder
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_files([root / name for name in expected], 8, verbose=True)
    assert "5/5" in capsys.readouterr().out


def test_shuffle_is_seeded_and_keeps_labels_with_their_images(folder):
    root, expected = folder
    paths = [root / name for name in expected]
    first = from_files(paths, 4, labels=range(5), shuffle=True, seed=7, verbose=False)
    second = from_files(paths, 4, labels=range(5), shuffle=True, seed=7, verbose=False)
    assert first.file_paths == second.file_paths and sorted(first.file_paths) != first.file_paths
    labels = [int(label) for _, label in first]
    assert [str(paths[label]) for label in labels] == first.file_paths


def test_batches_one_channel_and_caches_in_memory_or_on_disk(folder, tmp_path):
    root, expected = folder
    paths = [root / name for name in expected]
    batched = from_files(paths, (5, 7), channels=1, batch_size=2, verbose=False)
    assert [tuple(batch.shape) for batch in batched] == [(2, 5, 7, 1), (2, 5, 7, 1), (1, 5, 7, 1)]
    reference = np.concatenate(list(batched.as_numpy_iterator()))
    for cache in ("memory", str(tmp_path / "cache")):
        cached = from_files(paths, (5, 7), channels=1, cache=cache, verbose=False)
        for _ in range(2):
            np.testing.assert_array_equal(np.stack(list(cached.as_numpy_iterator())), reference)
    assert any(path.name.startswith("cache") for path in tmp_path.iterdir())


def test_errors_name_what_was_expected(folder):
    root, _ = folder
    with pytest.raises(ValueError, match="paths is empty"):
        from_files([], 8)
    with pytest.raises(ValueError, match="2 labels for 1 files"):
        from_files([root / "rgb.png"], 8, labels=[0, 1])
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        from_files([root / "rgb.png"], 8, channels=4)
    with pytest.raises(ValueError, match="cache must be None"):
        from_files([root / "rgb.png"], 8, cache=True)
