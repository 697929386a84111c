import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc


def test_a_nan_pixel_stops_training_naming_the_step_before_anything_is_saved(rng):
    images = rng.uniform(0, 255, size=(32, 8, 8, 1)).astype("float32")
    images[13, 2, 5, 0] = np.nan  # one pixel of the second batch
    data = tf.data.Dataset.from_tensor_slices((images, images[:, ::-1].copy())).batch(8)
    model = kc.ContrastiveModel(kc.encoders.small_cnn((8, 8, 1), widths=(4,)), kc.methods.SimCLR(projection_dim=8))
    model.compile(optimizer="adam")
    epochs_ended = []
    with pytest.raises(kc.callbacks.NonFiniteLossError, match=r"optimizer step 2 \(epoch 1, batch 2\): the loss is nan"):
        model.fit(data, epochs=2, verbose=0, callbacks=[
            kc.callbacks.StopOnNonFinite(),
            keras.callbacks.LambdaCallback(on_epoch_end=lambda *args: epochs_ended.append(True)),
        ])
    assert epochs_ended == []  # no epoch's end, so no checkpoint or save after the NaN


def test_evaluation_refuses_non_finite_embeddings(rng):
    embeddings = rng.normal(size=(10, 4))
    broken = embeddings.copy()
    broken[3, 1] = np.nan
    labels = rng.integers(0, 2, size=10)
    with pytest.raises(ValueError, match=r"training embeddings hold NaN or infinite values \(1 of 10 rows\)"):
        kc.evaluation.knn_accuracy(broken, labels, embeddings, labels, k=3)
    with pytest.raises(ValueError, match="test features hold NaN or infinite values"):
        kc.evaluation.linear_probe_accuracy(embeddings, labels, broken, labels, epochs=1)
