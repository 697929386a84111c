"""Distributed runs in a fresh process: `python -m tests.distribute.replicas CHECKS INPUTS.npz OUTPUTS.npz`.

Logical devices must be configured before TensorFlow first uses the CPU, so
the tests in this folder run these checks in a subprocess (`Check`) and
compare what they write with single-device results computed in the test
process. CHECKS is one or more of these, separated by commas:

- `nt_xent`: NT-Xent under `MirroredStrategy` on 2 logical CPUs; per replica,
  the logits, per-anchor losses and gradients with respect to its embeddings.
- `gathered_losses`: InfoNCE (with a queue of negatives), the
  multiple-negatives ranking loss (with each replica's hard negatives), the
  symmetric InfoNCE (with a tensor temperature), the in-batch softmax (with
  log-probabilities and string ids), SupCon, Barlow Twins, VICReg and the
  pair margin loss under `MirroredStrategy` on 2 logical CPUs; per replica,
  its losses and the gradients of its share of the global loss with respect
  to its inputs; and each replica's copy of a `FrequencyEstimator` after
  updates with the replicas' ids.
- `blockwise`: NT-Xent, InfoNCE (with a queue of negatives) and SupCon with
  `block_size` under `MirroredStrategy` on 2 logical CPUs, compiled; per
  replica, its losses, accuracies and the gradients of its share of the
  global loss with respect to its embeddings.
- `queue`: an `EmbeddingQueue` enqueued on 2 replicas with different
  batches; each replica's copy of its rows, pointer and fill count.
- `overflow`: the model's agreement between replicas on skipping a step
  whose loss-scaled gradients overflowed on one replica.
- `fit`: `ContrastiveModel.fit` and `evaluate` under `MirroredStrategy` on 2
  logical CPUs; the weights after training and the reported metrics.
- `upstream_loss_scaling`, `upstream_multi_worker`: the upstream behaviour
  each workaround of `keras_contrastive.distribute.compat` avoids (see
  tests/distribute/test_compat.py).

With `TF_CONFIG` set, the process is one worker of a
`MultiWorkerMirroredStrategy` with one CPU replica instead (the `fit` check
of tests/distribute/test_multi_worker.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[2]


class Check:
    """`checks` running in a new Python process with `inputs`; `result()` waits for its outputs."""

    def __init__(self, checks: str, inputs: dict, directory: Path, env: dict | None = None, name: str = "run"):
        inputs_path = directory / f"{name}_inputs.npz"
        self.outputs_path = directory / f"{name}_outputs.npz"
        np.savez(inputs_path, **inputs)
        command = [sys.executable, "-m", "tests.distribute.replicas", checks, str(inputs_path),
                   str(self.outputs_path)]
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
        self.process = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)

    def stop(self) -> None:
        """Kills the process if it is still running."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def result(self, timeout: float = 240) -> dict:
        try:
            log = self.process.communicate(timeout=timeout)[0]
        finally:
            self.stop()
        assert self.process.returncode == 0, log[-6000:]
        with np.load(self.outputs_path) as outputs:
            return dict(outputs)


def run_check(checks: str, inputs: dict, directory: Path) -> dict:
    """Runs `checks` in a new Python process with `inputs` and returns its outputs."""
    return Check(checks, inputs, directory).result()


def _split(array, sizes):
    return np.split(array, np.cumsum(sizes)[:-1])


def check_nt_xent(tf, strategy, inputs: dict) -> dict:
    """Per-replica logits, losses and gradients of NT-Xent for each case's per-replica batch sizes.

    Inputs `case{k}_z_a`, `case{k}_z_b`, `case{k}_sizes` for k = 0, 1, ... and
    `temperature`; outputs `case{k}_{name}_{replica}`.
    """
    from keras_contrastive.losses.nt_xent import nt_xent_logits, nt_xent_per_anchor

    temperature = float(inputs["temperature"])
    outputs = {}
    case = 0
    while f"case{case}_sizes" in inputs:
        sizes = inputs[f"case{case}_sizes"].tolist()
        global_anchors = 2.0 * sum(sizes)
        slices = [_split(inputs[f"case{case}_{key}"], sizes) for key in ("z_a", "z_b")]
        local = strategy.experimental_distribute_values_from_function(
            lambda context: tuple(tf.constant(s[context.replica_id_in_sync_group]) for s in slices)
        )

        def replica_step(z_a, z_b):
            with tf.GradientTape() as tape:
                tape.watch([z_a, z_b])
                per_anchor = nt_xent_per_anchor(z_a, z_b, temperature)
                # Each replica's share of the global mean over all 2N anchors.
                share = tf.reduce_sum(per_anchor) / global_anchors
            gradient_a, gradient_b = tape.gradient(share, [z_a, z_b])
            logits, positives = nt_xent_logits(z_a, z_b, temperature)
            return per_anchor, gradient_a, gradient_b, logits, positives

        results = tf.function(lambda: strategy.run(replica_step, args=local))()
        names = ("per_anchor", "gradient_a", "gradient_b", "logits", "positives")
        for name, value in zip(names, results):
            for replica, part in enumerate(strategy.experimental_local_results(value)):
                outputs[f"case{case}_{name}_{replica}"] = part.numpy()
        case += 1
    return outputs


