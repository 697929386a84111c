import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.export import export_embedder, export_search
from tests.retrieval.reference import assert_matches_brute_force
from tests.serving import serve_in_fresh_process

K = 5


@pytest.fixture(scope="module")
def model(module_rng):
    keras.utils.set_random_seed(int(module_rng.integers(2**31)))  # the weights, reproducible from the seed
    return kc.ContrastiveModel(kc.encoders.small_cnn((12, 12, 1), widths=(8, 16)), kc.methods.SimCLR())


@pytest.fixture(scope="module")
def catalog(module_rng):
    images = module_rng.integers(0, 256, size=(37, 12, 12, 1)).astype("uint8")
    return images, np.array([f"photos/{i:03d}.jpg" for i in range(37)])


@pytest.fixture(scope="module")
def exported(model, catalog, tmp_path_factory):
    images, ids = catalog
    return export_search(model, tmp_path_factory.mktemp("search") / "serving", images, ids, k=K, verbose=False)


@pytest.fixture(scope="module")
def served(exported, catalog, module_rng, tmp_path_factory):
    """`search` and `serving_default` on new queries and on indexed images, all in one fresh process."""
    images, _ = catalog
    queries = module_rng.integers(0, 256, size=(6, 12, 12, 1)).astype("uint8")
    answers = serve_in_fresh_process(tmp_path_factory.mktemp("requests"), [
        (exported, "search", "images", queries),
        (exported, "serving_default", "images", queries),
        (exported, "search", "images", images[:4]),
    ])
    return dict(zip(("search", "embedding", "indexed"), answers), queries=queries)


def normalised(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def searched(answer):
    ids = np.array(answer["outputs"]["ids"]).reshape(-1, K)
    return ids, np.array(answer["outputs"]["scores"], np.float32)


def test_search_served_without_the_package_is_numpy_brute_force_over_the_same_embeddings(model, catalog, served):
    images, ids = catalog
    assert served["search"]["inputs"] == {"images": ["uint8", [None, 12, 12, 1]]}
    assert sorted(served["search"]["outputs"]) == ["ids", "scores"]
    found, scores = searched(served["search"])
    assert found.shape == scores.shape == (6, K)
    assert_matches_brute_force(
        found, scores, model.predict(served["queries"], verbose=0), model.predict(images, verbose=0), ids
    )


def test_the_same_export_serves_the_embedding_as_export_embedder_does(model, served):
    assert served["embedding"]["inputs"] == {"images": ["uint8", [None, 12, 12, 1]]}
    np.testing.assert_allclose(
        served["embedding"]["outputs"]["embedding"], normalised(model.predict(served["queries"], verbose=0)), atol=1e-5
    )


def test_an_indexed_image_finds_itself_first(catalog, served):
    _, ids = catalog
    found, scores = searched(served["indexed"])
    assert found[:, 0].tolist() == ids[:4].tolist()
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)


