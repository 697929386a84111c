import json
import os
import subprocess
import sys

import numpy as np
import pytest

import keras_contrastive as kc
from keras_contrastive.export import export_embedder


@pytest.fixture(scope="module")
def model():
    return kc.ContrastiveModel(kc.encoders.small_cnn((12, 12, 1), widths=(8, 16)), kc.methods.SimCLR())


def normalised(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_a_fresh_process_without_the_package_serves_the_same_embeddings(model, tmp_path):
    path = export_embedder(model, tmp_path / "serving")
    assert path == tmp_path / "serving" / "1"
    images = np.random.default_rng(0).integers(0, 256, size=(5, 12, 12, 1)).astype("uint8")
    np.save(tmp_path / "images.npy", images)
    script = (
        "import json, sys, numpy as np, tensorflow as tf\n"
        f"loaded = tf.saved_model.load({str(path)!r})\n"
        "fn = loaded.signatures['serving_default']\n"
        f"images = np.load({str(tmp_path / 'images.npy')!r})\n"
        "out = fn(images=tf.constant(images))\n"
        "floats = loaded.signatures['serving_float'](images=tf.constant(images, tf.float32))\n"
        "print(json.dumps({'inputs': {k: [v.dtype.name, v.shape.as_list()] for k, v in fn.structured_input_signature[1].items()},\n"
        "  'outputs': sorted(out), 'embedding': out['embedding'].numpy().tolist(),\n"
        "  'float_embedding': floats['embedding'].numpy().tolist(),\n"
        "  'package_imported': 'keras_contrastive' in sys.modules}))\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH="")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    )
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["package_imported"] is False
    assert served["inputs"] == {"images": ["uint8", [None, 12, 12, 1]]}
    assert served["outputs"] == ["embedding"]
    expected = normalised(model.predict(images, verbose=0))
    np.testing.assert_allclose(np.array(served["embedding"]), expected, atol=1e-5)
    np.testing.assert_allclose(np.array(served["float_embedding"]), expected, atol=1e-5)


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


@pytest.mark.parametrize("version", [0, -1, 1.5])
def test_bad_version_is_refused(model, tmp_path, version):
    with pytest.raises(ValueError, match="version must be a positive integer"):
        export_embedder(model, tmp_path, version=version)
