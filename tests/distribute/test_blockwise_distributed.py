"""Blockwise NT-Xent, InfoNCE and SupCon under MirroredStrategy equal one device's full loss on the global batch."""

import numpy as np
import pytest

from tests.distribute.replicas import run_check
from tests.losses.test_blockwise import assert_gradients_close, loss_and_gradients, reference

SIZES = (3, 7)  # unequal halves, as the last partial batch of an epoch
TEMPERATURE = 0.2
BLOCK_SIZE = 3  # divides neither the 2N = 20 nor the N + K = 16 candidates


@pytest.fixture(scope="module")
def runs(tmp_path_factory, module_rng):
    """Fresh random inputs, and what each of the 2 replicas computed on its slice of them."""
    rng = module_rng
    n, dim = sum(SIZES), 8
    z_a = rng.normal(size=(n, dim))
    inputs = {"z_a": z_a, "z_b": 0.5 * z_a + rng.normal(size=(n, dim)), "negatives": rng.normal(size=(6, dim))}
    inputs = {name: value.astype("float32") for name, value in inputs.items()}
    inputs.update(labels=rng.integers(0, 3, size=n), sizes=np.array(SIZES), temperature=np.array(TEMPERATURE),
                  block_size=np.array(BLOCK_SIZE))
    return inputs, run_check("blockwise", inputs, tmp_path_factory.mktemp("blockwise"))


def replica_rows(name: str, replica: int) -> np.ndarray:
    """The global anchors a replica's per-anchor losses are, in its order: its views a (then its views b)."""
    start, n = sum(SIZES[:replica]), sum(SIZES)
    own = np.arange(start, start + SIZES[replica])
    return own if name == "info_nce" else np.concatenate([own, own + n])


@pytest.mark.parametrize("name", ["nt_xent", "info_nce", "supcon"])
def test_each_replica_gets_the_full_losses_and_gradients_of_its_own_rows(runs, name):
    inputs, outputs = runs
    extra = {"nt_xent": None, "info_nce": inputs["negatives"], "supcon": inputs["labels"]}[name]
    full_losses, full_gradients = loss_and_gradients(name, inputs["z_a"], inputs["z_b"], extra, TEMPERATURE, None)
    expected = reference(name, inputs["z_a"].astype(np.float64), inputs["z_b"].astype(np.float64), extra,
                         TEMPERATURE)
    split = np.cumsum(SIZES)[:-1]
    for replica in range(2):
        rows = replica_rows(name, replica)
        got = outputs[f"{name}_per_anchor_{replica}"]
        np.testing.assert_allclose(got, full_losses[rows], rtol=1e-5)
        np.testing.assert_allclose(got, expected["losses"][rows], rtol=1e-5)
        gradients = [outputs[f"{name}_gradient_{side}_{replica}"] for side in ("a", "b")]
        assert_gradients_close(gradients, [np.split(g, split)[replica] for g in full_gradients[:2]], rtol=1e-5)
        assert_gradients_close(gradients, [np.split(g, split)[replica] for g in expected["gradients"][:2]],
                               rtol=1e-3)


@pytest.mark.parametrize("name", ["nt_xent", "info_nce"])
def test_each_replicas_accuracy_is_the_argmax_of_its_rows_over_the_global_candidates(runs, name):
    inputs, outputs = runs
    extra = inputs["negatives"] if name == "info_nce" else None
    expected = reference(name, inputs["z_a"].astype(np.float64), inputs["z_b"].astype(np.float64), extra,
                         TEMPERATURE)
    hits = expected["argmax"] == expected["positives"]
    for replica in range(2):
        assert float(outputs[f"{name}_accuracy_{replica}"]) == pytest.approx(hits[replica_rows(name, replica)].mean())

