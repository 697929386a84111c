"""Recall@k of image-to-text and text-to-image retrieval on matched (image, caption) pairs."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from keras_contrastive.evaluation.retrieval_metrics import retrieval_metrics
from keras_contrastive.evaluation.zero_shot import embed_images, unit_or_zero_rows
from keras_contrastive.validation import check_positive_int


def cross_modal_recall(
    model,
    images,
    captions: Sequence[str],
    ks: Sequence[int] = (1, 5, 10),
    batch_size: int = 256,
) -> dict[str, dict[int, float]]:
    """How often a held-out pair's caption is among its image's k nearest captions, and the other way round.

    Pair i is `images[i]` with `captions[i]`. The images are embedded by
    `model.predict` and the captions by `model.embed_pair`, and compared by
    cosine similarity (for CLIP, in the joint space the model serves).

    Captions that are the same text count as the same caption (openclipart
    has many pictures of one title): a caption's relevant images are all
    the images with that same caption text, and an image's caption is right
    whichever of its copies is found. So each distinct caption text is
    embedded and ranked once:

    - image to text: each of the N images ranks the distinct captions, and
      is a hit at k if its own caption text is among its k nearest;
    - text to image: each distinct caption ranks the N images, and is a hit
      at k if any image with that caption is among its k nearest.

    With distinct captions this is the usual Recall@k of CLIP's retrieval
    benchmarks. The ranking and counting is `retrieval_metrics`'s
    `recall@K`, with the caption texts as labels (among equal similarities
    the lower row first). An embedding of zeros (a blank picture through an
    untrained ReLU network can give one) is similar to nothing: cosine 0
    with every row of the other side.

    Args:
        model: A two-tower `kc.ContrastiveModel` (images in `encoder`,
            text in `pair_encoder`) or anything with its `predict(images)`
            and `embed_pair(texts)`, both giving embeddings of one width.
        images: `(N, H, W, C)` raw images (array or tensor), or a
            `tf.data.Dataset` of images alone, batched or not, in the
            captions' order.
        captions: The N captions (strings or UTF-8 bytes).
        ks: The cut-offs k, each between 1 and the number of distinct
            captions (which is at most N).
        batch_size: Examples per forward pass.

    Returns:
        `{"image_to_text": {k: recall, ...}, "text_to_image": {k: recall, ...}}`,
        the recalls fractions in [0, 1], keyed by the ints of `ks` in increasing order.

    Raises:
        ValueError: for captions that are not strings, another number of
            images than captions, no pairs, a k out of range, or image and
            caption embeddings of different widths.

    Example:
    >>> test = kc.data.load_pairs("openclipart", "test", image_size=48)
    >>> cross_modal_recall(model, test.map(lambda image, caption: image), test.captions)  # benchmarks/clip.py's
    {'image_to_text': {1: 0.494..., 5: 0.687..., 10: 0.729...},
     'text_to_image': {1: 0.270..., 5: 0.451..., 10: 0.515...}}
    """
    captions = _captions(captions)
    distinct = list(dict.fromkeys(captions))
    cut_offs = sorted({_k(k, len(distinct)) for k in ([ks] if np.ndim(ks) == 0 else ks)})
    if not cut_offs:
        raise ValueError("ks must hold at least one k, e.g. (1, 5, 10).")
    batch_size = check_positive_int(batch_size, "batch_size")
    image_embeddings = embed_images(model, images, batch_size)
    if len(image_embeddings) != len(captions):
        raise ValueError(
            f"Expected one image per caption (pair i is images[i] with captions[i]): got {len(image_embeddings)} "
            f"images and {len(captions)} captions."
        )
    caption_embeddings = np.asarray(model.embed_pair(np.array(distinct), batch_size=batch_size), np.float32)
    if caption_embeddings.ndim != 2 or caption_embeddings.shape[1] != image_embeddings.shape[1]:
        raise ValueError(
            f"The images embed to width {image_embeddings.shape[1]} but the captions to shape "
            f"{caption_embeddings.shape}: retrieval compares them in one space, as a CLIP model serves them."
        )
    image_embeddings, caption_embeddings = _zeros_similar_to_nothing(
        unit_or_zero_rows(image_embeddings, "image embeddings"),
        unit_or_zero_rows(caption_embeddings, "caption embeddings"),
    )
    texts, distinct = np.array(captions), np.array(distinct)
    directions = {
        "image_to_text": retrieval_metrics(image_embeddings, texts, caption_embeddings, distinct, k=cut_offs,
                                           batch_size=batch_size),
        "text_to_image": retrieval_metrics(caption_embeddings, distinct, image_embeddings, texts, k=cut_offs,
                                           batch_size=batch_size),
    }
    return {direction: {k: metrics[f"recall@{k}"] for k in cut_offs} for direction, metrics in directions.items()}


def _zeros_similar_to_nothing(images: np.ndarray, captions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit (or zero) rows of both sides, each zero row made a unit row of cosine 0 with every row of the other side.

    `retrieval_metrics` takes non-zero rows only. Two columns are added: an
    image of zeros becomes `(0, ..., 0, 1, 0)` and a caption of zeros
    `(0, ..., 0, 0, 1)`, the other rows getting zeros there, so every cosine
    between an image and a caption is what it was, 0 for a zero row.
    """
    zero_images, zero_captions = ~np.any(images, axis=1), ~np.any(captions, axis=1)
    if not zero_images.any() and not zero_captions.any():
        return images, captions

    def pad(rows: np.ndarray, zero: np.ndarray, column: int) -> np.ndarray:
        padded = np.concatenate([rows, np.zeros((len(rows), 2), np.float32)], axis=1)
        padded[zero, rows.shape[1] + column] = 1.0
        return padded

    return pad(images, zero_images, 0), pad(captions, zero_captions, 1)


def _captions(captions) -> list[str]:
    if captions is None or isinstance(captions, (str, bytes)):
        raise ValueError(f"Expected captions to be a sequence of strings, one per image, got {captions!r}.")
    if hasattr(captions, "numpy"):  # a string tensor
        captions = captions.numpy()
    array = np.asarray(captions, dtype=object)
    if array.ndim != 1:
        raise ValueError(f"Expected captions to be a 1-D sequence of strings, one per image, got shape {array.shape}.")
    texts = []
    for position, caption in enumerate(array):
        if isinstance(caption, bytes):
            caption = caption.decode("utf-8")
        if not isinstance(caption, str):
            raise ValueError(
                f"Expected captions to be strings, but captions[{position}] is {type(caption).__name__} ({caption!r})."
            )
        texts.append(caption)
    if not texts:
        raise ValueError("cross_modal_recall got no pairs to score.")
    return texts


def _k(k, distinct: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= distinct:
        raise ValueError(
            f"Each k must be an integer between 1 and the {distinct} distinct captions (each ranked once), got {k!r}."
        )
    return int(k)
