"""Reader for the IDX file format used by MNIST-style datasets."""

import gzip
import math
import os
import struct
import zlib

import numpy as np

_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE_TYPE_CODE = 0x08


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """Reads an unsigned-byte IDX file, plain or gzip-compressed.

    The file starts with the magic number `0x000008NN` (unsigned bytes,
    `NN` dimensions), followed by one big-endian uint32 size per
    dimension and the data. Compression is detected from the content, not
    from the file name.

    Args:
        path: Path of the IDX file.
        ndim: The number of dimensions the file must declare (3 for
            images, 1 for labels).

    Returns:
        A writable `uint8` array with the shape declared in the header.

    Raises:
        ValueError: If the file is not valid gzip, has a wrong magic
            number, or its size does not match its header. The message
            names the file.

    Example:

    >>> labels = read_idx("train-labels-idx1-ubyte.gz", ndim=1)
    >>> labels.shape
    (60000,)
    """
    with open(path, "rb") as file:
        content = file.read()
    if content[:2] == _GZIP_MAGIC:
        try:
            content = gzip.decompress(content)
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise ValueError(
                f"Corrupt gzip data in IDX file {path}: {error}"
            ) from error

    expected_magic = bytes([0, 0, _UBYTE_TYPE_CODE, ndim])
    if content[:4] != expected_magic:
        raise ValueError(
            f"Bad magic number in IDX file {path}: got 0x{content[:4].hex()}, "
            f"expected 0x{expected_magic.hex()} (unsigned bytes, {ndim} "
            "dimension(s))."
        )
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise ValueError(
            f"IDX file {path} is truncated: {len(content)} bytes, shorter "
            f"than its {header_size}-byte header."
        )
    shape = struct.unpack(f">{ndim}I", content[4:header_size])
    expected_size = header_size + math.prod(shape)
    if len(content) != expected_size:
        raise ValueError(
            f"IDX file {path} has the wrong size: its header declares shape "
            f"{shape}, i.e. {expected_size} bytes, but it holds "
            f"{len(content)} bytes."
        )
    data = np.frombuffer(content, np.uint8, offset=header_size)
    return data.reshape(shape).copy()
