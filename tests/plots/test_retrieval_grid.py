import numpy as np
import pytest
from matplotlib import image as mpimg

from keras_contrastive.plots import plot_retrieval_grid


def solid(colours, size=8):
    """Images of one flat colour each."""
    return np.tile(np.asarray(colours, np.uint8)[:, None, None, :], (1, size, size, 1))


def centre_of(pixels, colour):
    """Median (row, column) of the pixels of exactly `colour`, or None if under 500 of them."""
    rows, columns = np.nonzero(np.all(pixels == np.asarray(colour, np.uint8), axis=-1))
    return (np.median(rows), np.median(columns)) if len(rows) > 500 else None


def test_each_row_shows_the_query_first_then_its_neighbours_most_similar_first(tmp_path):
    # Gallery image j: a flat colour of its own, embedded at angle 20j degrees.
    angles = np.radians(20 * np.arange(10))
    gallery_embeddings = np.stack([np.cos(angles), np.sin(angles)], axis=1) * np.arange(1, 11)[:, None]
    gallery_colours = [(20 + 20 * j, 200 - 15 * j, 60 + (j % 3) * 50) for j in range(10)]
    gallery_labels = np.array([0] * 5 + [1] * 5)
    query_angles = np.radians([-5, 185])
    query_embeddings = np.stack([np.cos(query_angles), np.sin(query_angles)], axis=1)
    query_colours = [(255, 0, 255), (0, 255, 255)]
    query_labels = np.array([0, 1])
    k = 4
    cell = 80
    neighbours = plot_retrieval_grid(
        solid(query_colours), query_labels, query_embeddings,
        solid(gallery_colours), gallery_labels, gallery_embeddings,
        tmp_path / "grid.png", k=k, cell_size=cell,
    )
    expected = [[0, 1, 2, 3], [9, 8, 7, 6]]
    np.testing.assert_array_equal(neighbours, expected)

    pixels = (mpimg.imread(tmp_path / "grid.png")[..., :3] * 255).round().astype(np.uint8)
    assert pixels.shape[:2] == (2 * (cell + 18), (k + 1) * cell)
    for row, (query_colour, order) in enumerate(zip(query_colours, expected)):
        drawn = [centre_of(pixels, query_colour)] + [centre_of(pixels, gallery_colours[j]) for j in order]
        assert all(centre is not None for centre in drawn), "every cell shows its image's own colour"
        query_row, query_column = drawn[0]
        assert query_column < cell  # the query is the first cell of its row
        assert query_row // (cell + 18) == row
        assert all(centre[0] // (cell + 18) == row for centre in drawn[1:])
        columns = [column for _, column in drawn]
        assert columns == sorted(columns), "left to right by similarity"
    # The two gallery images nearest neither query are not drawn.
    assert centre_of(pixels, gallery_colours[4]) is None and centre_of(pixels, gallery_colours[5]) is None


def test_grayscale_images_and_bad_input(tmp_path, rng):
    images = rng.integers(0, 256, (12, 8, 8, 1)).astype(np.uint8)
    embeddings = rng.normal(size=(12, 4))
    labels = rng.integers(0, 3, 12)
    neighbours = plot_retrieval_grid(images[:3], labels[:3], embeddings[:3], images, labels, embeddings,
                                     tmp_path / "grid.png", k=4, cell_size=64)
    # A query that is also in the gallery retrieves itself first.
    np.testing.assert_array_equal(neighbours[:, 0], [0, 1, 2])
    assert mpimg.imread(tmp_path / "grid.png").shape[:2] == (3 * (64 + 18), 5 * 64)
    with pytest.raises(ValueError, match="k must be between 1 and the 12 gallery images"):
        plot_retrieval_grid(images[:3], labels[:3], embeddings[:3], images, labels, embeddings, tmp_path / "g.png", k=13)
    with pytest.raises(ValueError, match="12 gallery images, 11 labels"):
        plot_retrieval_grid(images[:3], labels[:3], embeddings[:3], images, labels[:11], embeddings, tmp_path / "g.png")
