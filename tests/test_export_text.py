"""Text encoders exported for TF Serving: strings in, the graph of core TensorFlow ops, served without the package."""

import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.export import export_embedder
from tests.serving import graph_ops, ops_outside_core_tensorflow, serve_in_fresh_process
from tests.text.corpus import EDGE_STRINGS, sentences


@pytest.fixture(scope="module")
def tokenizer(module_rng):
    return kc.text.train_tokenizer(sentences(module_rng, 300), vocabulary_size=200, sequence_length=16)


@pytest.fixture(scope="module")
def exported(tokenizer, tmp_path_factory):
    """`{name: (model, export path)}` for the bag of embeddings and the transformer."""
    encoders = {
        "bag": kc.encoders.bag_of_embeddings(tokenizer, embedding_dim=16),
        "transformer": kc.encoders.text_transformer(
            tokenizer, embedding_dim=16, num_layers=1, num_heads=2, intermediate_dim=32
        ),
    }
    base = tmp_path_factory.mktemp("text_serving")
    out = {}
    for name, encoder in encoders.items():
        model = kc.ContrastiveModel(encoder, kc.methods.SimCLR(projection_dim=8))
        out[name] = (model, export_embedder(model, base / name))
    return out


@pytest.mark.parametrize("name, layer_op", [("bag", "GatherV2"), ("transformer", "BatchMatMulV2")])
def test_the_graph_holds_only_core_tensorflow_ops(exported, name, layer_op):
    ops = graph_ops(exported[name][1])
    assert {layer_op, "LookupTableFindV2", "StringSplitV2", "StaticRegexReplace"} <= ops  # tokenizer and encoder
    assert ops_outside_core_tensorflow(ops) == []


def test_a_fresh_process_without_the_package_serves_the_same_embeddings(exported, rng, tmp_path):
    texts = sentences(rng, 5) + EDGE_STRINGS
    inputs = np.array([t.encode("utf-8") for t in texts])  # bytes: np.load refuses pickled object arrays
    answers = serve_in_fresh_process(
        tmp_path, [(path, "serving_default", "text", inputs) for _, path in exported.values()]
    )
    for (model, _), answer in zip(exported.values(), answers):
        assert answer["inputs"] == {"text": ["string", [None]]}
        assert list(answer["outputs"]) == ["embedding"]
        expected = model.predict(tf.constant(texts), verbose=0)
        expected = expected / np.maximum(np.linalg.norm(expected, axis=1, keepdims=True), 1e-6)
        np.testing.assert_allclose(np.array(answer["outputs"]["embedding"]), expected, atol=1e-5)
        np.testing.assert_array_equal(np.array(answer["outputs"]["embedding"])[5:7], 0.0)  # "" and blank


def test_the_signature_refuses_anything_but_a_batch_of_strings(exported):
    serve = tf.saved_model.load(str(exported["bag"][1])).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a string tensor"):
        serve(text=tf.constant([1, 2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"expected shape \[\?\]"):
        serve(text=tf.constant([["a b"]]))


def test_the_core_op_check_catches_tf_text_and_python_ops():
    import keras_hub  # noqa: F401  (imports TF Text, registering its ops in this process)
    from tensorflow.python.framework import op_def_registry

    assert op_def_registry.get("FastWordpieceTokenizeWithOffsets") is not None
    found = ops_outside_core_tensorflow({"MatMul", "FastWordpieceTokenizeWithOffsets", "EagerPyFunc", "NoSuchOp"})
    assert found == ["EagerPyFunc", "FastWordpieceTokenizeWithOffsets", "NoSuchOp"]
