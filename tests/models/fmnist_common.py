"""Fashion-MNIST for the accuracy experiments: reading Debian's IDX files and the preprocessing.

The preprocessing here is the definition the C++ side (include/surgery/io/dataset.hpp) reproduces
bit for bit; its spec string is PREPROCESS_SPEC:

  x = uint8 pixel / 255 (float32)            [N, 1, 28, 28]
  zero-pad 2 pixels on every side            [N, 1, 32, 32]   (0 = black, the background)
  repeat the channel 3 times                 [N, 3, 32, 32]
  (x - MEAN) / STD per channel, float32      MEAN, STD: the 60,000 training images at 28x28

Only the standard library, NumPy and (for `preprocess`) torch are used; nothing is downloaded.
Debian package: dataset-fashion-mnist (files under /usr/share/datasets/fashion-mnist, gzipped).
"""

import gzip
from pathlib import Path

import numpy as np

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot")
NUM_CLASSES = 10
RAW_SIZE = 28
SIZE = 32
PAD = (SIZE - RAW_SIZE) // 2
CHANNELS = 3
# Mean and standard deviation of the training images' pixels scaled to [0, 1] (0.286041, 0.353024),
# rounded to 4 digits; the same decimal strings are used in the C++ spec, so both sides round the
# same double to the same float32.
MEAN = 0.2860
STD = 0.3530
PREPROCESS_SPEC = f"pad={SIZE}&channels={CHANNELS}&mean={MEAN:.4f}&std={STD:.4f}"


def dataset_spec(split="test", data_dir=DATA_DIR):
    """The C++ dataset spec (surgery::io::open_dataset) that reads `split` exactly as `load` + `preprocess` do."""
    return f"fmnist:{data_dir}?split={split}&{PREPROCESS_SPEC}"


class DataError(Exception):
    pass


def _find(data_dir, stem):
    for name in (stem, stem + ".gz"):
        p = Path(data_dir) / name
        if p.is_file():
            return p
    raise DataError(f"{Path(data_dir) / stem}[.gz] not found: install Debian's dataset-fashion-mnist "
                    f"(scripts/deps.sh data)")


def read_idx(path):
    """An unsigned-byte IDX file (optionally gzipped) as a NumPy uint8 array of its declared shape."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic)")
    if raw[2] != 0x08:
        raise DataError(f"{path}: IDX element type 0x{raw[2]:02x} is not unsigned byte (0x08)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
    start = 4 + 4 * ndim
    need = int(np.prod(dims, dtype=np.int64)) if dims else 1
    if len(raw) - start != need:
        raise DataError(f"{path}: IDX data has {len(raw) - start} bytes, shape {dims} needs {need}")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(dims).copy()


def load(split, data_dir=DATA_DIR):
    """(images uint8 [N, 28, 28], labels int64 [N]) of the 'train' or 'test' split."""
    images_stem, labels_stem = FILES[split]
    images = read_idx(_find(data_dir, images_stem))
    labels = read_idx(_find(data_dir, labels_stem)).astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DataError(f"{data_dir}: {split} images {images.shape} and labels {labels.shape} do not match")
    return images, labels


def preprocess(images_u8):
    """uint8 [N, 28, 28] (NumPy or torch) -> float32 torch tensor [N, 3, 32, 32] (see the module doc)."""
    import torch
    import torch.nn.functional as F
    x = torch.as_tensor(images_u8)
    if x.dtype != torch.uint8 or x.dim() != 3:
        raise DataError(f"preprocess: expected uint8 [N, H, W], got {x.dtype} {tuple(x.shape)}")
    x = x.to(torch.float32).div(255.0).unsqueeze(1)
    x = F.pad(x, (PAD, PAD, PAD, PAD), value=0.0)
    x = x.expand(-1, CHANNELS, -1, -1)
    mean = torch.full((1, CHANNELS, 1, 1), MEAN, dtype=torch.float32)
    std = torch.full((1, CHANNELS, 1, 1), STD, dtype=torch.float32)
    return ((x - mean) / std).contiguous()
