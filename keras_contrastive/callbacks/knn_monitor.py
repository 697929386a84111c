"""KNNMonitor: kNN accuracy of the embedding during `fit`."""

from __future__ import annotations

import keras

from keras_contrastive.evaluation.embed import embed
from keras_contrastive.evaluation.knn import knn_accuracy
from keras_contrastive.evaluation.labelled_arrays import labelled_arrays
from keras_contrastive.validation import check_positive, check_positive_int


class KNNMonitor(keras.callbacks.Callback):
    """Writes the weighted cosine kNN accuracy to `logs["knn_accuracy"]` during `fit`.

    At the end of every `every`-th epoch (and of the last one) the model's
    encoder embeds the training and test images in inference mode and
    `kc.evaluation.knn_accuracy` scores the test images against the training
    ones. The value goes into the epoch's logs, so the `History` and a
    `keras.callbacks.TensorBoard` listed *after* this callback record it. As
    with Keras's `validation_freq`, epochs that are not evaluated have no
    value; `self.epochs` and `self.accuracies` hold the evaluated ones.

    The images are read from the datasets once, at the start of training,
    and kept in memory.

    Args:
        train_data: The kNN index: a `tf.data.Dataset` of `(image, label)`
            (batched or not) or a tuple `(images, labels)`.
        test_data: The images scored, in the same forms.
        every: Evaluate every this many epochs.
        k: Neighbours, at most the number of training images.
        temperature: Vote temperature, or None for a majority vote.
        batch_size: Images per forward pass when embedding.

    Example:
    >>> monitor = KNNMonitor(kc.data.load("fashion_mnist", "train[:10000]"),
    ...                      kc.data.load("fashion_mnist", "test"), every=2)
    >>> history = model.fit(views, epochs=10, callbacks=[monitor, tensorboard])
    >>> history.history["knn_accuracy"]   # epochs 2, 4, ..., 10
    """

    def __init__(
        self,
        train_data,
        test_data,
        every: int = 1,
        k: int = 200,
        temperature: float | None = 0.1,
        batch_size: int = 512,
    ):
        super().__init__()
        self.train_data = train_data
        self.test_data = test_data
        self.every = check_positive_int(every, "every (epochs)")
        self.k = check_positive_int(k, "k")
        self.temperature = None if temperature is None else check_positive(temperature, "temperature")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.epochs: list[int] = []
        self.accuracies: list[float] = []
        self._train = None
        self._test = None

    def on_train_begin(self, logs=None):
        if self._train is None:
            self._train = labelled_arrays(self.train_data)
            self._test = labelled_arrays(self.test_data)
        if self.k > len(self._train[0]):
            raise ValueError(
                f"k={self.k} is larger than the {len(self._train[0])} training images of the kNN index."
            )

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") if self.params else None
        if (epoch + 1) % self.every and epoch + 1 != last:
            return
        accuracy = self.evaluate()
        self.epochs.append(epoch + 1)
        self.accuracies.append(accuracy)
        if logs is not None:
            logs["knn_accuracy"] = accuracy

    def evaluate(self) -> float:
        """The kNN accuracy of the model's current encoder."""
        if self._train is None:
            self.on_train_begin()
        encoder = getattr(self.model, "encoder", self.model)
        return knn_accuracy(
            embed(encoder, self._train[0], self.batch_size), self._train[1],
            embed(encoder, self._test[0], self.batch_size), self._test[1],
            k=self.k, temperature=self.temperature, batch_size=self.batch_size,
        )

    def get_config(self) -> dict:
        return {"every": self.every, "k": self.k, "temperature": self.temperature, "batch_size": self.batch_size}
