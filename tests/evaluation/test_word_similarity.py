import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.evaluation import TfidfFeatures, word_similarity_correlation


def ranks(x):
    return np.argsort(np.argsort(x)).astype(np.float64)


def test_is_spearmans_rho_of_the_cosines_for_an_encoder_and_a_function(rng):
    words = [f"w{i}" for i in range(30)]
    vectors = {w: rng.normal(size=8).astype(np.float32).astype(np.float64) for w in words}
    a = rng.permutation(words)
    b = np.roll(a, 1)  # 30 distinct pairs of different words: no tied cosines (a word with itself is 1)
    cosines = np.array([vectors[x] @ vectors[y] / np.linalg.norm(vectors[x]) / np.linalg.norm(vectors[y])
                        for x, y in zip(a, b)])
    scores = cosines + rng.normal(scale=0.3, size=30)
    expected = np.corrcoef(ranks(cosines), ranks(scores))[0, 1]
    featurize = lambda batch: np.stack([vectors[w.decode() if isinstance(w, bytes) else w] for w in batch])  # noqa
    assert word_similarity_correlation(featurize, (a, b, scores)) == pytest.approx(expected, abs=1e-6)
    inputs = keras.Input((), dtype="string")
    table = keras.layers.StringLookup(vocabulary=words, num_oov_indices=0)(inputs)
    embedding = keras.layers.Embedding(30, 8, embeddings_initializer=keras.initializers.Constant(
        np.stack([vectors[w] for w in words])))
    encoder = keras.Model(inputs, embedding(table))
    dataset = tf.data.Dataset.from_tensor_slices((a, b, scores.astype(np.float32)))
    assert word_similarity_correlation(encoder, dataset) == pytest.approx(expected, abs=1e-5)


def test_tfidf_of_distinct_single_words_is_undefined_not_a_number_that_looks_real():
    tfidf = TfidfFeatures(["cat dog", "dog bird", "bird cat fish"])
    assert np.isnan(word_similarity_correlation(tfidf, (["cat", "dog"], ["bird", "fish"], [1.0, 2.0])))
    with pytest.raises(ValueError, match=r"\(word_a, word_b, score\)"):
        word_similarity_correlation(tfidf, (["cat"], ["dog"], [1.0]))
