import pytest

import keras_contrastive as kc


def test_lines_are_sentences_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("A first sentence.\n\n  Ünïcödé and 日本語 🙂  \nthird\n", encoding="utf-8")
    texts = [t.decode() for t in kc.data.text_file(path).as_numpy_iterator()]
    assert texts == ["A first sentence.", "Ünïcödé and 日本語 🙂", "third"]


@pytest.mark.parametrize("fields", [2, 3])
def test_tab_separated_lines_are_pairs_with_an_optional_hard_negative(tmp_path, fields):
    rows = [[f"anchor {i}", f"positive {i}", f"negative {i}"][:fields] for i in range(4)]
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join("\t".join(row) for row in rows) + "\n", encoding="utf-8")
    dataset = kc.data.text_file(path)
    assert int(dataset.cardinality()) == 4
    assert [[t.decode() for t in row] for row in dataset.as_numpy_iterator()] == rows
    assert len(next(iter(kc.data.make_pairs(dataset, batch_size=2)))) == fields


def test_bad_files_are_refused_naming_the_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="No text file at"):
        kc.data.text_file(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("\n  \n")
    with pytest.raises(ValueError, match="holds no text"):
        kc.data.text_file(tmp_path / "empty.txt")
    (tmp_path / "mixed.tsv").write_text("a\tb\nc\n")
    with pytest.raises(ValueError, match="line 2 has 1 tab-separated field"):
        kc.data.text_file(tmp_path / "mixed.tsv")
    (tmp_path / "latin1.txt").write_bytes("ok\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"is not UTF-8 text \(line 2"):
        kc.data.text_file(tmp_path / "latin1.txt")
    (tmp_path / "wide.tsv").write_text("a\tb\tc\td\n")
    with pytest.raises(ValueError, match="has 4 tab-separated fields"):
        kc.data.text_file(tmp_path / "wide.tsv")
