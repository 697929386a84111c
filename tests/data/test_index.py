import os

import numpy as np
import pytest

from keras_contrastive.data.index import index_directory


def touch(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return root


def test_finds_images_recursively_by_extension_in_any_case_and_labels_them_by_first_level_folder(tmp_path):
    touch(tmp_path, "dogs/a.PNG", "dogs/puppies/deep/b.jpeg", "cats/c.JpG", "cats/d.gif", "birds/e.bmp",
          "cats/notes.txt", "cats/.hidden.png", ".cache/f.png", "dogs/.thumbs/g.png")
    paths, labels, class_names = index_directory(tmp_path)
    assert class_names == ["birds", "cats", "dogs"]
    relative = [os.path.relpath(path, tmp_path) for path in paths]
    assert relative == ["birds/e.bmp", "cats/c.JpG", "cats/d.gif", "dogs/a.PNG", "dogs/puppies/deep/b.jpeg"]
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, [0, 1, 1, 2, 2])


def test_without_labels_every_image_counts_also_at_the_top_level(tmp_path):
    touch(tmp_path, "top.png", "sub/inner.gif")
    paths, labels, class_names = index_directory(tmp_path, labels=None)
    assert [os.path.relpath(path, tmp_path) for path in paths] == ["sub/inner.gif", "top.png"]
    assert labels is None and class_names is None


def test_inferred_labels_refuse_images_outside_a_class_folder_and_name_them(tmp_path):
    touch(tmp_path, "loose.png", "classes/a.png")
    with pytest.raises(ValueError, match="loose.png") as info:
        index_directory(tmp_path)
    assert "labels=None" in str(info.value)


def test_folders_without_images_are_no_classes(tmp_path):
    touch(tmp_path, "a/x.png", "empty/readme.txt")
    assert index_directory(tmp_path)[2] == ["a"]


def test_follows_linked_folders_once_even_in_a_cycle(tmp_path):
    touch(tmp_path, "real/a.png")
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "loop").symlink_to(tmp_path / "real")
    paths, labels, class_names = index_directory(tmp_path)
    assert len(paths) == 1 and class_names == [os.path.basename(os.path.dirname(paths[0]))]


@pytest.mark.parametrize("labels", ["inferred", None])
def test_an_empty_folder_or_one_without_images_is_an_error_naming_it_and_the_extensions(tmp_path, labels):
    with pytest.raises(ValueError, match="No image files") as info:
        index_directory(tmp_path, labels)
    assert str(tmp_path) in str(info.value) and ".png" in str(info.value) and ".bmp" in str(info.value)
    touch(tmp_path, "a/b.txt", "c.svg")
    with pytest.raises(ValueError, match="No image files"):
        index_directory(tmp_path, labels)


def test_a_missing_folder_or_a_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(ValueError, match="is not a folder") as info:
        index_directory(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(info.value)
    touch(tmp_path, "a.png")
    with pytest.raises(ValueError, match="is not a folder"):
        index_directory(tmp_path / "a.png")


def test_other_labels_are_refused(tmp_path):
    with pytest.raises(ValueError, match='labels must be "inferred" or None'):
        index_directory(tmp_path, labels="binary")
