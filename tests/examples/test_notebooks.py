"""Executes the example notebooks end to end on TFDS mock data with tiny settings."""

from pathlib import Path

import nbformat
from matplotlib import image as mpimg
from nbclient import NotebookClient

from keras_contrastive.data.emoji import emoji_glyphs
from keras_contrastive.data.wordnet import wordnet_dir
from tests.real_data import real_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Runs in the kernel before the parameters: TFDS serves random images of the right shape and dtype.
MOCK_DATA = """import tensorflow_datasets as tfds
_mock_data = tfds.testing.mock_data(num_examples=64)
_mock_data.__enter__()"""

TINY = """DATASET = {dataset!r}
TRAIN_IMAGES = 64
EPOCHS = 2
BATCH_SIZE = 16
LEARNING_RATE = 1e-3
TEMPERATURE = 0.2
CROP_SCALE = 0.5
FLIP = True
ENCODER = {encoder!r}
WIDTHS = (4, 8)
KNN_TRAIN_IMAGES = 48
KNN_TEST_IMAGES = 32
KNN_K = 10
KNN_EVERY = 1
PROBE_TRAIN_IMAGES = None
PROBE_EPOCHS = 1
MAP_POINTS = 40
OUT_DIR = {out_dir!r}
SEED = 0
CLASS_NAMES = None"""


def execute(notebook: str, parameters: str, tmp_path, before: str | None = None) -> tuple:
    """Runs `notebook` with its `parameters` cell replaced (and a `before` cell ahead of it): `(nb, printed text)`."""
    nb = nbformat.read(EXAMPLES / notebook, as_version=4)
    [cell] = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    cell.source = parameters
    if before is not None:
        nb.cells.insert(nb.cells.index(cell), nbformat.v4.new_code_cell(before))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(output.get("text", "") for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)
    return nb, printed


def displayed_images(nb) -> int:
    """How many PNG images an executed notebook shows."""
    return sum("image/png" in output.get("data", {}) for cell in nb.cells for output in cell.get("outputs", []))


