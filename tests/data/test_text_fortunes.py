"""kc.data.fortunes, on hand-written fortune files and on Debian's fortunes package."""

import os

import pytest
import tensorflow as tf

from keras_contrastive.data.fortunes import DEFAULT_DIR, clean_fortune, fortune_files, fortune_quotes, fortunes
from tests.real_data import missing_real_data


def real_fortunes() -> list:
    """Every real quotation; skip locally without Debian's fortunes, fail under CI."""
    # fortunes-min alone holds only the files fortunes, literature and riddles.
    if not os.path.isfile(os.path.join(DEFAULT_DIR, "computers")):
        message = f"Debian's fortune files are not in {DEFAULT_DIR}: apt-get install fortunes"
        missing_real_data(message)
    return fortune_quotes()


@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "b").write_text("Second file.\n%\nA duplicate.\n%\n")
    (tmp_path / "a").write_text("One line.\n%\nTwo\n\tlines.\n\t\t-- Someone\n%\n%\nA duplicate.\n%\nNo final separator")
    (tmp_path / "a.dat").write_bytes(b"\x00\x00\x00\x02index")
    (tmp_path / "a.u8").symlink_to(tmp_path / "a")
    (tmp_path / "off").mkdir()
    (tmp_path / "off" / "rude").write_text("Never read.\n%\n")
    return tmp_path


def test_clean_fortune_removes_overstrikes_and_control_characters():
    assert clean_fortune("_\bb_\bo_\bl_\bd and\x07 ring\n  next line ") == "bold and ring next line"


def test_reads_quotes_of_regular_files_only_once_each(tiny):
    assert [path.name for path in fortune_files(tiny)] == ["a", "b"]
    quotes = fortune_quotes(tiny)
    assert [(q.category, q.text) for q in quotes] == [
        ("a", "One line."), ("a", "Two lines. -- Someone"), ("a", "A duplicate."), ("a", "No final separator"),
        ("b", "Second file."),
    ]
    dataset = fortunes("all", path=tiny)
    assert dataset.element_spec == tf.TensorSpec((), tf.string)
    assert [text.decode() for text in dataset.as_numpy_iterator()] == [q.text for q in quotes]


def test_bad_split_and_missing_files_say_what_was_expected(tiny, tmp_path):
    with pytest.raises(ValueError, match="Valid splits: train, test, all"):
        fortunes("validation", path=tiny)
    with pytest.raises(FileNotFoundError, match="apt-get install fortunes"):
        fortunes(path=tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="No fortune files in"):
        fortunes(path=tiny / "off" / "rude")


def test_real_fortunes_are_many_non_empty_and_without_separators():
    quotes = real_fortunes()
    texts = [q.text for q in quotes]
    assert len(quotes) > 10_000 and len(set(texts)) == len(texts)
    assert all(text and text == text.strip() for text in texts)
    assert not any(text == "%" or "\n" in text or "\x08" in text for text in texts)
    assert len({q.category for q in quotes}) > 30 and "computers" in {q.category for q in quotes}
    assert not any(q.category.endswith((".dat", ".u8")) for q in quotes)


def test_real_split_is_disjoint_covering_and_seeded():
    quotes = real_fortunes()
    train, test = fortune_quotes(split="train"), fortune_quotes(split="test")
    assert len(train) + len(test) == len(quotes) and not {q.text for q in train} & {q.text for q in test}
    assert len(test) == pytest.approx(0.1 * len(quotes), abs=50)
    assert fortune_quotes(split="test", seed=1) != test and fortune_quotes(split="test") == test
    dataset = fortunes("test")
    assert dataset.cardinality() == len(test)
    assert next(iter(dataset)).numpy().decode() == test[0].text
