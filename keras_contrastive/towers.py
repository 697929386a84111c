"""The encoders that embed the two views of a batch: one shared encoder, or two towers."""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from keras_contrastive.tower_input import TowerInput


def pair_of(networks) -> tuple:
    """`(network for view a, network for view b)` from one shared network or a list of one or two.

    Methods keep their heads as lists with one head per distinct encoder, so
    a siamese model shares each head and a two-tower model has one per tower.

    Example:
    >>> pair_of([projector])            # (projector, projector)
    >>> pair_of([image_head, text_head])  # (image_head, text_head)
    """
    if isinstance(networks, (list, tuple)):  # Keras's tracked lists are lists too
        if len(networks) not in (1, 2):
            raise ValueError(f"Expected one shared network or one per tower, got {len(networks)}.")
        return networks[0], networks[-1]
    return networks, networks


class Towers:
    """The network(s) that embed view a and view b: `encoder` for both, or `pair_encoder` for view b.

    A siamese model (no `pair_encoder`) runs both views through its shared
    networks as one concatenated batch, so batch normalisation sees both
    views and each layer runs once; two towers (images and captions, queries
    and documents, users and items) run each view through its own encoder.
    Methods pass their heads to `forward` as lists of one network per
    distinct encoder (see `pair_of`).

    Args:
        encoder: A built `keras.Model` with one input and a `(batch, dim)` output.
        pair_encoder: Optional second tower for view b, of the same form; its
            input may be of another kind than `encoder`'s.

    Example:
    >>> towers = Towers(image_encoder, pair_encoder=text_encoder)
    >>> (h_a, h_b), (z_a, z_b) = towers.forward(images, captions, True, [projectors])
    """

    def __init__(self, encoder: keras.Model, pair_encoder: keras.Model | None = None):
        if pair_encoder is encoder:
            pair_encoder = None
        self.inputs = (TowerInput.of(encoder),) + (
            (TowerInput.of(pair_encoder),) if pair_encoder is not None else ()
        )
        self.encoder = encoder
        self.pair_encoder = pair_encoder

    @property
    def shared(self) -> bool:
        """Whether both views go through the same encoder."""
        return self.pair_encoder is None

    @property
    def encoders(self) -> list:
        """The distinct encoders: `[encoder]`, or `[encoder, pair_encoder]`."""
        return [self.encoder] if self.shared else [self.encoder, self.pair_encoder]

    @property
    def input_pair(self) -> tuple[TowerInput, TowerInput]:
        """The inputs of view a's and view b's encoders."""
        return pair_of(self.inputs)

    @property
    def embedding_dims(self) -> list[int]:
        """The embedding width of each distinct encoder."""
        return [int(e.outputs[0].shape[-1]) for e in self.encoders]

    def forward(
        self, view_a, view_b, training: bool, heads: Sequence = ()
    ) -> tuple[tuple[tf.Tensor, tf.Tensor], ...]:
        """Both views through their encoders, then through each head in turn.

        While view a's and view b's networks are the same, the views travel
        as one concatenated batch: it is made once and split after each
        stage, never concatenated again.

        Args:
            view_a: The first views.
            view_b: The second views, with the same batch size.
            training: The layers' training mode (batch norm, dropout).
            heads: Stages after the encoders, each one shared network or a
                list of one per distinct encoder.

        Returns:
            One `(output_a, output_b)` pair per stage: the encoders'
            embeddings, then each head's outputs.
        """
        outputs = []
        joint = None
        a, b = view_a, view_b
        for networks in (self.encoders, *heads):
            network_a, network_b = pair_of(networks)
            if network_a is network_b:
                joint = network_a(tf.concat([a, b], axis=0) if joint is None else joint, training=training)
                a, b = tf.split(joint, 2, axis=0)
            else:
                joint = None
                a, b = network_a(a, training=training), network_b(b, training=training)
            outputs.append((a, b))
        return tuple(outputs)

    def forward_side(self, side: int, view, training: bool, heads: Sequence = ()) -> tuple[tf.Tensor, ...]:
        """One view through its own tower (`side` 0 for view a, 1 for view b) and the heads.

        Returns:
            One output per stage: the encoder's embedding, then each head's output.
        """
        outputs = []
        x = view
        for networks in (self.encoders, *heads):
            x = pair_of(networks)[side](x, training=training)
            outputs.append(x)
        return tuple(outputs)
