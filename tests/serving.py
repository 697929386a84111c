"""Calling exported signatures in a fresh Python process that never imports the package, as TF Serving would."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

_SCRIPT = """
import json, sys, numpy as np, tensorflow as tf
requests = json.load(open(sys.argv[1]))
answers = []
for request in requests:
    signature = tf.saved_model.load(request["path"]).signatures[request["signature"]]
    inputs = {name: tf.constant(np.load(path, allow_pickle=False)) for name, path in request["inputs"].items()}
    outputs = signature(**inputs)
    answers.append({
        "inputs": {k: [v.dtype.name, v.shape.as_list()] for k, v in signature.structured_input_signature[1].items()},
        "outputs": {k: v.numpy().tolist() if v.dtype != tf.string else [x.decode() for x in v.numpy().ravel()]
                    for k, v in outputs.items()},
    })
print(json.dumps({"answers": answers, "package_imported": "keras_contrastive" in sys.modules}))
"""


#: The ops that call back into Python, which a model server cannot run.
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


def graph_ops(saved_model_dir) -> set[str]:
    """Every op of a SavedModel's graph, its own nodes and those of every function in its library."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(saved_model_dir) / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops |= {node.op for node in function.node_def}
    return ops


def ops_outside_core_tensorflow(ops: set[str]) -> list[str]:
    """The ops of `ops` that core TensorFlow does not register, or that run Python, sorted.

    An op counts as core when it is registered and has a `tf.raw_ops`
    wrapper: importing keras-hub imports TF Text, which registers its ops
    (WordPiece, SentencePiece) in this process's registry, but `tf.raw_ops`
    holds only the ops TensorFlow itself defines.
    """
    import tensorflow as tf
    from tensorflow.python.framework import op_def_registry

    unregistered = {op for op in ops if op_def_registry.get(op) is None or not hasattr(tf.raw_ops, op)}
    return sorted(unregistered | (ops & PYTHON_OPS))


def serve_in_fresh_process(directory: Path, requests: list[tuple]) -> list[dict]:
    """Runs each request in one new process without the package.

    A request is `(export_path, signature_name, input_name, array)` for a
    signature of one input, or `(export_path, signature_name, {input_name:
    array, ...})` for one of several (e.g. `recommend`'s `user_ids` and
    `exclude_seen`).

    Returns, per request, `{"inputs": {name: [dtype, shape]}, "outputs": {name: nested lists}}`
    (strings flattened, decoded); asserts the process never imported keras_contrastive.
    """
    entries = []
    for index, (path, signature, *given) in enumerate(requests):
        named = given[0] if len(given) == 1 else {given[0]: given[1]}
        inputs = {}
        for position, (input_name, array) in enumerate(named.items()):
            inputs[input_name] = str(directory / f"request_{index}_{position}.npy")
            np.save(inputs[input_name], np.asarray(array))
        entries.append({"path": str(path), "signature": signature, "inputs": inputs})
    requests_path = directory / "requests.json"
    requests_path.write_text(json.dumps(entries))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH="")
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(requests_path)], capture_output=True, text=True, env=env,
        cwd=directory, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["package_imported"] is False
    return served["answers"]
