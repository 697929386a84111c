"""Zero-shot classification (CLIP, Radford et al., 2021): each image takes the class whose prompt it is nearest."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from keras_contrastive.retrieval.checks import unit_rows
from keras_contrastive.validation import check_positive_int


def zero_shot(
    model,
    images,
    labels,
    class_names: Sequence[str],
    templates: Sequence[str] = ("a picture of a {}",),
    batch_size: int = 256,
) -> dict:
    """Classifies images by the nearest class prompt in a two-tower model's joint space, and scores it.

    Each class is described by its name put in every template (`"{}"`
    replaced by the name: `"a picture of a {}"` and `"Flags"` give `"a
    picture of a Flags"`). The prompts are embedded by `model.embed_pair`
    (the caption tower), each L2-normalised; a class's embedding is the mean
    over its templates, normalised again (CLIP's prompt ensembling). The
    images are embedded by `model.predict` (the image tower), and each takes
    the class of highest cosine similarity; among equal similarities, the
    lower class id. An image embedded to zeros (a blank picture through
    an untrained ReLU network can be) is similar to no class: cosine 0 with
    each, so it takes class 0.

    For CLIP (`kc.methods.CLIP`) the model serves the embeddings of the
    joint space, so the two towers' embeddings are comparable. Two chance
    levels are reported, since held-out sets are seldom balanced: the
    uniform one, `1 / num_classes`, and the majority one, the share of the
    commonest label (what always answering that class scores).

    Args:
        model: A two-tower `kc.ContrastiveModel` (images in `encoder`,
            text in `pair_encoder`) or anything with its `predict(images)`
            and `embed_pair(texts)`, both giving embeddings of one width.
        images: `(N, H, W, C)` raw images (array or tensor), or a
            `tf.data.Dataset` of images alone, batched or not (an unbatched
            one is batched by `batch_size`).
        labels: `(N,)` integer class ids in `[0, len(class_names))`, in
            the images' order.
        class_names: The name of each class id, non-empty distinct strings.
        templates: Prompt templates, each a string holding `"{}"` where the
            class name goes.
        batch_size: Images per forward pass (arrays and unbatched datasets).

    Returns:
        A dict: `"accuracy"` (the share of images classified right),
        `"balanced_accuracy"` (the mean of the per-class accuracies),
        `"per_class_accuracy"` (`{class name: accuracy}` for the classes
        that have images, in class-id order), `"chance_uniform"` (`1 /
        num_classes`), `"chance_majority"` (the commonest label's share),
        `"predictions"` (`(N,)` int64 predicted class ids) and
        `"num_images"`.

    Raises:
        ValueError: for labels that are not one integer id per image in
            range, empty or repeated class names, templates that are not a
            sequence of strings each holding `"{}"`, no images, a dataset
            of tuples, or image and prompt embeddings of different widths.

    Example:
    >>> test = kc.data.load_pairs("emoji", "test", image_size=32, with_labels=True)
    >>> result = zero_shot(model, test.map(lambda image, caption, label: image), test.labels,
    ...                    kc.data.pair_class_names("emoji"), templates=("a picture of a {}", "{}"))
    >>> result["accuracy"], result["chance_majority"]
    """
    names = _class_names(class_names)
    prompts = _templates(templates)
    batch_size = check_positive_int(batch_size, "batch_size")
    labels = _labels(labels, len(names))
    image_embeddings = embed_images(model, images, batch_size)
    if not len(image_embeddings):
        raise ValueError("zero_shot got no images to classify.")
    if len(labels) != len(image_embeddings):
        raise ValueError(
            f"Expected one label per image: got {len(image_embeddings)} images and {len(labels)} labels."
        )
    texts = np.array([template.replace("{}", name) for template in prompts for name in names])
    prompt_embeddings = np.asarray(model.embed_pair(texts, batch_size=batch_size), np.float32)
    if prompt_embeddings.ndim != 2 or prompt_embeddings.shape[1] != image_embeddings.shape[1]:
        raise ValueError(
            f"The images embed to width {image_embeddings.shape[1]} but the prompts to shape "
            f"{prompt_embeddings.shape}: zero-shot compares them in one space, as a CLIP model serves them."
        )
    per_template = unit_rows(prompt_embeddings, "prompt embeddings").reshape(len(prompts), len(names), -1)
    classes = unit_rows(per_template.mean(axis=0), "class embeddings (the mean of each class's prompts)")
    similarities = unit_or_zero_rows(image_embeddings, "image embeddings") @ classes.T
    predictions = np.argmax(similarities, axis=1).astype(np.int64)
    correct = predictions == labels
    counts = np.bincount(labels, minlength=len(names))
    hits = np.bincount(labels, weights=correct, minlength=len(names))
    per_class = {names[c]: float(hits[c] / counts[c]) for c in range(len(names)) if counts[c]}
    return {
        "accuracy": float(correct.mean()),
        "balanced_accuracy": float(np.mean(list(per_class.values()))),
        "per_class_accuracy": per_class,
        "chance_uniform": 1.0 / len(names),
        "chance_majority": float(counts.max() / len(labels)),
        "predictions": predictions,
        "num_images": int(len(labels)),
    }


def embed_images(model, images, batch_size: int = 256) -> np.ndarray:
    """`model.predict` of an array of images or of a `tf.data.Dataset` of images alone, as float32 `(N, D)`.

    Args:
        model: A model whose `predict` embeds images.
        images: `(N, H, W, C)` images (array or tensor), or a dataset of
            `(H, W, C)` images (batched by `batch_size`) or `(batch, H, W, C)` batches.
        batch_size: Images per forward pass of an array or unbatched dataset.

    Returns:
        float32 `(N, D)` embeddings.

    Raises:
        ValueError: for a dataset whose elements are tuples or dicts, or are not images.

    Example:
    >>> embed_images(model, pairs.map(lambda image, caption: image))
    """
    if isinstance(images, tf.data.Dataset):
        spec = images.element_spec
        if not isinstance(spec, tf.TensorSpec):
            raise ValueError(
                "Expected a tf.data.Dataset of images alone, got elements of spec "
                f"{spec}; keep the images, e.g. pairs.map(lambda image, caption, *label: image)."
            )
        if spec.shape.rank == 3:
            images = images.batch(batch_size)
        elif spec.shape.rank != 4:
            raise ValueError(
                "Expected a dataset of (H, W, C) images or (batch, H, W, C) batches, got elements of shape "
                f"{spec.shape}."
            )
        embeddings = model.predict(images.prefetch(tf.data.AUTOTUNE), verbose=0)
    else:
        images = images if tf.is_tensor(images) else np.asarray(images)
        embeddings = model.predict(images, batch_size=batch_size, verbose=0)
    return np.asarray(embeddings, np.float32)


def unit_or_zero_rows(embeddings, name: str) -> np.ndarray:
    """`embeddings` as float32 unit rows, a row of zeros left zero (cosine 0 with everything).

    Args:
        embeddings: A `(N, D)` array of finite numbers.
        name: The argument's name, for the messages.

    Returns:
        A float32 `(N, D)` array whose rows have norm 1, or 0 where the row was zeros.

    Raises:
        ValueError: for anything but a 2-D array of finite numbers.

    Example:
    >>> unit_or_zero_rows([[3.0, 4.0], [0.0, 0.0]], "embeddings")
    array([[0.6, 0.8], [0. , 0. ]], dtype=float32)
    """
    array = np.asarray(embeddings)
    if array.dtype.kind not in "iuf" or array.ndim != 2:
        raise ValueError(f"Expected {name} to be a (N, D) array of numbers, got shape {array.shape} of {array.dtype}.")
    zero = ~np.any(array, axis=1)
    if not zero.any():
        return unit_rows(array, name)
    rows = np.zeros(array.shape, np.float32)
    rows[~zero] = unit_rows(array[~zero], name)
    return rows


def _class_names(class_names) -> list[str]:
    if class_names is None or isinstance(class_names, (str, bytes)):
        raise ValueError(f"Expected class_names to be a sequence of class-name strings, got {class_names!r}.")
    names = [name.decode("utf-8") if isinstance(name, bytes) else name for name in class_names]
    if not names:
        raise ValueError("Expected at least one class name, got none.")
    bad = [name for name in names if not isinstance(name, str) or not name.strip()]
    if bad:
        raise ValueError(f"Expected each class name to be a non-empty string, got {bad[0]!r}.")
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(
            f"Expected distinct class names (one per class id), got {', '.join(map(repr, repeated))} twice."
        )
    return names


def _templates(templates) -> list[str]:
    if templates is None or isinstance(templates, (str, bytes)):
        raise ValueError(
            f"Expected templates to be a sequence of strings, e.g. ('a picture of a {{}}',), got {templates!r}."
        )
    templates = list(templates)
    if not templates:
        raise ValueError("Expected at least one template, e.g. ('a picture of a {}',), got none.")
    for template in templates:
        if not isinstance(template, str) or "{}" not in template:
            raise ValueError(
                f"Expected each template to be a string holding '{{}}' where the class name goes, got {template!r}."
            )
    return templates


def _labels(labels, num_classes: int) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"Expected labels to be a 1-D array of class ids, one per image, got shape {array.shape}.")
    if array.dtype.kind not in "iu":
        raise ValueError(f"Expected labels to be integer class ids, got dtype {array.dtype}.")
    outside = (array < 0) | (array >= num_classes)
    if outside.any():
        raise ValueError(
            f"Expected labels in [0, {num_classes}) (one id per class name), got {int(array[outside][0])} "
            f"at position {int(np.argmax(outside))}."
        )
    return array.astype(np.int64)
