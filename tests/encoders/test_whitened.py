import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.evaluation import compare_with_baselines
from tests.evaluation.test_knn import reference_knn
from tests.layers.test_whitening import reference, same_up_to_axis_signs


def pixels_and_encoder(rng, count=240):
    images = rng.integers(0, 256, size=(count, 8, 8, 1)).astype("uint8")
    return images, kc.encoders.small_cnn((8, 8, 1), widths=(4, 8))


def test_identity_until_fitted_then_the_reference_whitening_of_the_encoders_features(rng):
    images, encoder = pixels_and_encoder(rng)
    model = kc.encoders.whitened(encoder, epsilon=0.05)
    features = encoder.predict(images, verbose=0)
    # predict traces its function before the fit: the whitening is read at run time, not frozen at trace time
    np.testing.assert_array_equal(model.predict(images, verbose=0), features)
    assert kc.encoders.fit_whitening(model, images, batch_size=50) is model
    same_up_to_axis_signs(model.predict(images, verbose=0), reference(features, features, 0.05), rtol=1e-3, atol=1e-3)
    assert model.name == f"{encoder.name}_whitened" and int(model.layers[-1].count.numpy()) == 240


def test_a_labelled_dataset_fits_what_the_array_fits(rng):
    images, encoder = pixels_and_encoder(rng)
    from_array, from_dataset = kc.encoders.whitened(encoder), kc.encoders.whitened(encoder)
    kc.encoders.fit_whitening(from_array, images)
    kc.encoders.fit_whitening(from_dataset, tf.data.Dataset.from_tensor_slices((images, np.zeros(240, "int64"))))
    np.testing.assert_allclose(from_dataset.predict(images, verbose=0), from_array.predict(images, verbose=0),
                               rtol=1e-4, atol=1e-4)


def test_encoders_it_cannot_whiten_are_refused_by_name(rng):
    images, encoder = pixels_and_encoder(rng)
    with pytest.raises(ValueError, match="last layer is a kc.layers.Whitening"):
        kc.encoders.fit_whitening(encoder, images)

    class Subclassed(keras.Model):
        def call(self, inputs):
            return inputs

    with pytest.raises(ValueError, match="functional Keras encoder, got Subclassed"):
        kc.encoders.whitened(Subclassed())
    inputs = keras.Input((3,))
    with pytest.raises(ValueError, match=r"one \(batch, dim\) output"):
        kc.encoders.whitened(keras.Model(inputs, [inputs, inputs]))


def test_compare_with_baselines_whitens_the_baselines_alike(seed):
    train = kc.data.load_numpy("digits", "train[:300]")
    test = kc.data.load_numpy("digits", "test[:120]")
    encoder = kc.encoders.whitened(kc.encoders.small_cnn((8, 8, 1), widths=(4, 8)), epsilon=0.1)
    kc.encoders.fit_whitening(encoder, train[0])
    results = compare_with_baselines(encoder, train, test, k=10, probe_epochs=1, seed=seed)
    pixels = [images.reshape(len(images), -1).astype(np.float64) / 255.0 for images, _ in (train, test)]
    labels = [labels.astype(np.int64) for _, labels in (train, test)]
    whitened = [reference(pixels[0], p, 0.1) for p in pixels]
    expected = reference_knn(whitened[0], labels[0], whitened[1], labels[1], 10, 0.1)
    assert expected != pytest.approx(reference_knn(pixels[0], labels[0], pixels[1], labels[1], 10, 0.1), abs=2 / 120)
    assert results["raw_pixels"]["knn_accuracy"] == pytest.approx(expected, abs=1.5 / 120)
    # the random-init copy, seeded as compare_with_baselines seeds it, whitened on its own features
    keras.utils.set_random_seed(seed)
    random_init = keras.Model.from_config(encoder.get_config())
    before_whitening = keras.Model(random_init.inputs, random_init.layers[-1].input)
    features = [before_whitening.predict(images, verbose=0) for images, _ in (train, test)]
    whitened = [reference(features[0], f, 0.1) for f in features]
    expected = reference_knn(whitened[0], labels[0], whitened[1], labels[1], 10, 0.1)
    assert results["random_init"]["knn_accuracy"] == pytest.approx(expected, abs=1.5 / 120)