def test_the_graph_holds_only_core_tensorflow_ops(exported):
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import op_def_registry

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((exported / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops |= {node.op for node in function.node_def}
    assert {"Conv2D", "MatMul", "TopKV2", "GatherV2"} <= ops  # the walk reached the encoder and the search
    assert ops & {"While", "StatelessWhile"}
    unknown = sorted(op for op in ops if op_def_registry.get(op) is None)
    python_ops = sorted(ops & {"PyFunc", "PyFuncStateless", "EagerPyFunc"})
    assert unknown == [] and python_ops == []
    signatures = set(proto.meta_graphs[0].signature_def) - {"__saved_model_init_op"}
    assert signatures == {"serving_default", "serving_float", "search"}


def test_a_shuffled_dataset_of_image_id_pairs_exports_the_same_search(model, catalog, exported, tmp_path):
    images, ids = catalog
    pairs = tf.data.Dataset.from_tensor_slices((images, ids)).shuffle(37, seed=3).batch(8)
    again = export_search(model, tmp_path / "serving", pairs, k=K, verbose=False)
    queries = tf.constant(images[::5])
    expected = tf.saved_model.load(str(exported)).signatures["search"](images=queries)
    actual = tf.saved_model.load(str(again)).signatures["search"](images=queries)
    np.testing.assert_array_equal(actual["ids"].numpy(), expected["ids"].numpy())
    np.testing.assert_allclose(actual["scores"].numpy(), expected["scores"].numpy(), atol=1e-6)


def test_a_new_index_is_the_next_version_and_an_existing_one_is_kept(model, catalog, tmp_path):
    images, ids = catalog
    base = tmp_path / "serving"
    export_embedder(model, base)
    assert export_search(model, base, images[:8], ids[:8], k=2, verbose=False).name == "2"
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_search(model, base, images[:8], ids[:8], k=2, version=2, verbose=False)
    assert sorted(p.name for p in base.iterdir()) == ["1", "2"]


def test_bad_inputs_are_refused_naming_what_was_expected_and_nothing_is_written(model, catalog, tmp_path):
    images, ids = catalog
    base = tmp_path / "serving"
    cases = [
        ((images, ids[:36]), {}, "Expected 37 ids, one for each of the 37 images, got 36"),
        ((images, ids), {"k": 38}, "k must be between 1 and the 37 images in the index, got 38"),
        ((images, ids), {"k": 0}, "k must be a positive integer, got 0"),
        ((images, np.arange(37)), {}, r"Expected ids to be strings, but ids\[0\] is int \(0\)"),
        ((images, [b"\xff"] * 37), {}, r"ids\[0\] is bytes that are not UTF-8"),
        ((images, ["same"] * 37), {}, "Expected distinct ids, but 1 are repeated, e.g. 'same'"),
        ((images[:0], []), {}, "There is nothing to index: got no images"),
        ((images[:, :10], ids), {}, r"Expected examples to be a batch of images \(batch, 12, 12, 1\)"),
        ((tf.data.Dataset.from_tensor_slices((images, ids)), ids), {}, r"ids must be None for a dataset of \(exam"),
        ((images, ids), {"batch_size": 0}, "batch_size must be a positive integer"),
        ((images, ids), {"version": 0}, "version must be a positive integer"),
    ]
    for (examples, given), options, message in cases:
        with pytest.raises(ValueError, match=message):
            export_search(model, base, examples, given, verbose=False, **options)
    assert not base.exists()


_CONCURRENT_EXPORTER = """
import os, sys, time
from pathlib import Path
import numpy as np
import keras_contrastive as kc
from keras_contrastive import export

base, sync, me, other, model_path, images_path = sys.argv[1:]
rename, attempts = os.rename, []

def rename_when_both_are_ready(source, target):
    # Both processes reach the rename having computed the same free number, then race for it.
    if Path(target).parent == Path(base):
        attempts.append(Path(target).name)
        if len(attempts) == 1:
            (Path(sync) / me).touch()
            deadline = time.monotonic() + 240
            while not (Path(sync) / other).exists():
                if time.monotonic() > deadline:
                    sys.exit("the other exporter never got ready")
                time.sleep(0.005)
    return rename(source, target)

export.os.rename = rename_when_both_are_ready
images = np.load(images_path)
path = export.export_search(kc.load_model(model_path), base, images, [f"{me}-{i}" for i in range(len(images))],
                            k=2, verbose=False)
print(path.name, ",".join(attempts))
"""


def test_two_processes_exporting_at_once_get_two_intact_versions(model, catalog, tmp_path):
    images, _ = catalog
    base, sync = tmp_path / "serving", tmp_path / "sync"
    sync.mkdir()
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "images.npy", images[:6])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    processes = {
        me: subprocess.Popen(
            [sys.executable, "-c", _CONCURRENT_EXPORTER, str(base), str(sync), me, other, str(tmp_path / "m.keras"),
             str(tmp_path / "images.npy")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for me, other in (("a", "b"), ("b", "a"))
    }
    results = {}
    for me, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        results[me] = out.split()
    versions = {results[me][0]: me for me in results}
    assert sorted(versions) == ["1", "2"]  # different numbers, none lost
    assert sorted(attempts for _, attempts in results.values()) == ["1", "1,2"]  # they did collide on 1
    assert sorted(p.name for p in base.iterdir()) == ["1", "2"]  # no staging directory left
    for version, me in versions.items():
        search = tf.saved_model.load(str(base / version)).signatures["search"]
        found = search(images=tf.constant(images[:3]))["ids"].numpy()
        assert [row[0].decode() for row in found] == [f"{me}-{i}" for i in range(3)]


def test_a_process_killed_mid_export_leaves_no_version_and_the_next_export_succeeds(model, catalog, tmp_path):
    images, ids = catalog
    base = tmp_path / "serving"
    export_search(model, base, images[:5], ids[:5], k=2, verbose=False)
    before = sorted(p.name for p in (base / "1").rglob("*"))
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "images.npy", images)
    # The child embeds the index and writes the whole SavedModel, then dies by SIGKILL before the rename.
    script = (
        "import os, signal, numpy as np, keras_contrastive as kc\n"
        "from keras_contrastive import export\n"
        "def die(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "export.os.replace = export.os.rename = die\n"
        f"images = np.load({str(tmp_path / 'images.npy')!r})\n"
        f"export.export_search(kc.load_model({str(tmp_path / 'm.keras')!r}), {str(base)!r}, images,\n"
        "                      [str(i) for i in range(len(images))], k=3, verbose=False)\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert result.returncode == -9, result.stderr[-3000:]
    assert [p.name for p in base.iterdir() if p.name.isdigit()] == ["1"]
    assert sorted(p.name for p in (base / "1").rglob("*")) == before
    assert export_search(model, base, images[:5], ids[:5], k=2, verbose=False).name == "2"
    assert (base / "2" / "saved_model.pb").exists()