def check_gathered_losses(tf, strategy, inputs: dict) -> dict:
    """InfoNCE, the symmetric InfoNCE, SupCon, Barlow Twins and VICReg on each replica's slice (`sizes`) of one global batch.

    Inputs `queries`, `keys`, `negatives`, `features_a`, `features_b`,
    `labels`, `sizes`, `temperature`; outputs per replica
    `info_nce_per_anchor_{r}`, `info_nce_gradient_{queries,keys}_{r}`,
    `mnr_per_anchor_{r}`, `mnr_gradient_{queries,keys,hard}_{r}` (the
    multiple-negatives ranking loss of the queries, keys and the replica's
    slice of `hard_negatives`), `clip_per_example_{r}`,
    `clip_gradient_{queries,keys,temperature}_{r}` (the symmetric InfoNCE of
    the queries and keys, its temperature a tensor),
    `ibs_per_query_{r}`, `ibs_gradient_{queries,keys,log_q}_{r}` (the
    in-batch softmax of the queries and keys, with the replica's slices of
    `log_probabilities` and of the string `item_ids`), `supcon_{r}`,
    `supcon_gradient_{a,b}_{r}`, and `{barlow,vicreg,pair}_{r}` with
    `{barlow,vicreg,pair}_gradient_{a,b}_{r}` (pair: the pair margin loss of
    both views' features, labelled alike). Each gradient is of the replica's
    share of the global loss: for InfoNCE, the symmetric InfoNCE and SupCon
    its losses' sum over all anchors, for Barlow Twins, VICReg and the pair
    margin loss (whose every replica computes the global loss) the loss over
    the replica count, as `ContrastiveModel` divides it. Then a
    `FrequencyEstimator(estimator_buckets, 0.5)` counts two steps of the
    replicas' slices of `item_ids` (in the second, their first two ids): outputs
    `estimator_{steps,last_step,step_gap}_{r}`, each replica's copy.
    """
    from keras_contrastive.losses.barlow_twins import BarlowTwinsLoss, barlow_twins
    from keras_contrastive.losses.in_batch_softmax import in_batch_softmax_per_query
    from keras_contrastive.losses.info_nce import info_nce_per_anchor
    from keras_contrastive.methods.frequency_estimator import FrequencyEstimator
    from keras_contrastive.losses.multiple_negatives_ranking import multiple_negatives_ranking_per_anchor
    from keras_contrastive.losses.pair_margin import pair_margin
    from keras_contrastive.losses.supcon import supcon
    from keras_contrastive.losses.symmetric_info_nce import symmetric_info_nce_per_example
    from keras_contrastive.losses.vicreg import vicreg

    temperature = float(inputs["temperature"])
    sizes = inputs["sizes"].tolist()
    global_n = float(sum(sizes))
    names = ("queries", "keys", "features_a", "features_b", "labels", "hard_negatives", "log_probabilities",
             "item_ids")
    slices = [_split(inputs[name], sizes) for name in names]
    local = strategy.experimental_distribute_values_from_function(
        lambda context: tuple(tf.constant(s[context.replica_id_in_sync_group]) for s in slices)
    )
    negatives = tf.constant(inputs["negatives"])

    def replica_step(queries, keys, features_a, features_b, labels, hard_negatives, log_probabilities, item_ids):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([queries, keys, features_a, features_b, hard_negatives, log_probabilities])
            ibs_per_query = in_batch_softmax_per_query(queries, keys, temperature, log_probabilities, item_ids)
            ibs_share = tf.reduce_sum(ibs_per_query) / global_n
            per_anchor = info_nce_per_anchor(queries, keys, negatives, temperature)
            info_nce_share = tf.reduce_sum(per_anchor) / global_n
            mnr_per_anchor = multiple_negatives_ranking_per_anchor(queries, keys, hard_negatives, temperature)
            mnr_share = tf.reduce_sum(mnr_per_anchor) / global_n
            tensor_temperature = tf.constant(temperature)
            tape.watch(tensor_temperature)
            clip_per_example = symmetric_info_nce_per_example(queries, keys, tensor_temperature)
            clip_share = tf.reduce_sum(clip_per_example) / global_n
            supcon_mean = supcon(features_a, features_b, labels, temperature)
            supcon_share = supcon_mean * tf.cast(tf.shape(labels)[0], tf.float32) / global_n
            replicas = float(strategy.num_replicas_in_sync)
            barlow = barlow_twins(features_a, features_b)
            barlow_share = barlow / replicas
            variance_invariance_covariance = vicreg(features_a, features_b)
            vicreg_share = variance_invariance_covariance / replicas
            pair = pair_margin(features_a, features_b, labels)
            pair_share = pair / replicas
        # The Keras loss class of a batch-level loss returns each replica's share itself.
        barlow_class = BarlowTwinsLoss()(None, tf.stack([features_a, features_b], axis=1))
        return (per_anchor, *tape.gradient(info_nce_share, [queries, keys]),
                mnr_per_anchor, *tape.gradient(mnr_share, [queries, keys, hard_negatives]),
                clip_per_example, *tape.gradient(clip_share, [queries, keys, tensor_temperature]),
                ibs_per_query, *tape.gradient(ibs_share, [queries, keys, log_probabilities]), supcon_mean,
                *tape.gradient(supcon_share, [features_a, features_b]),
                barlow, *tape.gradient(barlow_share, [features_a, features_b]),
                variance_invariance_covariance, *tape.gradient(vicreg_share, [features_a, features_b]),
                pair, *tape.gradient(pair_share, [features_a, features_b]), barlow_class)

    results = tf.function(lambda: strategy.run(replica_step, args=local))()
    names = ("info_nce_per_anchor", "info_nce_gradient_queries", "info_nce_gradient_keys",
             "mnr_per_anchor", "mnr_gradient_queries", "mnr_gradient_keys", "mnr_gradient_hard",
             "clip_per_example", "clip_gradient_queries", "clip_gradient_keys", "clip_gradient_temperature",
             "ibs_per_query", "ibs_gradient_queries", "ibs_gradient_keys", "ibs_gradient_log_q", "supcon",
             "supcon_gradient_a", "supcon_gradient_b", "barlow", "barlow_gradient_a", "barlow_gradient_b",
             "vicreg", "vicreg_gradient_a", "vicreg_gradient_b", "pair", "pair_gradient_a", "pair_gradient_b",
             "barlow_class")
    outputs = {}
    for name, value in zip(names, results):
        for replica, part in enumerate(strategy.experimental_local_results(value)):
            outputs[f"{name}_{replica}"] = part.numpy()

    with strategy.scope():
        estimator = FrequencyEstimator(int(inputs["estimator_buckets"]), 0.5)
        estimator.build()
    ids = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(slices[-1][context.replica_id_in_sync_group])
    )
    count = tf.function(lambda ids: strategy.run(lambda i: (estimator.update(i), estimator.update(i[:2])),
                                                 args=(ids,)))
    count(ids)
    for name in ("steps", "last_step", "step_gap"):
        for replica, part in enumerate(strategy.experimental_local_results(getattr(estimator, name).value)):
            outputs[f"estimator_{name}_{replica}"] = part.numpy()
    return outputs


