"""Tests on real data installed from Debian or PyPI: skip on a developer's machine without it, fail under CI."""

import os

import pytest


def missing_real_data(message: str):
    """Fails under CI (which installs every real data set the tests read), skips elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def real_data(load, *args, **kwargs):
    """`load(*args, **kwargs)`, or a skip (a failure under CI) when its files or package are missing."""
    try:
        return load(*args, **kwargs)
    except (FileNotFoundError, ImportError) as error:
        missing_real_data(str(error))
