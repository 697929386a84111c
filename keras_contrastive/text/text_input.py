"""The input stem the text encoders share: raw strings in, token ids out."""

from __future__ import annotations

import keras


def text_input(tokenizer: keras.layers.TextVectorization, name: str = "text"):
    """A `keras.Input` of `(batch,)` strings and the tokenizer's `(batch, sequence_length)` ids.

    Args:
        tokenizer: An adapted `keras.layers.TextVectorization` with
            `output_mode="int"` and an `output_sequence_length`, as
            `kc.text.train_tokenizer` returns.
        name: Name of the input.

    Returns:
        A tuple `(inputs, token_ids, vocabulary_size, sequence_length)`.

    Raises:
        ValueError: if `tokenizer` is not such a layer, or has no vocabulary yet.

    Example:
    >>> inputs, ids, vocabulary_size, sequence_length = text_input(kc.text.train_tokenizer(corpus))
    """
    if not isinstance(tokenizer, keras.layers.TextVectorization):
        raise ValueError(
            "tokenizer must be a keras.layers.TextVectorization (e.g. kc.text.train_tokenizer(texts)), "
            f"got {type(tokenizer).__name__}."
        )
    config = tokenizer.get_config()
    if config.get("output_mode") != "int" or not config.get("output_sequence_length"):
        raise ValueError(
            "tokenizer must map strings to padded integer ids: output_mode='int' and an "
            f"output_sequence_length, got output_mode={config.get('output_mode')!r} and "
            f"output_sequence_length={config.get('output_sequence_length')!r}."
        )
    vocabulary_size = tokenizer.vocabulary_size()
    if vocabulary_size <= 2:
        raise ValueError(
            "tokenizer has no vocabulary yet (only padding and [UNK]); adapt it to a corpus, "
            "e.g. with kc.text.train_tokenizer(texts)."
        )
    inputs = keras.Input(shape=(), dtype="string", name=name)
    return inputs, tokenizer(inputs), int(vocabulary_size), int(config["output_sequence_length"])
