"""kc.data's WordNet loaders, on hand-written data files and on the real WordNet 3.0 (Debian's wordnet-base)."""

import collections
from pathlib import Path

import pytest
import tensorflow as tf

from keras_contrastive.data import wordnet
from keras_contrastive.data.wordnet import Synset
from tests.real_data import real_data

HEADER = "  1 This software and database is being provided to you, the LICENSEE, by  \n"
TINY = {
    "data.noun": HEADER + (
        "00000001 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 001 @ 00000002 n 0000 "
        '| a member of the genus Canis; occurs in many breeds; "the dog barked all night"  \n'
        "00000002 05 n 01 canine 0 000 | one of the order Carnivora  \n"
        "00000003 05 n 02 cat 0 true_cat 0 000 | feline mammal  \n"
    ),
    "data.verb": HEADER + "00000001 29 v 02 breathe 0 respire 0 000 01 + 02 00 | draw air into the lungs  \n",
    "data.adj": HEADER + (
        "00000001 00 a 01 able 0 000 | having the necessary means  \n"
        "00000002 00 s 02 handy 0 ready_to_hand(p) 0 001 & 00000001 a 0000 "
        '| easy to reach; "found a handy spot"  \n'
    ),
    "data.adv": HEADER + "00000001 02 r 01 quickly 0 000 | with speed  \n",
}


def real_wordnet_dir() -> Path:
    """Debian's WordNet directory; skip locally if absent, fail under CI."""
    return real_data(wordnet.wordnet_dir)


@pytest.fixture(scope="module")
def synsets():
    """Every real synset, parsed once for the module (and cached for the process)."""
    return wordnet.wordnet_synsets(real_wordnet_dir())


@pytest.fixture
def tiny(tmp_path):
    for name, text in TINY.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def key(synset):
    return synset.pos, synset.offset


def test_parses_lemmas_gloss_and_adjective_markers(tiny):
    synsets = wordnet.wordnet_synsets(tiny)
    assert [s.pos for s in synsets] == ["n", "n", "n", "v", "a", "s", "r"]
    assert synsets[0] == Synset("n", 1, ("dog", "domestic dog", "Canis familiaris"),
                                "a member of the genus Canis; occurs in many breeds")
    assert synsets[3].lemmas == ("breathe", "respire") and synsets[3].gloss == "draw air into the lungs"
    assert synsets[5].lemmas == ("handy", "ready to hand") and synsets[5].gloss == "easy to reach"


def test_lemma_pairs_synonym_pairs_and_reverse_dictionary(tiny):
    pairs = list(wordnet.wordnet_pairs("all", path=tiny).as_numpy_iterator())
    assert len(pairs) == 12 and pairs[1] == (b"a member of the genus Canis; occurs in many breeds", b"domestic dog")
    synonyms = list(wordnet.wordnet_pairs("all", pairs="synonym", path=tiny).as_numpy_iterator())
    assert synonyms == [
        (b"dog", b"domestic dog"), (b"dog", b"Canis familiaris"), (b"domestic dog", b"Canis familiaris"),
        (b"cat", b"true cat"), (b"breathe", b"respire"), (b"handy", b"ready to hand"),
    ]
    task = wordnet.wordnet_reverse_dictionary("all", path=tiny)
    assert task.candidates == sorted(task.candidates) and len(task.candidates) == 12
    assert [task.candidates[i] for i in task.answers[2]] == ["cat", "true cat"]


def test_an_empty_split_has_the_element_spec_of_a_full_one(tiny):
    dataset = wordnet.wordnet_pairs("test[:0]", path=tiny)
    assert dataset.cardinality() == 0
    assert dataset.element_spec == (tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.string))