def code_cells(notebook: str) -> list[str]:
    """The sources of a notebook's code cells, its parameters cell left out."""
    nb = nbformat.read(EXAMPLES / notebook, as_version=4)
    return [cell.source for cell in nb.cells
            if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", [])]


def test_the_mnist_notebook_is_the_cifar10_notebooks_code_with_other_parameters():
    # So executing the CIFAR-10 one (colour, the wider path) below runs every line of both.
    assert code_cells("mnist_simclr.ipynb") == code_cells("cifar10_simclr.ipynb")


def test_the_simclr_notebook_runs_end_to_end_on_mock_data(tmp_path):
    # small_cnn for CIFAR too: a ResNet-18 took 87 s here, and the encoders have their own tests.
    nb, outputs = execute("cifar10_simclr.ipynb",
                          TINY.format(dataset="cifar10", encoder="small_cnn", out_dir=str(tmp_path / "out")),
                          tmp_path, before=MOCK_DATA)
    assert "kNN accuracy by epoch: {1: " in outputs and ", 2: " in outputs
    assert "linear probe test accuracy, SimCLR" in outputs
    assert "largest difference from the model: " in outputs
    difference = float(outputs.split("largest difference from the model: ")[1].split()[0])
    assert difference < 1e-4  # the exported SavedModel serves the model's embedding
    for png in ("training_curves", "embedding_map", "retrieval_grid"):
        assert mpimg.imread(tmp_path / "out" / f"{png}.png").shape[0] > 100
    assert (tmp_path / "out" / "serving" / "1" / "saved_model.pb").is_file()
    assert displayed_images(nb) == 4  # the views, the curves, the map and the grid are shown in the notebook


TEXT_TINY = """MAX_PAIRS = 512
EPOCHS = 1
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
TEMPERATURE = 0.05
VOCABULARY_SIZE = 3000
SEQUENCE_LENGTH = 16
EMBEDDING_DIM = 32
TASKS = ("simlex999",)
OUT_DIR = {out_dir!r}
SEED = 0"""


def test_the_text_notebook_runs_end_to_end_on_512_wordnet_pairs(tmp_path):
    real_data(wordnet_dir)
    _, outputs = execute("text_simcse.ipynb", TEXT_TINY.format(out_dir=str(tmp_path / "out")), tmp_path)
    assert "512 training pairs" in outputs and "simlex999 spearman" in outputs
    assert outputs.count("right: ") == 5
    difference = float(outputs.split("largest difference from the model: ")[1].split()[0])
    assert difference < 1e-4  # the exported SavedModel serves the model's embedding of raw strings
    assert mpimg.imread(tmp_path / "out" / "text_figures.png").shape[0] > 100


CLIP_TINY = """PAIRS = "emoji"
IMAGE_SIZE = 32
TRAIN_PAIRS = 256
TEST_PAIRS = 64
EPOCHS = 1
BATCH_SIZE = 64
LEARNING_RATE = 3e-3
TEMPERATURE = 0.07
WIDTHS = (4, 8)
TEXT_DIM = 16
PROJECTION_DIM = 16
VOCABULARY_SIZE = 2000
SEQUENCE_LENGTH = 16
QUERIES = None
GRID_K = 4
SERVE_K = 5
OUT_DIR = {out_dir!r}
SEED = 0"""


def test_the_image_text_notebook_runs_end_to_end_on_a_subset_of_the_emoji(tmp_path):
    real_data(emoji_glyphs)
    nb, outputs = execute("image_text_clip.ipynb", CLIP_TINY.format(out_dir=str(tmp_path / "out")), tmp_path)
    assert "256 training pairs and 64 held-out pairs" in outputs and "training: " in outputs
    assert "learned temperature " in outputs
    for row in ("CLIP, trained", "random-init towers", "chance (uniform; a random ranking)"):
        assert row in outputs
    assert "the random init starts from training's initial weights: True" in outputs
    assert "the served ids are the model's top 5: True" in outputs
    difference = float(outputs.split("largest difference from the model: ")[1].split()[0])
    assert difference < 1e-4  # the exported search_images answers text queries as the model does
    for png in ("pairs", "training_curves", "text_queries"):
        assert mpimg.imread(tmp_path / "out" / f"{png}.png").shape[0] > 100
    assert (tmp_path / "out" / "serving" / "1" / "saved_model.pb").is_file()
    assert displayed_images(nb) == 3  # the pairs, the curves and the query grid are shown in the notebook


REC_TINY = """TRAIN_INTERACTIONS = 4000
EPOCHS = 1
BATCH_SIZE = 256
LEARNING_RATE = 3e-3
TEMPERATURE = 0.2
EMBEDDING_DIM = 16
HISTORY_LENGTH = 20
SERVE_K = 5
OUT_DIR = {out_dir!r}
SEED = 0"""


def test_the_recommendation_notebook_runs_end_to_end_on_a_subset_of_movielens(tmp_path):
    nb, outputs = execute("recommendation_two_tower.ipynb", REC_TINY.format(out_dir=str(tmp_path / "out")), tmp_path)
    assert "movielens: 4,000 training interactions" in outputs and "training: " in outputs
    for row in ("two-tower, trained", "random-init towers", "popularity", "svd"):
        assert f"\n{row} " in outputs
    assert outputs.count("recommended (* a held-out movie of theirs):") == 2
    assert "nearest movies:" in outputs
    assert "the served ids are the model's top 5: True" in outputs
    difference = float(outputs.split("largest difference from the model: ")[1].split()[0])
    assert difference < 1e-4  # the exported recommend signature answers user ids as the model does
    for png in ("training_curves", "recall"):
        assert mpimg.imread(tmp_path / "out" / f"{png}.png").shape[0] > 100
    assert (tmp_path / "out" / "serving" / "1" / "saved_model.pb").is_file()
    assert displayed_images(nb) == 2  # the curves and the recall bars are shown in the notebook
