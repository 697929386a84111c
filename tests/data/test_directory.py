import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import keras_contrastive as kc
from keras_contrastive.data.directory import from_directory
from tests.data.images import HEIGHT
from tests.data.images import WIDTH
from tests.data.images import write_bad_files
from tests.data.images import write_images

OPENCLIPART = Path("/usr/share/openclipart/png")
OPENCLIPART_CLASSES = ["animals", "food", "transportation"]
FILES_PER_CLASS = 14


@pytest.fixture(scope="module")
def tree(tmp_path_factory, module_rng):
    """Two classes, every format and mode spread over nested folders, plus three bad files."""
    root = tmp_path_factory.mktemp("tree")
    expected = {}
    for folder in ("animals", "animals/cats/kittens", "plants"):
        for name, pixels in write_images(root / folder, module_rng).items():
            expected[f"{folder}/{name}"] = pixels
    bad = write_bad_files(root / "plants" / "broken")
    return root, expected, bad


def test_reads_every_format_and_mode_in_nested_folders_labelled_by_first_level(tree):
    root, expected, bad = tree
    with pytest.warns(UserWarning, match="Skipped 3 of") as caught:
        dataset = from_directory(root, (HEIGHT, WIDTH), shuffle=False, verbose=False)
    assert len(caught) == 1 and all(str(path) in str(caught[0].message) for path in bad)
    assert dataset.class_names == ["animals", "plants"]
    assert dataset.element_spec == (tf.TensorSpec((HEIGHT, WIDTH, 3), tf.uint8), tf.TensorSpec((), tf.int64))
    assert sorted(dataset.skipped_files) == sorted(str(path) for path in bad)
    assert len(dataset.file_paths) == len(expected) == int(dataset.cardinality())
    for path, (image, label) in zip(dataset.file_paths, dataset.as_numpy_iterator()):
        relative = os.path.relpath(path, root)
        assert dataset.class_names[label] == relative.split(os.sep)[0]
        difference = np.abs(image.astype(int) - expected[relative])
        assert difference.mean() < 3 if relative.endswith(("jpg", "jpeg")) else difference.max() == 0, relative


def test_without_labels_yields_images_only_and_batches(tree):
    root, expected, _ = tree
    with pytest.warns(UserWarning, match="Skipped 3"):
        dataset = from_directory(root / "plants", 16, labels=None, batch_size=4, seed=1, verbose=False)
    assert dataset.class_names is None
    assert dataset.element_spec == tf.TensorSpec((None, 16, 16, 3), tf.uint8)
    total = sum(int(batch.shape[0]) for batch in dataset)
    assert total == sum(key.startswith("plants/") for key in expected)


def test_an_empty_or_missing_folder_is_a_value_error_naming_it(tmp_path):
    with pytest.raises(ValueError, match="No image files") as info:
        from_directory(tmp_path, 32)
    assert str(tmp_path) in str(info.value) and ".gif" in str(info.value)
    with pytest.raises(ValueError, match="is not a folder"):
        from_directory(tmp_path / "nowhere", 32)


def test_feeds_make_views_and_the_simclr_preset(tree):
    root, _, _ = tree
    with pytest.warns(UserWarning):
        dataset = from_directory(root, 64, verbose=False)
    views = kc.data.make_views(dataset, kc.augment.simclr(48), batch_size=8)
    view_a, view_b, labels = next(iter(views))
    assert view_a.shape == view_b.shape == (8, 48, 48, 3) and labels.shape == (8,)


def openclipart_files():
    """The first files of three openclipart categories; skip locally if absent, fail under CI."""
    if not OPENCLIPART.is_dir():
        message = f"openclipart's PNGs are not in {OPENCLIPART}: apt-get install openclipart-png"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return {
        category: sorted((OPENCLIPART / category).rglob("*.png"))[:FILES_PER_CLASS]
        for category in OPENCLIPART_CLASSES
    }


def test_real_clipart_folder_decodes_every_file_and_labels_match_folders(tmp_path):
    files = openclipart_files()
    for category, paths in files.items():
        (tmp_path / category).mkdir()
        for index, path in enumerate(paths):
            (tmp_path / category / f"{index:02d}_{path.name}").symlink_to(path)
    dataset = from_directory(tmp_path, 64, shuffle=True, seed=0, verbose=False)
    assert dataset.skipped_files == []
    assert dataset.class_names == OPENCLIPART_CLASSES
    images, labels = map(np.stack, zip(*dataset.as_numpy_iterator()))
    assert images.shape == (3 * FILES_PER_CLASS, 64, 64, 3) and images.dtype == np.uint8
    folders = [Path(path).parent.name for path in dataset.file_paths]
    assert [OPENCLIPART_CLASSES[label] for label in labels] == folders
    np.testing.assert_array_equal(np.bincount(labels), [FILES_PER_CLASS] * 3)
    # Clip-art on a transparent background: white around the drawing, colour in it.
    assert np.median(images[:, 0, 0]) == 255 and images.std(axis=(1, 2, 3)).min() > 5
    # Each picture matches Pillow's compositing on white and antialiased resize.
    for path, image in zip(dataset.file_paths[:6], images):
        with Image.open(path) as picture:
            rgba = picture.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        reference = np.array(Image.alpha_composite(white, rgba).convert("RGB").resize((64, 64), Image.BILINEAR))
        assert np.abs(image.astype(int) - reference).mean() < 4, path