def check_blockwise(tf, strategy, inputs: dict) -> dict:
    """The blockwise losses on each replica's slice (`sizes`) of one global batch, with `block_size`.

    Inputs `z_a`, `z_b`, `negatives`, `labels`, `sizes`, `temperature`,
    `block_size`; outputs per replica `{loss}_per_anchor_{r}`,
    `{loss}_gradient_{a,b}_{r}` (of the replica's share of the global mean:
    its losses' sum over all anchors) and `{loss}_accuracy_{r}` for loss
    `nt_xent` and `info_nce` (`z_a` the queries, `z_b` the keys), and the
    same but the accuracy for `supcon`.
    """
    from keras_contrastive.losses.info_nce import info_nce_and_accuracy, info_nce_per_anchor
    from keras_contrastive.losses.nt_xent import nt_xent_and_accuracy, nt_xent_per_anchor
    from keras_contrastive.losses.supcon import supcon_per_anchor

    temperature, block_size = float(inputs["temperature"]), int(inputs["block_size"])
    sizes = inputs["sizes"].tolist()
    global_n = float(sum(sizes))
    slices = [_split(inputs[name], sizes) for name in ("z_a", "z_b", "labels")]
    local = strategy.experimental_distribute_values_from_function(
        lambda context: tuple(tf.constant(s[context.replica_id_in_sync_group]) for s in slices)
    )
    negatives = tf.constant(inputs["negatives"])
    losses = {
        "nt_xent": (lambda a, b, labels: nt_xent_per_anchor(a, b, temperature, block_size), 2 * global_n),
        "info_nce": (lambda a, b, labels: info_nce_per_anchor(a, b, negatives, temperature, block_size), global_n),
        "supcon": (lambda a, b, labels: supcon_per_anchor(a, b, labels, temperature, block_size), 2 * global_n),
    }

    def replica_step(z_a, z_b, labels):
        results = {}
        for name, (loss, anchors) in losses.items():
            with tf.GradientTape() as tape:
                tape.watch([z_a, z_b])
                per_anchor = loss(z_a, z_b, labels)
                share = tf.reduce_sum(per_anchor) / anchors
            results[f"{name}_per_anchor"] = per_anchor
            results[f"{name}_gradient_a"], results[f"{name}_gradient_b"] = tape.gradient(share, [z_a, z_b])
        results["nt_xent_accuracy"] = nt_xent_and_accuracy(z_a, z_b, temperature, block_size)[1]
        results["info_nce_accuracy"] = info_nce_and_accuracy(z_a, z_b, negatives, temperature, block_size)[1]
        return results

    results = tf.function(lambda: strategy.run(replica_step, args=local))()
    outputs = {}
    for name, value in results.items():
        for replica, part in enumerate(strategy.experimental_local_results(value)):
            outputs[f"{name}_{replica}"] = part.numpy()
    return outputs


