import os
import subprocess
import sys
from pathlib import Path

import pytest

from keras_contrastive import serving_versions
from keras_contrastive.serving_versions import STAGING_PREFIX, write_version


def writing(text):
    def write(path):
        Path(path, "content").write_text(text)
    return write


def test_an_overwrite_swaps_whole_versions_in_one_step(tmp_path, monkeypatch):
    write_version(writing("old"), tmp_path, version=1)
    seen = []
    real_exchange = serving_versions.exchange

    def exchange_and_look(first, second):
        real_exchange(first, second)
        seen.append((Path(second, "content").read_text(), Path(first, "content").read_text()))

    monkeypatch.setattr(serving_versions, "exchange", exchange_and_look)
    write_version(writing("new"), tmp_path, version=1, overwrite=True)
    assert seen == [("new", "old")]  # right after the swap: version 1 whole and new, the old one aside
    assert (tmp_path / "1" / "content").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1"]


@pytest.mark.parametrize("window", ["before the swap", "after the swap"])
def test_a_writer_killed_around_the_swap_leaves_a_whole_version_and_its_leftovers_are_cleaned(tmp_path, window):
    write_version(writing("old"), tmp_path, version=1)
    patch = ("serving_versions.exchange = die" if window == "before the swap"
             else "serving_versions.shutil.rmtree = die")
    script = (
        "import os, signal\n"
        "from pathlib import Path\n"
        "from keras_contrastive import serving_versions\n"
        "def die(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"{patch}\n"
        "serving_versions.write_version(lambda p: Path(p, 'content').write_text('new'), "
        f"{str(tmp_path)!r}, version=1, overwrite=True)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == -9
    expected = "old" if window == "before the swap" else "new"
    assert (tmp_path / "1" / "content").read_text() == expected
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]  # the killed writer's leftovers
    write_version(writing("next"), tmp_path)  # the next writer removes them
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "2"]


def test_an_explicit_version_taken_meanwhile_is_a_clear_error_and_nothing_is_replaced(tmp_path):
    def racing_writer(path):
        Path(path, "content").write_text("mine")
        write_version(writing("theirs"), tmp_path, version=3)  # another process claims 3 first

    with pytest.raises(FileExistsError, match="was written by another process while this one wrote it"):
        write_version(racing_writer, tmp_path, version=3)
    assert (tmp_path / "3" / "content").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["3"]


def test_a_staging_directory_of_a_running_writer_is_left_alone(tmp_path):
    mine = tmp_path / f"{STAGING_PREFIX}{os.getpid()}-x"
    mine.mkdir()
    gone = tmp_path / f"{STAGING_PREFIX}999999999-y"
    gone.mkdir()
    assert serving_versions.remove_stale_staging(tmp_path) == [gone]
    assert mine.exists()
