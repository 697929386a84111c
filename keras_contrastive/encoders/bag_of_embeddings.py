"""The CPU-budget text encoder: the mean of the word vectors of a string, with the tokenizer inside."""

from __future__ import annotations

import keras

from keras_contrastive.layers.masked_mean_pooling import MaskedMeanPooling
from keras_contrastive.text.text_input import text_input
from keras_contrastive.validation import check_in_range, check_positive_int


def bag_of_embeddings(
    tokenizer: keras.layers.TextVectorization,
    embedding_dim: int = 128,
    dropout: float = 0.1,
    name: str = "bag_of_embeddings",
) -> keras.Model:
    """Word embeddings, dropout, and their mean over the string's words.

    The model takes raw strings: `tokenizer` (from `kc.text.train_tokenizer`)
    is its first layer, so the vocabulary is saved with the model and an
    exported SavedModel takes strings. Padding (id 0) is left out of the
    mean, so an empty string embeds as zeros (never NaN). Word order is
    ignored; it trains and embeds at thousands of sentences a second on a CPU.

    There is no projection after the mean: the mean is linear in the word
    vectors, so a Dense layer there would add weights but nothing the
    embedding table cannot learn itself (the contrastive method's projection
    head adds the non-linearity).

    Args:
        tokenizer: An adapted `keras.layers.TextVectorization` with integer
            output and an `output_sequence_length`.
        embedding_dim: Width of the word vectors and of the embedding.
        dropout: Dropout rate in [0, 1) on the word vectors in training
            (SimCSE's augmentation).
        name: The model's name.

    Returns:
        A functional `keras.Model` from `(batch,)` strings (input "text") to
        float32 `(batch, embedding_dim)` embeddings.

    Raises:
        ValueError: for a tokenizer that is not an adapted integer
            `TextVectorization`, an embedding_dim that is not a positive
            integer, or a dropout outside [0, 1).

    Example:
    >>> encoder = bag_of_embeddings(kc.text.train_tokenizer(sentences), embedding_dim=64)
    >>> encoder(tf.constant(["a red car", ""])).shape
    TensorShape([2, 64])
    """
    embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
    dropout = check_in_range(dropout, "dropout", 0.0, 1.0, include_high=False)
    inputs, token_ids, vocabulary_size, _ = text_input(tokenizer)
    x = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="word_embedding")(token_ids)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = MaskedMeanPooling(name="embedding")([x, token_ids])
    return keras.Model(inputs, outputs, name=name)
