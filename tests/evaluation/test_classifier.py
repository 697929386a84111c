import keras
import numpy as np
import pytest

import keras_contrastive as kc
from keras_contrastive.evaluation import classifier


def test_training_the_classifier_trains_the_encoder_and_it_saves_and_loads(tmp_path, rng):
    encoder = kc.encoders.small_cnn((8, 8, 1), widths=(4, 8))
    model = classifier(encoder, 3)
    assert model.output_shape == (None, 3) and model.get_layer("head").dtype_policy.compute_dtype == "float32"
    images = rng.integers(0, 256, size=(32, 8, 8, 1)).astype(np.uint8)
    labels = rng.integers(0, 3, size=32)
    probabilities = model.predict(images, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    before = [w.copy() for w in encoder.get_weights()]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=False)
    model.fit(images, labels, epochs=1, batch_size=16, verbose=0)
    assert any(not np.array_equal(b, a) for b, a in zip(before, encoder.get_weights()))  # shared, not copied
    model.save(tmp_path / "classifier.keras")
    loaded = keras.saving.load_model(tmp_path / "classifier.keras")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
    loaded.fit(images, labels, epochs=1, batch_size=16, verbose=0)  # compiled state saved: training goes on


def test_a_classifier_of_an_application_encoder_round_trips(tmp_path, rng):
    encoder = kc.encoders.application("MobileNetV3Small", (32, 32, 3), minimalistic=True, alpha=0.75)
    model = classifier(encoder, 4)
    images = rng.integers(0, 256, size=(2, 32, 32, 3)).astype(np.uint8)
    model.save(tmp_path / "classifier.keras")
    loaded = keras.saving.load_model(tmp_path / "classifier.keras")
    assert isinstance(loaded.get_layer(encoder.name).get_layer("application_preprocessing"),
                      kc.encoders.ApplicationPreprocessing)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def test_what_is_not_an_encoder_is_refused():
    with pytest.raises(ValueError, match="num_classes must be an integer of at least 2"):
        classifier(kc.encoders.small_cnn((8, 8, 1), widths=(4,)), 1)
    model = kc.ContrastiveModel(kc.encoders.small_cnn((8, 8, 1), widths=(4,)), kc.methods.SimCLR())
    with pytest.raises(ValueError, match="for a ContrastiveModel, pass model.encoder"):
        classifier(model, 3)
    images = keras.Input((8, 8, 1))
    with pytest.raises(ValueError, match=r"must output \(batch, dim\) embeddings"):
        classifier(keras.Model(images, keras.layers.Conv2D(2, 3)(images)), 3)
