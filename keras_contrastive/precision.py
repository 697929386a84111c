"""The compute precision of a run: float32, or mixed bfloat16 where the CPU has bf16 units to run it on."""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path
from typing import Iterator

import keras

from keras_contrastive.validation import check_choice

#: The policies `precision_policy` and the command line's `--precision` take.
PRECISIONS = ("float32", "mixed_bfloat16")
#: /proc/cpuinfo flags of bf16 arithmetic units: x86's AVX-512 BF16 and AMX, Arm's BF16 extension.
BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")


def cpu_bf16_units(cpuinfo: str | None = None) -> tuple[str, ...]:
    """The CPU's bf16 instruction-set flags, as Linux reports them; none elsewhere.

    Without them bfloat16 is converted to float32 and back around every
    operation, so `mixed_bfloat16` runs slower than float32, not faster.

    Args:
        cpuinfo: The text of /proc/cpuinfo; by default this machine's (empty
            where there is none, as on macOS or Windows).

    Returns:
        The flags of `BF16_FLAGS` the CPU reports, e.g. `("avx512_bf16", "amx_bf16")`.

    Example:
    >>> cpu_bf16_units("flags\\t: fpu avx512f avx512_bf16\\n")
    ('avx512_bf16',)
    """
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if platform.system() == "Linux" and path.exists() else ""
    reported = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86, Arm
            reported.update(value.split())
    return tuple(flag for flag in BF16_FLAGS if flag in reported)


def describe_precision(policy: str, cpuinfo: str | None = None) -> str:
    """One line saying what precision a run computes in and whether this CPU has the units for it.

    Args:
        policy: One of `PRECISIONS`.
        cpuinfo: As in `cpu_bf16_units`.

    Returns:
        E.g. "precision: mixed_bfloat16 (this CPU's bf16 units: avx512_bf16, amx_bf16)".

    Example:
    >>> describe_precision("float32")
    'precision: float32'
    """
    check_choice(policy, "precision", PRECISIONS)
    if policy == "float32":
        return "precision: float32"
    units = cpu_bf16_units(cpuinfo)
    if units:
        return f"precision: {policy} (this CPU's bf16 units: {', '.join(units)})"
    return (f"precision: {policy}, but this CPU reports no bf16 units ({', '.join(BF16_FLAGS[:2])}): bfloat16 "
            "is emulated in float32 here and runs slower than float32 itself")


@contextlib.contextmanager
def precision_policy(policy: str) -> Iterator[str]:
    """Layers made inside the block compute in `policy`; the global policy is restored after it.

    Keras layers read the global dtype policy when they are made, so build the
    encoder and method (and train) inside the block. Under `mixed_bfloat16`
    the weights and the loss stay float32; `kc.evaluation.embed` and the
    exports return float32 embeddings (the encoder's own `predict` returns
    its compute dtype, bfloat16).

    Args:
        policy: One of `PRECISIONS`.

    Yields:
        `policy`.

    Raises:
        ValueError: for a policy outside `PRECISIONS`.

    Example:
    >>> with precision_policy("mixed_bfloat16"):
    ...     model, _, _ = kc.training.train_encoder(small_cnn((28, 28, 1)), SimCLR(), images, simclr(28, 1))
    """
    check_choice(policy, "precision", PRECISIONS)
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
