"""The SimCLR recipe's warmup-cosine schedule is Keras's CosineDecay with warmup: no class of ours.

These tests pin that down, so a change in Keras that breaks the recipe shows here.
"""

import math

import keras
import numpy as np
import pytest


def reference_warmup_cosine(step, peak, warmup_steps, total_steps):
    """SimCLR's schedule: linear from 0 to `peak` over the warmup, then cosine to 0 at `total_steps`."""
    if step < warmup_steps:
        return peak * step / warmup_steps
    progress = min(step - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def recipe(peak, warmup_steps, total_steps):
    return keras.optimizers.schedules.CosineDecay(
        0.0, total_steps - warmup_steps, warmup_target=peak, warmup_steps=warmup_steps
    )


@pytest.mark.parametrize("warmup_fraction", [0.0, 0.1, 0.5])
def test_cosine_decay_with_warmup_is_the_simclr_schedule(rng, warmup_fraction):
    total_steps = int(rng.integers(20, 2000))
    warmup_steps = int(warmup_fraction * total_steps)
    peak = float(rng.uniform(0.1, 5.0))
    schedule = recipe(peak, warmup_steps, total_steps)
    steps = sorted({0, 1, warmup_steps, warmup_steps + 1, total_steps - 1, total_steps, total_steps + 50,
                    *rng.integers(0, total_steps, 20).tolist()})
    for step in steps:
        np.testing.assert_allclose(
            float(schedule(step)), reference_warmup_cosine(step, peak, warmup_steps, total_steps),
            rtol=1e-5, atol=1e-6 * peak, err_msg=f"step {step}",
        )


def test_schedule_round_trips_through_config_and_a_float_start_keeps_it_float():
    schedule = recipe(1.5, 10, 100)
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert again.get_config() == schedule.get_config()
    assert float(again(37)) == float(schedule(37))
    # The start must be the float 0.0: Keras takes the schedule's dtype from it (an int 0 fails in the warmup).
    assert keras.backend.standardize_dtype(schedule(3).dtype) == "float32"
