"""A small Transformer encoder of raw strings, built from keras-hub's layers, with the tokenizer inside."""

from __future__ import annotations

import warnings

import keras

from keras_contrastive.encoders.hub_backbone import import_keras_hub
from keras_contrastive.layers.masked_mean_pooling import MaskedMeanPooling
from keras_contrastive.text.text_input import text_input
from keras_contrastive.validation import check_in_range, check_positive_int


def text_transformer(
    tokenizer: keras.layers.TextVectorization,
    embedding_dim: int = 128,
    num_layers: int = 2,
    num_heads: int = 4,
    intermediate_dim: int = 256,
    dropout: float = 0.1,
    name: str = "text_transformer",
) -> keras.Model:
    """Token and position embeddings, `num_layers` Transformer encoder blocks, masked mean pooling.

    The model takes raw strings: `tokenizer` (from `kc.text.train_tokenizer`)
    is its first layer, so the vocabulary is saved with the model and an
    exported SavedModel takes strings. The blocks are keras-hub's
    `TransformerEncoder` (post-norm, as BERT); padding (id 0) is masked in
    attention through the embedding's mask, and the mean pooling counts only
    real tokens, so an empty string embeds as zeros (never NaN) and padding
    never changes an embedding. Strings longer than the tokenizer's
    `sequence_length` words are truncated.

    `dropout` is the dropout of the attention weights and of each block's
    outputs. SimCSE (two passes of the same sentences) relies on it as its
    only augmentation: with `dropout=0` its two views are identical.

    keras-hub is an optional dependency: `pip install keras-contrastive[hub]`.

    Args:
        tokenizer: An adapted `keras.layers.TextVectorization` with integer
            output and an `output_sequence_length`.
        embedding_dim: Width of the token vectors and of the embedding.
        num_layers: Transformer encoder blocks.
        num_heads: Attention heads of each block; must divide embedding_dim.
        intermediate_dim: Hidden width of each block's feedforward network.
        dropout: Dropout rate in [0, 1).
        name: The model's name.

    Returns:
        A functional `keras.Model` from `(batch,)` strings (input "text") to
        float32 `(batch, embedding_dim)` embeddings.

    Raises:
        ImportError: if keras-hub is not installed.
        ValueError: for a tokenizer that is not an adapted integer
            `TextVectorization`, sizes that are not positive integers, heads
            that do not divide embedding_dim, or a dropout outside [0, 1).

    Example:
    >>> tokenizer = kc.text.train_tokenizer(sentences, vocabulary_size=20_000, sequence_length=64)
    >>> encoder = text_transformer(tokenizer, embedding_dim=128)
    >>> encoder(tf.constant(["a red car", ""])).shape
    TensorShape([2, 128])
    """
    keras_hub = import_keras_hub()
    embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
    num_layers = check_positive_int(num_layers, "num_layers")
    num_heads = check_positive_int(num_heads, "num_heads")
    intermediate_dim = check_positive_int(intermediate_dim, "intermediate_dim")
    dropout = check_in_range(dropout, "dropout", 0.0, 1.0, include_high=False)
    if embedding_dim % num_heads:
        raise ValueError(
            f"num_heads must divide embedding_dim, got embedding_dim={embedding_dim} and num_heads={num_heads}."
        )
    inputs, token_ids, vocabulary_size, sequence_length = text_input(tokenizer)
    with warnings.catch_warnings():
        # keras-hub's position embedding drops the token mask it is handed; the
        # sum of the two embeddings keeps it, which is the mask used below.
        warnings.filterwarnings("ignore", message=".*does not support masking.*")
        x = keras_hub.layers.TokenAndPositionEmbedding(
            vocabulary_size, sequence_length, embedding_dim, mask_zero=True, name="token_and_position_embedding"
        )(token_ids)
    for block in range(num_layers):
        x = keras_hub.layers.TransformerEncoder(
            intermediate_dim, num_heads, dropout=dropout, name=f"transformer_block{block + 1}"
        )(x)
    outputs = MaskedMeanPooling(name="embedding")([x, token_ids])
    return keras.Model(inputs, outputs, name=name)
