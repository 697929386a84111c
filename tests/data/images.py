"""Image files of every format and mode the folder loaders read, written with Pillow, with the RGB pixels expected."""

from pathlib import Path

import numpy as np
from PIL import Image

HEIGHT, WIDTH = 6, 10


def _on_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None].astype(np.float64) / 255
    return np.round(rgb * a + 255 * (1 - a)).astype(np.uint8)


def write_images(folder: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Writes one file per format and mode into `folder`; returns {file name: expected RGB uint8 (H, W, 3)}."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (HEIGHT, WIDTH), dtype=np.uint8)
    alpha = rng.choice(np.array([0, 64, 128, 255], np.uint8), (HEIGHT, WIDTH))
    alpha[0, 0] = 128  # never all zero: that would count as opaque
    palette_image = Image.fromarray(rgb).quantize(7)
    palette_rgb = np.array(palette_image.convert("RGB"))
    expected = {}

    def save(name, image, pixels, **options):
        image.save(folder / name, **options)
        expected[name] = pixels

    gray_rgb = np.repeat(gray[..., None], 3, axis=-1)
    save("rgb.png", Image.fromarray(rgb), rgb)
    save("gray.png", Image.fromarray(gray), gray_rgb)
    save("rgba.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), _on_white(rgb, alpha))
    save("gray_alpha.png", Image.fromarray(np.dstack([gray, alpha]), "LA"), _on_white(gray_rgb, alpha))
    save("palette.png", palette_image, palette_rgb)
    transparent = palette_image.copy()
    index = np.array(palette_image)
    save("palette_transparent.png", transparent,
         np.where((index == 0)[..., None], np.uint8(255), palette_rgb), transparency=0)
    save("gray16.png", Image.fromarray(gray.astype(np.uint16) * 257), gray_rgb)
    save("rgb.bmp", Image.fromarray(rgb), rgb)
    save("palette.bmp", palette_image, palette_rgb)
    save("gray.bmp", Image.fromarray(gray), gray_rgb)
    save("palette.gif", palette_image, palette_rgb)
    second_frame = Image.fromarray(255 - rgb).quantize(7)
    save("animated.gif", palette_image, palette_rgb, save_all=True, append_images=[second_frame])
    # Lossy: compared with Pillow's own decoding of the same file.
    for name, image in [("rgb.jpg", Image.fromarray(rgb)), ("gray.jpeg", Image.fromarray(gray)),
                        ("cmyk.jpg", Image.fromarray(rgb).convert("CMYK"))]:
        image.save(folder / name, quality=95)
        expected[name] = np.array(Image.open(folder / name).convert("RGB"))
    return expected


def write_bad_files(folder: Path) -> list[Path]:
    """A truncated JPEG, an empty PNG and text named .gif: three files no decoder reads."""
    folder.mkdir(parents=True, exist_ok=True)
    corrupt, empty, text = folder / "corrupt.jpg", folder / "empty.png", folder / "notes.gif"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this JPEG stops here")
    empty.write_bytes(b"")
    text.write_text("not a picture")
    return [corrupt, empty, text]
