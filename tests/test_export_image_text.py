"""An image-text (CLIP) model served as TF Serving would: embed_image, embed_text, search_images, without the package."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.export import export_image_text
from tests.serving import graph_ops, ops_outside_core_tensorflow, serve_in_fresh_process
from tests.text.corpus import sentences

SHAPE = (8, 8, 3)


@pytest.fixture(scope="module")
def model(module_rng):
    """A CLIP model of a small image encoder and a bag of embeddings, trained one step so the projections differ."""
    texts = sentences(module_rng, 64)
    tokenizer = kc.text.train_tokenizer(texts, vocabulary_size=100, sequence_length=8)
    images = module_rng.integers(0, 256, (64, *SHAPE), dtype=np.uint8)
    inputs = keras.Input(SHAPE)
    image_encoder = keras.Model(inputs, keras.layers.Dense(12)(keras.layers.Flatten()(inputs / 255.0)))
    model = kc.ContrastiveModel(image_encoder, kc.methods.CLIP(projection_dim=6),
                                pair_encoder=kc.encoders.bag_of_embeddings(tokenizer, embedding_dim=10))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(tf.data.Dataset.from_tensor_slices((images, texts)).batch(32), epochs=1, verbose=0)
    return model, images, texts


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    clip, images, _ = model
    ids = [f"picture_{i}.png" for i in range(len(images))]
    return export_image_text(clip, tmp_path_factory.mktemp("clip") / "serving", images, ids, k=5, verbose=False)


def test_the_model_serves_each_towers_projection_into_the_shared_space(model):
    clip, images, texts = model
    image_embeddings = clip.predict(images[:4], verbose=0)
    text_embeddings = clip.embed_pair(np.array(texts[:4]))
    projectors = clip.method.projectors
    np.testing.assert_allclose(image_embeddings, projectors[0](clip.encoder(images[:4])).numpy(), atol=1e-5)
    np.testing.assert_allclose(text_embeddings, projectors[1](clip.pair_encoder(tf.constant(texts[:4]))).numpy(),
                               atol=1e-5)
    assert image_embeddings.shape == text_embeddings.shape == (4, 6) and clip.embedding_dim == 6
    assert clip.predict(images[:0]).shape == (0, 6) and clip.embed_pair(np.array([], str)).shape == (0, 6)


def test_a_fresh_process_without_the_package_embeds_and_searches_images_by_text(model, exported, rng, tmp_path):
    clip, images, texts = model
    queries = sentences(rng, 3) + texts[:2]
    image_queries = images[:3]
    answers = serve_in_fresh_process(tmp_path, [
        (exported, "embed_image", "images", image_queries),
        (exported, "embed_text", "text", np.array([t.encode("utf-8") for t in queries])),
        (exported, "search_images", "text", np.array([t.encode("utf-8") for t in queries])),
    ])

    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    np.testing.assert_allclose(answers[0]["outputs"]["embedding"], unit(clip.predict(image_queries, verbose=0)),
                               atol=1e-5)
    text_embeddings = unit(clip.embed_pair(np.array(queries)))
    np.testing.assert_allclose(answers[1]["outputs"]["embedding"], text_embeddings, atol=1e-5)
    # The served search is a brute-force top-5 over the same image embeddings.
    scores = text_embeddings @ unit(clip.predict(images, verbose=0)).T
    top = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    found = answers[2]["outputs"]
    assert found["ids"] == [f"picture_{i}.png" for i in top.ravel()]  # strings come back flattened
    np.testing.assert_allclose(found["scores"], np.take_along_axis(scores, top, axis=1), atol=1e-5)


def test_the_signatures_take_what_they_say_and_hold_only_core_ops(exported):
    saved = tf.saved_model.load(str(exported))
    assert {"serving_default", "serving_float", "embed_pair", "search", "embed_image", "embed_text",
            "search_images"} <= set(saved.signatures)
    assert list(saved.signatures["search_images"].structured_input_signature[1]) == ["text"]
    assert list(saved.signatures["embed_image"].structured_input_signature[1]) == ["images"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a string tensor"):
        saved.signatures["search_images"](text=tf.constant([1, 2]))
    assert ops_outside_core_tensorflow(graph_ops(exported)) == []


def test_a_model_of_other_towers_is_refused_naming_them(tmp_path, rng):
    encoder = kc.encoders.small_cnn((8, 8, 1), widths=(4,))
    siamese = kc.ContrastiveModel(encoder, kc.methods.CLIP(projection_dim=4))
    with pytest.raises(ValueError, match="encoder takes images and whose pair_encoder takes strings, got towers "
                                         "of images and images"):
        export_image_text(siamese, tmp_path, rng.integers(0, 256, (4, 8, 8, 1), dtype=np.uint8), ids=list("abcd"))
    assert not any(tmp_path.iterdir())


def test_served_search_answers_text_queries_from_the_index(model, exported, rng):
    clip, images, _ = model
    search = kc.retrieval.ServedSearch(exported, "search_images")
    assert search.queries == "text" and search.image_shape is None and search.k == 5
    queries = sentences(rng, 2)
    ids, scores = search(queries)
    similarity = clip.embed_pair(np.array(queries)) @ clip.predict(images, verbose=0).T
    similarity /= np.linalg.norm(clip.embed_pair(np.array(queries)), axis=1, keepdims=True)
    similarity /= np.linalg.norm(clip.predict(images, verbose=0), axis=1)
    best = np.argsort(-similarity, axis=1, kind="stable")[:, :5]
    assert ids.tolist() == [[f"picture_{i}.png" for i in row] for row in best]
    np.testing.assert_allclose(scores, np.take_along_axis(similarity, best, axis=1), atol=1e-5)
    with pytest.raises(ValueError, match="text queries as a sequence of strings"):
        search(images[:2])
    assert kc.retrieval.ServedSearch(exported).queries == "images"