def check_queue(tf, strategy, inputs: dict) -> dict:
    """Enqueues `batch_{step}_{replica}` on each replica for every step into a queue of `size` rows.

    Outputs per replica `embeddings_{r}`, `pointer_{r}` and `filled_{r}`.
    """
    from keras_contrastive.methods.embedding_queue import EmbeddingQueue

    with strategy.scope():
        queue = EmbeddingQueue(int(inputs["size"]))
        queue.build((None, inputs["batch_0_0"].shape[1]))
    enqueue = tf.function(lambda batches: strategy.run(queue.enqueue, args=(batches,)))
    step = 0
    while f"batch_{step}_0" in inputs:
        parts = [inputs[f"batch_{step}_{replica}"] for replica in range(2)]
        enqueue(strategy.experimental_distribute_values_from_function(
            lambda context: tf.constant(parts[context.replica_id_in_sync_group])
        ))
        step += 1
    outputs = {}
    for name in ("embeddings", "pointer", "filled"):
        variable = getattr(queue, name)
        for replica, part in enumerate(strategy.experimental_local_results(variable.value)):
            outputs[f"{name}_{replica}"] = part.numpy()
    return outputs


def check_overflow(tf, strategy, inputs: dict) -> dict:
    """Whether each replica's gradients are finite after the model's overflow agreement.

    Outputs `{case}_finite_{replica}` for the cases "one" (replica 1 alone
    overflowed) and "none" (no replica did), and `none_values_{replica}`.
    """
    from keras_contrastive.distribute.compat import non_finite_everywhere_if_anywhere

    outputs = {}
    for case, bad_value in (("one", np.inf), ("none", 2.0)):
        def replica_step(bad_value=bad_value):
            on_replica_1 = tf.equal(tf.distribute.get_replica_context().replica_id_in_sync_group, 1)
            gradients = [tf.ones((2, 2)), tf.where(on_replica_1, bad_value, 1.0) * tf.ones(3), None]
            agreed = non_finite_everywhere_if_anywhere(gradients)
            assert agreed[2] is None
            return tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in agreed[:2]]), agreed[1]

        finite, values = tf.function(lambda: strategy.run(replica_step))()
        for replica, (flag, value) in enumerate(zip(strategy.experimental_local_results(finite),
                                                    strategy.experimental_local_results(values))):
            outputs[f"{case}_finite_{replica}"] = flag.numpy()
            outputs[f"{case}_values_{replica}"] = value.numpy()
    return outputs