def test_bad_arguments_and_missing_files_say_what_was_expected(tiny, tmp_path):
    with pytest.raises(ValueError, match="Valid splits: train, test, all"):
        wordnet.wordnet_pairs("validation", path=tiny)
    with pytest.raises(ValueError, match="pairs must be one of 'lemma', 'synonym'"):
        wordnet.wordnet_pairs(pairs="gloss", path=tiny)
    (tiny / "data.adv").unlink()
    with pytest.raises(FileNotFoundError, match="missing data.adv.*apt-get install wordnet-base"):
        wordnet.wordnet_synsets(tiny)
    (tiny / "data.noun").write_text(HEADER + "00000001 05 n 02 dog 0 | truncated\n")
    (tiny / "data.adv").write_text(TINY["data.adv"])
    with pytest.raises(ValueError, match="data.noun, line 2"):
        wordnet.wordnet_synsets(tiny)


def test_real_wordnet_has_every_synset_of_each_part_of_speech(synsets):
    counts = collections.Counter("a" if s.pos == "s" else s.pos for s in synsets)
    assert len(synsets) == 117_659
    assert counts == {"n": 82_115, "v": 13_767, "a": 18_156, "r": 3_621}
    assert len({key(s) for s in synsets}) == len(synsets)
    assert all(s.lemmas and s.gloss for s in synsets)
    assert not any("_" in lemma or lemma.endswith(")") for s in synsets for lemma in s.lemmas)


def test_real_dog_synset(synsets):
    dog = next(s for s in synsets if s.pos == "n" and s.offset == 2084071)
    assert dog.lemmas == ("dog", "domestic dog", "Canis familiaris")
    assert dog.gloss.startswith("a member of the genus Canis")
    assert '"' not in dog.gloss  # "the dog barked all night" is an example, not the definition
    galore = next(s for s in synsets if "galore" in s.lemmas)
    assert galore.pos == "s" and galore.gloss == "existing in abundance"


def test_real_split_is_by_synset_disjoint_covering_and_seeded(synsets):
    root = real_wordnet_dir()
    train = {key(s) for s in wordnet.wordnet_synsets(root, "train")}
    test = {key(s) for s in wordnet.wordnet_synsets(root, "test")}
    assert not train & test and train | test == {key(s) for s in synsets}
    assert len(test) == pytest.approx(0.1 * len(synsets), abs=4)
    other = {key(s) for s in wordnet.wordnet_synsets(root, "test", seed=1)}
    assert other != test and len(other) == len(test)
    assert test == {key(s) for s in wordnet.wordnet_synsets(root, "test")}


def test_real_pairs_count_one_per_lemma_and_per_two_lemmas(synsets):
    root = real_wordnet_dir()
    test = wordnet.wordnet_synsets(root, "test")
    lemma_pairs = wordnet.wordnet_pairs("test", path=root)
    synonym_pairs = wordnet.wordnet_pairs("test", pairs="synonym", path=root)
    assert lemma_pairs.cardinality() == sum(len(s.lemmas) for s in test)
    assert synonym_pairs.cardinality() == sum(len(s.lemmas) * (len(s.lemmas) - 1) // 2 for s in test)
    gloss, lemma = next(iter(lemma_pairs))
    assert (gloss.numpy().decode(), lemma.numpy().decode()) == (test[0].gloss, test[0].lemmas[0])
    train_glosses = {s.gloss for s in wordnet.wordnet_synsets(root, "train")}
    # Held out by synset: a test gloss shows up in training only when another synset
    # has the very same one (147 of 11,767 with seed 0).
    assert sum(s.gloss in train_glosses for s in test) < 0.02 * len(test)


def test_real_reverse_dictionary_answers_are_the_query_synsets_lemmas(synsets):
    root = real_wordnet_dir()
    test = wordnet.wordnet_synsets(root, "test")
    task = wordnet.wordnet_reverse_dictionary(path=root)
    assert task.queries == [s.gloss for s in test]
    assert task.candidates == sorted({lemma for s in test for lemma in s.lemmas})
    assert len(task.answers) == len(task.queries)
    for synset, answer in zip(test, task.answers):
        assert sorted(task.candidates[i] for i in answer) == sorted(synset.lemmas)
