import pytest

from keras_contrastive.data.splits import check_tfds_split
from keras_contrastive.data.splits import parse_local_split

VALID = ("train", "test")


@pytest.mark.parametrize(
    "split, expected",
    [
        ("train", ("train", None)),
        ("test", ("test", None)),
        ("train[:10]", ("train", 10)),
        ("test[:0]", ("test", 0)),
    ],
)
def test_parse_local_split(split, expected):
    assert parse_local_split(split, VALID) == expected


@pytest.mark.parametrize(
    "split",
    ["validation", "", "Train", "train[:10%]", "train[5:]", "train[:-1]",
     "train[:]", "train+test", " train"],
)
def test_parse_local_split_rejects_naming_valid_splits(split):
    with pytest.raises(ValueError) as info:
        parse_local_split(split, VALID)
    message = str(info.value)
    assert repr(split) in message
    assert "train" in message and "test" in message


@pytest.mark.parametrize(
    "split",
    ["train", "test[:10%]", "train[10:20]+test", "train + test[-5%:]", "all"],
)
def test_check_tfds_split_accepts_tfds_syntax(split):
    check_tfds_split(split, VALID)


@pytest.mark.parametrize(
    "split, bad_name",
    [("validation", "validation"), ("train+valid[:5]", "valid")],
)
def test_check_tfds_split_rejects_unknown_names(split, bad_name):
    with pytest.raises(ValueError) as info:
        check_tfds_split(split, VALID)
    message = str(info.value)
    assert repr(bad_name) in message
    assert "train, test" in message
