"""zero_shot: the nearest class prompt (templates averaged, CLIP's ensembling), against NumPy, and its refusals."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.evaluation import zero_shot

DIM = 6


def two_tower_model(texts, text_vectors, dim=DIM):
    """A CLIP model that serves chosen embeddings: an image (1, 1, dim) is its own, a text its row of `text_vectors`.

    The image tower flattens its input, the text tower looks the string up in
    a table, and both CLIP projections are set to the identity, so that
    `predict` and `embed_pair` return exactly what a test put in.
    """
    image_input = keras.Input((1, 1, dim))
    image_tower = keras.Model(image_input, keras.layers.Flatten()(image_input))
    text_input = keras.Input((), dtype="string")
    ids = keras.layers.StringLookup(vocabulary=list(texts), num_oov_indices=1)(text_input)
    table = np.concatenate([np.ones((1, dim)), np.asarray(text_vectors)]).astype("float32")  # row 0: unknown text
    vectors = keras.layers.Embedding(len(table), dim, embeddings_initializer=keras.initializers.Constant(table))(ids)
    model = kc.ContrastiveModel(image_tower, kc.methods.CLIP(projection_dim=dim),
                                pair_encoder=keras.Model(text_input, vectors))
    for projector in model.method.projectors:
        [dense] = projector.blocks
        dense.kernel.assign(np.eye(dim, dtype="float32"))
        dense.bias.assign(np.zeros(dim, "float32"))
    return model


def as_images(embeddings):
    return np.asarray(embeddings, "float32").reshape(len(embeddings), 1, 1, -1)


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


CLASSES = ["cat", "dog", "red car", "tree", "boat"]
TEMPLATES = ["a picture of a {}", "{}", "the {} in a drawing"]


@pytest.fixture(scope="module")
def setting(module_rng):
    """A model whose prompts embed to seeded random vectors of random norms, and images embedded likewise."""
    prompts = [template.replace("{}", name) for template in TEMPLATES for name in CLASSES]
    vectors = module_rng.normal(size=(len(prompts), DIM)) * module_rng.uniform(0.2, 5.0, size=(len(prompts), 1))
    images = module_rng.normal(size=(60, DIM)) * module_rng.uniform(0.2, 5.0, size=(60, 1))
    labels = module_rng.integers(0, len(CLASSES) - 1, size=60)  # class 4 ("boat") has no image
    labels[:4] = [0, 1, 2, 3]
    return two_tower_model(prompts, vectors), images, labels, vectors.reshape(len(TEMPLATES), len(CLASSES), DIM)


def reference(images, prompt_vectors):
    """Templates normalised, averaged and normalised again; each image to its most similar class."""
    classes = unit(unit(prompt_vectors).mean(axis=0))
    return np.argmax(unit(images) @ classes.T, axis=1)


def test_each_image_takes_the_class_of_its_nearest_ensembled_prompt(setting):
    model, images, labels, vectors = setting
    result = zero_shot(model, as_images(images), labels, CLASSES, templates=TEMPLATES)
    expected = reference(images, vectors)
    np.testing.assert_array_equal(result["predictions"], expected)
    assert result["predictions"].dtype == np.int64
    assert result["accuracy"] == pytest.approx(np.mean(expected == labels))
    per_class = {CLASSES[c]: np.mean(expected[labels == c] == c) for c in range(4)}
    assert result["per_class_accuracy"] == pytest.approx(per_class)
    assert list(result["per_class_accuracy"]) == CLASSES[:4]  # "boat" has no image: left out
    assert result["balanced_accuracy"] == pytest.approx(np.mean(list(per_class.values())))
    assert result["chance_uniform"] == pytest.approx(1 / 5)
    assert result["chance_majority"] == pytest.approx(np.bincount(labels).max() / len(labels))
    assert result["num_images"] == 60


def test_one_template_is_its_own_prompt_and_the_default_template_is_a_picture_of(setting):
    model, images, labels, vectors = setting
    single = zero_shot(model, as_images(images), labels, CLASSES, templates=["{}"])
    np.testing.assert_array_equal(single["predictions"], reference(images, vectors[1:2]))
    default = zero_shot(model, as_images(images), labels, CLASSES)
    np.testing.assert_array_equal(default["predictions"], reference(images, vectors[0:1]))


def test_a_dataset_of_images_batched_or_not_gives_what_the_array_gives(setting):
    model, images, labels, _ = setting
    expected = zero_shot(model, as_images(images), labels, CLASSES, templates=TEMPLATES)["predictions"]
    unbatched = tf.data.Dataset.from_tensor_slices(as_images(images))
    for dataset in (unbatched, unbatched.batch(7)):
        got = zero_shot(model, dataset, labels, CLASSES, templates=TEMPLATES, batch_size=16)
        np.testing.assert_array_equal(got["predictions"], expected)


def test_perfectly_aligned_prompts_classify_every_image(setting):
    model, _, _, vectors = setting
    classes = unit(unit(vectors).mean(axis=0))
    labels = np.array([0, 1, 2, 3, 4, 4, 2])
    result = zero_shot(model, as_images(classes[labels] * 3.0), labels, CLASSES, templates=TEMPLATES)
    assert result["accuracy"] == 1.0 and result["balanced_accuracy"] == 1.0
    assert result["chance_majority"] == pytest.approx(2 / 7)


def test_an_image_embedded_to_zeros_is_similar_to_no_class_and_takes_class_0(setting):
    model, images, labels, vectors = setting
    images = images.copy()
    images[5] = 0.0
    result = zero_shot(model, as_images(images), labels, CLASSES, templates=TEMPLATES)
    assert result["predictions"][5] == 0
    others = np.arange(60) != 5
    np.testing.assert_array_equal(result["predictions"][others], reference(images[others], vectors))


class Widths:
    """A model whose images embed to width 4 and texts to width 3."""

    def predict(self, x, batch_size=None, verbose=0):
        return np.ones((len(x), 4), "float32")

    def embed_pair(self, texts, batch_size=256):
        return np.ones((len(texts), 3), "float32")


def test_refuses_labels_class_names_and_templates_it_cannot_use(setting):
    model, images, labels, _ = setting
    x = as_images(images)
    cases = [
        (dict(labels=np.where(labels == 3, 5, labels)), r"labels in \[0, 5\) \(one id per class name\), got 5"),
        (dict(labels=-np.ones(60, int)), r"labels in \[0, 5\).*got -1 at position 0"),
        (dict(labels=labels.astype(float)), "integer class ids"),
        (dict(labels=labels[:59]), "got 60 images and 59 labels"),
        (dict(labels=labels[:, None]), "1-D array of class ids"),
        (dict(class_names=[]), "at least one class name"),
        (dict(class_names="cat"), "sequence of class-name strings"),
        (dict(class_names=["cat", "dog", "cat", "tree", "boat"]), "distinct class names.*'cat'"),
        (dict(class_names=["cat", "", "car", "tree", "boat"]), "non-empty string"),
        (dict(templates=["a picture of a %s"]), r"holding '\{\}' where the class name goes, got 'a picture of a %s'"),
        (dict(templates="a picture of a {}"), "templates to be a sequence of strings"),
        (dict(templates=[]), "at least one template"),
    ]
    for change, message in cases:
        arguments = {**dict(labels=labels, class_names=CLASSES, templates=TEMPLATES), **change}
        with pytest.raises(ValueError, match=message):
            zero_shot(model, x, arguments["labels"], arguments["class_names"], templates=arguments["templates"])
    with pytest.raises(ValueError, match="images alone"):
        zero_shot(model, tf.data.Dataset.from_tensor_slices((x, labels)), labels, CLASSES)
    with pytest.raises(ValueError, match="no images"):
        zero_shot(model, x[:0], labels[:0], CLASSES)
    with pytest.raises(ValueError, match="width 4 but the prompts to shape"):
        zero_shot(Widths(), x, labels, CLASSES)
