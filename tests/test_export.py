import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import keras_contrastive as kc
from keras_contrastive.export import export_embedder
from tests.serving import graph_ops, ops_outside_core_tensorflow, serve_in_fresh_process


@pytest.fixture(scope="module")
def model():
    return kc.ContrastiveModel(kc.encoders.small_cnn((12, 12, 1), widths=(8, 16)), kc.methods.SimCLR())


def normalised(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_a_fresh_process_without_the_package_serves_the_same_embeddings(model, tmp_path, rng):
    path = export_embedder(model, tmp_path / "serving")
    assert path == tmp_path / "serving" / "1"
    images = rng.integers(0, 256, size=(5, 12, 12, 1)).astype("uint8")
    uint8, floats = serve_in_fresh_process(
        tmp_path, [(path, "serving_default", "images", images), (path, "serving_float", "images", images.astype("float32"))]
    )
    assert uint8["inputs"] == {"images": ["uint8", [None, 12, 12, 1]]}
    assert floats["inputs"] == {"images": ["float32", [None, 12, 12, 1]]}
    assert list(uint8["outputs"]) == ["embedding"]
    expected = normalised(model.predict(images, verbose=0))
    np.testing.assert_allclose(np.array(uint8["outputs"]["embedding"]), expected, atol=1e-5)
    np.testing.assert_allclose(np.array(floats["outputs"]["embedding"]), expected, atol=1e-5)


def test_versions_count_up_and_an_existing_one_is_kept_unless_asked(model, tmp_path):
    base = tmp_path / "serving"
    assert export_embedder(model.encoder, base).name == "1"
    assert export_embedder(model, base, version=7).name == "7"
    assert export_embedder(model, base).name == "8"
    marker = base / "7" / "marker"
    marker.write_text("v7")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_embedder(model, base, version=7)
    assert marker.read_text() == "v7"
    export_embedder(model, base, version=7, overwrite=True)
    assert not marker.exists() and (base / "7" / "saved_model.pb").exists()
    assert sorted(p.name for p in base.iterdir()) == ["1", "7", "8"]  # no staging directories left


def test_a_version_gets_the_permissions_of_a_new_directory_so_another_user_can_serve_it(model, tmp_path):
    previous = os.umask(0o022)
    try:
        path = export_embedder(model, tmp_path / "serving")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o755


@pytest.mark.parametrize("version", [0, -1, 1.5, True])
def test_bad_version_is_refused(model, tmp_path, version):
    with pytest.raises(ValueError, match="version must be a positive integer"):
        export_embedder(model, tmp_path, version=version)


def test_the_signature_refuses_wrong_shapes_and_dtypes_naming_the_expected_shape(model, tmp_path):
    import tensorflow as tf

    serve = tf.saved_model.load(str(export_embedder(model, tmp_path))).signatures["serving_default"]
    for wrong_shape in ((2, 10, 10, 1), (2, 12, 12, 3)):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"expected shape \[\?,12,12,1\]"):
            serve(images=tf.zeros(wrong_shape, tf.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"expected to be a uint8 tensor"):
        serve(images=tf.zeros((2, 12, 12, 1), tf.int32))
    assert serve(images=tf.zeros((3, 12, 12, 1), tf.uint8))["embedding"].shape == (3, 16)


def test_the_graph_holds_only_core_tensorflow_ops(model, tmp_path):
    ops = graph_ops(export_embedder(model, tmp_path))
    assert "Conv2D" in ops  # the walk reached the encoder's functions
    assert ops_outside_core_tensorflow(ops) == []


def test_a_process_killed_mid_export_leaves_no_version_and_the_next_export_succeeds(model, tmp_path):
    base = tmp_path / "serving"
    export_embedder(model, base)
    before = sorted(p.name for p in (base / "1").rglob("*"))
    model_path = tmp_path / "m.keras"
    model.save(model_path)
    # The child writes the whole SavedModel, then dies by SIGKILL before the rename.
    script = (
        "import os, signal, keras, keras_contrastive as kc\n"
        "from keras_contrastive import export\n"
        "def die(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "export.os.replace = export.os.rename = die\n"
        f"export.export_embedder(kc.load_model({str(model_path)!r}), {str(base)!r})\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert result.returncode == -9
    assert [p.name for p in base.iterdir() if p.name.isdigit()] == ["1"]
    assert sorted(p.name for p in (base / "1").rglob("*")) == before
    assert export_embedder(model, base).name == "2"
    assert (base / "2" / "saved_model.pb").exists()


def test_a_grpc_predict_request_maps_onto_the_signature_and_back(model, tmp_path, rng):
    """The protos TF Serving speaks, built with tensorflow-serving-api (installed with --no-deps)."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    path = export_embedder(model, tmp_path / "serving")
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    images = rng.integers(0, 256, size=(7, 12, 12, 1)).astype("uint8")

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "embedder"
    request.model_spec.signature_name = "serving_default"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images))
    received = predict_pb2.PredictRequest.FromString(request.SerializeToString())  # over the wire
    assert received.inputs["images"].dtype == tf.uint8.as_datatype_enum
    inputs = {name: tf.constant(tf.make_ndarray(proto)) for name, proto in received.inputs.items()}
    assert set(inputs) == set(signature.structured_input_signature[1])

    response = predict_pb2.PredictResponse()
    response.model_spec.CopyFrom(received.model_spec)
    for name, value in signature(**inputs).items():
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
    answer = predict_pb2.PredictResponse.FromString(response.SerializeToString())
    assert list(answer.outputs) == ["embedding"]
    proto = answer.outputs["embedding"]
    assert proto.dtype == tf.float32.as_datatype_enum
    assert [d.size for d in proto.tensor_shape.dim] == [7, model.embedding_dim]
    np.testing.assert_allclose(
        tf.make_ndarray(proto), normalised(model.predict(images, verbose=0)), atol=1e-5
    )
