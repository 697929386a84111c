"""CLIP (Radford et al., 2021): the symmetric InfoNCE of two towers' linear projections, with a learned temperature."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from keras_contrastive.losses.symmetric_info_nce import symmetric_info_nce_and_accuracy
from keras_contrastive.methods.projection_method import ProjectionMethod
from keras_contrastive.towers import Towers
from keras_contrastive.validation import check_optional_positive_int, check_positive


@keras.saving.register_keras_serializable(package="keras_contrastive")
class CLIP(ProjectionMethod):
    """CLIP: images and their captions through their own towers and linear projections, then the symmetric InfoNCE.

    Made for two towers, `ContrastiveModel(image_encoder, CLIP(),
    pair_encoder=text_encoder)` on batches `(images, captions)`: each tower
    has its own projection to `projection_dim` (by default one Dense layer,
    CLIP's linear projection plus a bias), and the loss is `kc.losses.symmetric_info_nce` between the
    batch's images and captions. A siamese model (no `pair_encoder`) works
    too, with one shared projection, for two views of one kind.

    The temperature is learned as CLIP learns it: the method's variable
    `logit_scale` holds `log(1 / temperature)`, the logits are the cosines
    times `exp(logit_scale)`, and after each optimizer step the variable is
    clipped to at most `log(max_logit_scale)`. Being a weight of the method, it
    is saved with the model. Besides the loss, each step reports
    `contrastive_accuracy` (the mean of image-to-text and text-to-image
    top-1 accuracy within the batch) and the `temperature` the step used.
    The model serves the projections (`embedding_heads`): `predict` gives
    the images' embeddings and `embed_pair` the captions', in the shared
    space where they are compared.
    Under `tf.distribute` both directions see the captions and images of
    every replica. CLIP supports chunking (`ContrastiveModel(...,
    chunk_size=...)`) and `block_size`.

    Args:
        temperature: The initial temperature, a positive number (CLIP's
            0.07), at least `1 / max_logit_scale`.
        learn_temperature: Whether the logit scale is trained; if False it
            stays at `log(1 / temperature)`.
        max_logit_scale: The largest `exp(logit_scale)`, a positive number
            (CLIP's 100, i.e. a temperature of 0.01 at the least).
        projection_dim: Width of the shared embedding space (CLIP ViT-B's 512).
        block_size: None for the full similarity matrix, or the number of
            candidate columns per block (see `kc.losses.blockwise`).
        hidden_dim: Width of the projections' hidden layers when
            `num_layers > 1`; by default each encoder's embedding width.
        num_layers: Dense layers per projection; 1 is CLIP's linear projection.
        **kwargs: `projector_batch_norm` (False by default; see
            `ProjectionMethod`) and the layer's `name`.

    Example:
    >>> model = kc.ContrastiveModel(image_encoder, kc.methods.CLIP(projection_dim=256), pair_encoder=text_encoder)
    >>> model.compile(optimizer=keras.optimizers.AdamW(5e-4, weight_decay=0.2))
    >>> model.fit(tf.data.Dataset.from_tensor_slices((images, captions)).batch(256))
    >>> float(model.method.temperature_value())
    """

    metric_names = ("contrastive_accuracy", "temperature")
    projector_batch_norm = False

    def __init__(
        self,
        temperature: float = 0.07,
        learn_temperature: bool = True,
        max_logit_scale: float = 100.0,
        projection_dim: int = 512,
        block_size: int | None = None,
        hidden_dim: int | None = None,
        num_layers: int = 1,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, **kwargs)
        if tf.is_tensor(temperature) or isinstance(temperature, tf.Variable):
            raise ValueError(
                "temperature must be a positive number (CLIP's initial temperature; the method learns its own "
                "logit scale), got a tensor."
            )
        self.temperature = check_positive(temperature, "temperature")
        if not isinstance(learn_temperature, bool):
            raise ValueError(f"learn_temperature must be True or False, got {learn_temperature!r}.")
        self.learn_temperature = learn_temperature
        self.max_logit_scale = check_positive(max_logit_scale, "max_logit_scale")
        if 1.0 / self.temperature > self.max_logit_scale:
            raise ValueError(
                f"temperature must be at least 1 / max_logit_scale = {1.0 / self.max_logit_scale:g} (the logit "
                f"scale 1 / temperature is clipped to at most max_logit_scale), got {temperature!r}."
            )
        self.block_size = check_optional_positive_int(block_size, "block_size")

    def build(self, towers: Towers) -> None:
        super().build(towers)
        self.logit_scale = self.add_weight(
            name="logit_scale", shape=(), dtype="float32", trainable=self.learn_temperature,
            initializer=keras.initializers.Constant(math.log(1.0 / self.temperature)),
        )

    @property
    def embedding_heads(self) -> list:
        """The projections: images and captions are compared (zero-shot, search) in the space they project to."""
        return self.projectors

    def temperature_value(self) -> tf.Tensor:
        """The current temperature, `exp(-logit_scale)`: a float32 scalar through which gradients reach the scale."""
        return tf.exp(-tf.convert_to_tensor(self.logit_scale))

    def loss_from_outputs(self, outputs, labels=None) -> dict[str, tf.Tensor]:
        z_a, z_b = outputs
        temperature = self.temperature_value()
        loss, accuracy = symmetric_info_nce_and_accuracy(z_a, z_b, temperature, self.block_size)
        return {"loss": loss, "contrastive_accuracy": accuracy, "temperature": tf.stop_gradient(temperature)}

    def after_step(self, towers: Towers, results: dict[str, tf.Tensor]) -> None:
        """Clips the learned logit scale to at most `log(max_logit_scale)`, as CLIP does after each step."""
        if self.learn_temperature:
            self.logit_scale.assign(tf.minimum(self.logit_scale, math.log(self.max_logit_scale)))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            temperature=self.temperature,
            learn_temperature=self.learn_temperature,
            max_logit_scale=self.max_logit_scale,
            block_size=self.block_size,
        )
        return config
