"""kc.data.word_similarity on the SimLex-999 and WordSim-353 files of gensim's wheel."""

import importlib.util

import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.data.word_similarity import read_word_pairs, word_similarity
from tests.real_data import real_data

# The module itself: kc.data's function `word_similarity` shadows it as an attribute of the package.
module = importlib.import_module("keras_contrastive.data.word_similarity")


def benchmark(name: str):
    """`(words_a, words_b, scores)` of a real benchmark; skip locally without gensim, fail under CI."""
    real_data(module.benchmark_path, name)
    words_a, words_b, scores = next(iter(word_similarity(name).batch(2000)))
    return [w.decode() for w in words_a.numpy()], [w.decode() for w in words_b.numpy()], scores.numpy()


@pytest.mark.parametrize("name, count, first", [
    ("simlex999", 999, ("old", "new", 1.58)), ("wordsim353", 353, ("love", "sex", 6.77)),
])
def test_real_benchmark_pairs_and_scores(name, count, first):
    words_a, words_b, scores = benchmark(name)
    assert len(words_a) == len(words_b) == len(scores) == count
    assert scores.dtype == np.float32 and 0 <= scores.min() and scores.max() <= 10
    assert (words_a[0], words_b[0]) == first[:2] and scores[0] == pytest.approx(first[2])
    assert all(words_a) and all(words_b) and len(set(zip(words_a, words_b))) > 0.99 * count


def test_finds_the_files_without_importing_gensim():
    import sys
    if importlib.util.find_spec("gensim") is None:
        pytest.skip("gensim is not installed")
    was_imported = "gensim" in sys.modules
    assert module.benchmark_path("wordsim353").name == "wordsim353.tsv"
    assert ("gensim" in sys.modules) == was_imported


def test_reads_a_header_and_the_simlex_column(tmp_path):
    path = tmp_path / "SimLex-999.txt"
    path.write_text("word1\tword2\tPOS\tSimLex999\tconc(w1)\nold\tnew\tA\t1.58\t2.72\n\nsmart\tintelligent\tA\t9.2\t1.75\n")
    assert read_word_pairs(path) == [("old", "new", 1.58), ("smart", "intelligent", 9.2)]
    dataset = word_similarity("simlex999", "all", path=path)
    assert dataset.element_spec == (tf.TensorSpec((), tf.string),) * 2 + (tf.TensorSpec((), tf.float32),)
    assert word_similarity("simlex999", "test[:1]", path=path).cardinality() == 1


def test_bad_split_name_rows_and_files_say_what_was_expected(tmp_path, monkeypatch):
    path = tmp_path / "pairs.tsv"
    path.write_text("# comment\na\tb\t1.0\nc\td\n")
    with pytest.raises(ValueError, match="no training part.*Valid splits: test, all"):
        word_similarity("simlex999", "train", path=path)
    with pytest.raises(ValueError, match="name must be one of 'simlex999', 'wordsim353'"):
        word_similarity("men3000", path=path)
    with pytest.raises(ValueError, match="pairs.tsv, line 3"):
        word_similarity("wordsim353", path=path)
    with pytest.raises(FileNotFoundError, match="No word-similarity file"):
        word_similarity("wordsim353", path=tmp_path / "missing.tsv")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(ImportError, match="pip install gensim"):
        word_similarity("wordsim353")
