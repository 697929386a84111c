import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.retrieval import embed_with_ids


@pytest.fixture(scope="module")
def model(module_rng):
    keras.utils.set_random_seed(int(module_rng.integers(2**31)))  # the weights, reproducible from the seed
    return kc.ContrastiveModel(kc.encoders.small_cnn((6, 6, 1), widths=(4,)), kc.methods.SimCLR(projection_dim=4))


@pytest.fixture
def images(rng):
    return rng.integers(0, 256, size=(11, 6, 6, 1)).astype("uint8")


def test_arrays_datasets_and_datasets_of_pairs_give_predicts_embeddings_with_their_ids(model, images):
    ids = [f"img-{i}.png" for i in range(11)]
    expected = model.predict(images, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices(images)
    pairs = tf.data.Dataset.from_tensor_slices((images, ids))
    for examples, given in [
        (images, ids),
        (dataset, ids),
        (dataset.batch(4), ids),
        (pairs, None),
        (pairs.batch(3), None),
    ]:
        embeddings, found = embed_with_ids(model, examples, given, batch_size=4, verbose=False)
        assert embeddings.dtype == np.float32
        np.testing.assert_allclose(embeddings, expected, atol=1e-6)
        assert found.tolist() == ids
    # Shuffled pairs: each id still names its own image.
    embeddings, found = embed_with_ids(model, pairs.shuffle(11, seed=1), verbose=False)
    order = [ids.index(value) for value in found]
    assert sorted(order) == list(range(11)) and order != list(range(11))
    np.testing.assert_allclose(embeddings, expected[order], atol=1e-6)


def test_a_plain_encoder_works_too(model, images):
    embeddings, _ = embed_with_ids(model.encoder, images, [str(i) for i in range(11)], verbose=False)
    np.testing.assert_allclose(embeddings, model.encoder.predict(images, verbose=0), atol=1e-6)


def test_verbose_shows_a_keras_progress_bar_counting_the_examples(model, images, capsys):
    embed_with_ids(model, images, [str(i) for i in range(11)], batch_size=4)
    embed_with_ids(model, tf.data.Dataset.from_tensor_slices(images).filter(lambda x: True),
                   [str(i) for i in range(11)], batch_size=4)
    out = capsys.readouterr().out
    assert out.count("11/11") == 1 and out.count("11/Unknown") == 1


def test_bad_inputs_are_refused_naming_what_was_expected(model, images):
    ids = [str(i) for i in range(11)]
    pairs = tf.data.Dataset.from_tensor_slices((images, ids))
    unknown_size = tf.data.Dataset.from_tensor_slices(images).filter(lambda x: True)
    cases = [
        ((images, ids[:10]), "Expected 11 ids, one for each of the 11 images, got 10"),
        ((unknown_size, ids[:10]), "Expected 11 ids, one for each of the 11 images, got 10"),
        ((images, None), "Expected ids to be a sequence of strings"),
        ((images, list(range(11))), r"ids\[0\] is int"),
        ((images[:0], []), "There is nothing to index: got no images"),
        ((unknown_size.take(0), []), "There is nothing to index: the dataset holds no images"),
        ((images[:, :5], ids), r"examples to be a batch of images \(batch, 6, 6, 1\), got shape \(11, 5, 6, 1\)"),
        ((pairs, ids), "ids must be None for a dataset of \\(example, id\\) pairs"),
        ((tf.data.Dataset.from_tensor_slices((images, np.arange(11))), None), "string ids, got ids of dtype int64"),
        ((tf.data.Dataset.from_tensor_slices({"x": images}), ids), "got elements of spec"),
    ]
    for (examples, given), message in cases:
        with pytest.raises(ValueError, match=message):
            embed_with_ids(model, examples, given, verbose=False)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        embed_with_ids(model, images, ids, batch_size=0)
