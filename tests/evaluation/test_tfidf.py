import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.evaluation import TfidfFeatures


def test_rows_are_unit_tfidf_vectors_and_rare_shared_words_bring_texts_together():
    corpus = ["the cat sat on the mat", "the dog sat on the log", "a zebra grazed", "the cat and the dog"]
    tfidf = TfidfFeatures(corpus)
    features = tfidf(tf.constant(["the zebra", "the cat sat", "unseen words only", "Ünïcödé"]))
    assert features.dtype == np.float32 and features.shape == (4, len(tfidf.vectorizer.vocabulary_))
    np.testing.assert_allclose(np.linalg.norm(features[:2], axis=1), 1.0, rtol=1e-6)
    assert np.all(features[2:] == 0)  # no known word: the zero vector, never NaN
    corpus_features = tfidf(corpus)
    assert np.argmax(corpus_features @ features[0]) == 2  # "zebra" outweighs the common "the"
    with pytest.raises(ValueError, match="non-empty training corpus"):
        TfidfFeatures([])


def test_compare_with_baselines_puts_tfidf_beside_a_text_encoder(rng):
    words = ["good", "great", "tasty", "bad", "awful", "stale"]
    texts = np.array([" ".join(rng.choice(words[:3] if y else words[3:], 4)) for y in (0, 1) * 20])
    labels = np.array([0, 1] * 20)
    encoder = kc.encoders.bag_of_embeddings(kc.text.train_tokenizer(texts, vocabulary_size=20, sequence_length=4),
                                            embedding_dim=4)
    results = kc.evaluation.compare_with_baselines(encoder, (texts, labels), (texts, labels), k=5, probe_epochs=5)
    assert set(results) == {"trained", "random_init", "tfidf"}
    assert results["tfidf"]["knn_accuracy"] == 1.0  # the classes share no word
