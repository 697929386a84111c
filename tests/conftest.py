"""Shared test set-up: the Keras backend, quiet TensorFlow, and seeded randomness that a failure reports."""

import os
import secrets

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

#: Set it to rerun a failed test with the random inputs it failed on.
SEED_VARIABLE = "KERAS_CONTRASTIVE_TEST_SEED"


@pytest.fixture
def seed(request) -> int:
    """A fresh seed for each test (or `$KERAS_CONTRASTIVE_TEST_SEED`), reported when the test fails.

    Keras's and TensorFlow's global generators are seeded with it too, so
    weights initialised in the test are reproducible from the seed.
    """
    import keras

    value = int(os.environ.get(SEED_VARIABLE) or secrets.randbits(31))
    request.node._random_seed = value
    keras.utils.set_random_seed(value)
    return value


@pytest.fixture
def rng(seed) -> np.random.Generator:
    """A NumPy generator seeded with the test's `seed`."""
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def module_rng(request) -> np.random.Generator:
    """A seeded NumPy generator for module-scoped fixtures; every failing test of the module reports its seed."""
    value = int(os.environ.get(SEED_VARIABLE) or secrets.randbits(31))
    request.module._random_seed = value
    return np.random.default_rng(value)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    seed = getattr(item, "_random_seed", None) or getattr(getattr(item, "module", None), "_random_seed", None)
    if report.failed and seed is not None:
        report.sections.append(
            ("random seed", f"this test drew its random inputs from seed {seed}; rerun it with {SEED_VARIABLE}={seed}")
        )