def check_upstream_loss_scaling(tf, strategy, inputs: dict) -> dict:
    """What Keras's own LossScaleOptimizer does when only replica 1's gradients overflow.

    Output `upstream_weights`: a variable of ones after one such step of
    SGD(0.1) under `LossScaleOptimizer`, without the model's agreement. While
    Keras decides to skip from the first replica's gradients alone, the
    overflow reaches the variable as a non-finite value.
    """
    import keras

    with strategy.scope():
        variable = keras.Variable(np.ones(3, np.float32))
        optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1))
        optimizer.build([variable])

    def replica_step():
        on_replica_1 = tf.equal(tf.distribute.get_replica_context().replica_id_in_sync_group, 1)
        optimizer.apply_gradients([(tf.where(on_replica_1, np.inf, 1.0) * tf.ones(3), variable)])

    tf.function(lambda: strategy.run(replica_step))()
    return {"upstream_weights": variable.numpy()}


def _error_of(call) -> str:
    """The message of the exception `call()` raises, or "" when it raises none."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - recorded for the test to read
        return f"{type(error).__name__}: {error}"[:2000]
    return ""


def check_upstream_multi_worker(tf, strategy, inputs: dict) -> dict:
    """What the workarounds of keras_contrastive.distribute.compat avoid, done the upstream way.

    Outputs: `in_multi_worker_mode` (the compat module's private TF call),
    `scalar_reduce_error` (Keras's mean of a scalar log over workers,
    `strategy.reduce("MEAN", value, axis=0)`), `vector_reduce` (the same of a
    `[1]`-shaped value), and `symbolic_build_error` (`fit` of a
    ContrastiveModel with Keras's own build step on `(view_a, view_b)` batches).
    """
    import keras

    import keras_contrastive as kc
    from keras_contrastive.distribute import compat
    from tests.distribute.models import encoder

    outputs = {"in_multi_worker_mode": np.array(compat.in_multi_worker_mode(strategy))}
    scalar = strategy.run(lambda: tf.constant(2.0))
    outputs["scalar_reduce_error"] = np.array(_error_of(lambda: strategy.reduce("MEAN", scalar, axis=0)))
    vector = strategy.run(lambda: tf.constant([2.0]))
    outputs["vector_reduce"] = strategy.reduce("MEAN", vector, axis=0).numpy()

    keras_own = {name: getattr(keras.Model, name) for name in vars(compat.OptimizerBuiltBeforeFit)
                 if not name.startswith("__")}
    with_keras_own_build = type("WithKerasOwnBuild", (kc.ContrastiveModel,), keras_own)
    with strategy.scope():
        model = with_keras_own_build(encoder(synchronized=False), kc.methods.SimCLR(projection_dim=8))
        model.compile(optimizer=keras.optimizers.SGD(0.1))
    views = tf.data.Dataset.from_tensor_slices((inputs["view_a"], inputs["view_b"])).batch(int(inputs["batch"]))
    outputs["symbolic_build_error"] = np.array(_error_of(lambda: model.fit(views, epochs=1, verbose=0)))
    return outputs


def check_fit(tf, strategy, inputs: dict) -> dict:
    """Trains each of `inputs["configurations"]` from its saved weights with `models.train`.

    Outputs, prefixed with the configuration: `weight_{i}`, `history_{name}`,
    `evaluate_{name}` and `iterations`.
    """
    import keras

    from tests.distribute.models import train

    data = {key: inputs[key] for key in ("view_a", "view_b")}
    outputs = {"replicas": np.array(strategy.num_replicas_in_sync)}
    for configuration in inputs["configurations"].tolist():
        result = train(configuration, str(inputs[f"weights_{configuration}"]), data, int(inputs["batch"]), strategy)
        prefix = f"{configuration}_"
        outputs.update({f"{prefix}weight_{i}": w for i, w in enumerate(result["weights"])})
        outputs.update({f"{prefix}history_{k}": np.array(v) for k, v in result["history"].items()})
        outputs.update({f"{prefix}evaluate_{k}": np.array(v) for k, v in result["evaluate"].items()})
        outputs[f"{prefix}iterations"] = np.array(result["iterations"])
        keras.backend.clear_session()
    return outputs


def main(checks: str, inputs_path: str, outputs_path: str) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf

    if "TF_CONFIG" in os.environ:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
        )
        # One strategy for all checks: separate ones would reuse collective keys.
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with np.load(inputs_path) as stored:
        inputs = dict(stored)
    known = {"nt_xent": check_nt_xent, "gathered_losses": check_gathered_losses, "blockwise": check_blockwise,
             "queue": check_queue,
             "overflow": check_overflow, "fit": check_fit, "upstream_loss_scaling": check_upstream_loss_scaling,
             "upstream_multi_worker": check_upstream_multi_worker}
    outputs = {}
    for name in checks.split(","):
        outputs.update(known[name](tf, strategy, inputs))
    np.savez(outputs_path, **outputs)


if __name__ == "__main__":
    main(*sys.argv[1:])
