import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.evaluation import embed, knn_accuracy


def digits_model():
    keras.utils.set_random_seed(0)
    encoder = kc.encoders.small_cnn((8, 8, 1), widths=(8, 16))
    model = kc.ContrastiveModel(encoder, kc.methods.SimCLR(projection_dim=16))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def digits_views():
    images = kc.data.load("digits", "train[:256]", with_labels=False)
    return kc.data.make_views(images, kc.augment.simclr(8, channels=1, horizontal_flip=False), batch_size=64)


def tensorboard_scalars(log_dir):
    """`{tag: [(step, value), ...]}` of every scalar in the event files under log_dir."""
    scalars = {}
    for path in tf.io.gfile.glob(str(log_dir / "train" / "events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
    return scalars


def test_writes_knn_accuracy_to_history_and_tensorboard_every_n_epochs_and_the_last(tmp_path):
    train = kc.data.load("digits", "train[:300]")  # (image, label) singles
    test_images, test_labels = kc.data.load_numpy("digits", "test")
    monitor = kc.callbacks.KNNMonitor(train, (test_images, test_labels), every=2, k=10)
    model = digits_model()
    history = model.fit(
        digits_views(), epochs=3, verbose=0,
        callbacks=[monitor, keras.callbacks.TensorBoard(str(tmp_path), write_graph=False)],
    )
    assert monitor.epochs == [2, 3]
    assert history.history["knn_accuracy"] == monitor.accuracies
    # The last value is the kNN accuracy of the final encoder, computed independently.
    train_images, train_labels = kc.data.load_numpy("digits", "train[:300]")
    expected = knn_accuracy(
        embed(model.encoder, train_images), train_labels, embed(model.encoder, test_images), test_labels, k=10
    )
    assert monitor.accuracies[-1] == pytest.approx(expected, abs=1e-9)
    assert 0.3 < expected  # three times chance: a broken embedding would not get here (this tiny one reaches ~0.5)
    logged = tensorboard_scalars(tmp_path)["epoch_knn_accuracy"]
    assert [step for step, _ in logged] == [1, 2]  # TensorBoard counts epochs from 0
    np.testing.assert_allclose([value for _, value in logged], monitor.accuracies, rtol=1e-6)


def test_batched_datasets_keep_images_and_labels_paired():
    images, labels = kc.data.load_numpy("digits", "train[:200]")
    shuffled = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(200).batch(32)
    model = digits_model()
    monitor = kc.callbacks.KNNMonitor(shuffled, (images, labels), k=5)
    monitor.set_model(model)
    from_arrays = kc.callbacks.KNNMonitor((images, labels), (images, labels), k=5)
    from_arrays.set_model(model)
    assert monitor.evaluate() == from_arrays.evaluate()


def test_k_larger_than_the_index_stops_fit_before_training():
    images, labels = kc.data.load_numpy("digits", "train[:20]")
    monitor = kc.callbacks.KNNMonitor((images, labels), (images, labels), k=21)
    with pytest.raises(ValueError, match="k=21 is larger than the 20 training images"):
        digits_model().fit(digits_views(), epochs=1, verbose=0, callbacks=[monitor])


def test_bad_arguments_and_unlabelled_data_are_refused():
    images, labels = kc.data.load_numpy("digits", "train[:20]")
    with pytest.raises(ValueError, match=r"every \(epochs\) must be a positive integer"):
        kc.callbacks.KNNMonitor((images, labels), (images, labels), every=0)
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        kc.callbacks.KNNMonitor((images, labels), (images, labels), temperature=0.0)
    monitor = kc.callbacks.KNNMonitor(tf.data.Dataset.from_tensor_slices(images), (images, labels), k=5)
    monitor.set_model(digits_model())
    with pytest.raises(ValueError, match=r"\(image, label\) pairs"):
        monitor.evaluate()


def test_get_config():
    images, labels = kc.data.load_numpy("digits", "train[:20]")
    monitor = kc.callbacks.KNNMonitor((images, labels), (images, labels), every=3, k=7, temperature=None)
    assert monitor.get_config() == {"every": 3, "k": 7, "temperature": None, "batch_size": 512}
