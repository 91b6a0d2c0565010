"""Data sets: MNIST from the copy bundled in data/mnist/, CIFAR-10 downloaded once into a cache.

Both loaders return a dict of float32 arrays scaled to [0, 1], one flattened example
per row, with integer labels:
X_train, y_train, X_val, y_val (the last num_validation training examples), X_test, y_test.
"""
import gzip
import hashlib
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pooch


def find_mnist_dir():
    """data/mnist beside this package or in a folder above it (a chapter's release folder
    carries its own copy of `course`), or $COURSE_MNIST_DIR."""
    if os.environ.get("COURSE_MNIST_DIR"):
        return Path(os.environ["COURSE_MNIST_DIR"])
    here = Path(__file__).resolve().parent
    for folder in here.parents:
        if (folder / "data" / "mnist").is_dir():
            return folder / "data" / "mnist"
    return here.parent / "data" / "mnist"


MNIST_DIR = find_mnist_dir()

# MD5 of the uncompressed files as published with MNIST: the gzip wrapping may
# differ between mirrors, the contents must not.
MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "6bbc9ace898e44ae57da46a324031adb"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "a25bea736e30d166cdddb491f175f624"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "2646ac647ad5339dbf082846283269ea"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "27ae3e4e09519cfbb04c329615203637"),
}

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_HASH = "md5:c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class ChecksumError(ValueError):
    """A data file does not have the contents it should."""


def parse_idx(raw: bytes) -> np.ndarray:
    """Decode the IDX format: 2 zero bytes, a type code, the number of dims, big-endian sizes, data."""
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise ValueError("not an IDX file: it must start with two zero bytes and a known type code")
    ndim = raw[3]
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    return np.frombuffer(raw, _IDX_DTYPES[raw[2]], offset=4 + 4 * ndim).reshape(shape)


def read_mnist_file(path: Path, md5: str) -> np.ndarray:
    """Read one gzipped IDX file and verify the MD5 of its uncompressed bytes."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing. The course bundles MNIST in data/mnist/: restore it with "
            f"`git checkout -- data/mnist` in the repository, or pass data_dir= to load_mnist."
        )
    with gzip.open(path, "rb") as f:
        raw = f.read()
    actual = hashlib.md5(raw).hexdigest()
    if actual != md5:
        raise ChecksumError(
            f"{path} is damaged: MD5 {actual} but MNIST's is {md5}. Restore it with `git checkout -- data/mnist`."
        )
    return parse_idx(raw)


def split_validation(X, y, num_validation):
    """Split off the last num_validation examples as a validation set."""
    if not 0 <= num_validation < len(X):
        raise ValueError(f"num_validation must be in [0, {len(X)}), not {num_validation}")
    cut = len(X) - num_validation
    return X[:cut], y[:cut], X[cut:], y[cut:]


def _to_float(images, flatten):
    X = images.astype(np.float32) / np.float32(255)
    return X.reshape(len(X), -1) if flatten else X


def load_mnist(data_dir=None, num_validation=5000, flatten=True):
    """MNIST digits: 60,000 training and 10,000 test images of 28 x 28 pixels, 10 classes.

    X_* are float32 in [0, 1], shape (N, 784) (or (N, 28, 28) with flatten=False);
    y_* are int64 labels 0-9. The last num_validation training images form X_val.
    """
    data_dir = Path(data_dir) if data_dir is not None else MNIST_DIR
    arrays = {key: read_mnist_file(data_dir / name, md5) for key, (name, md5) in MNIST_FILES.items()}
    X_train, y_train, X_val, y_val = split_validation(
        _to_float(arrays["train_images"], flatten), arrays["train_labels"].astype(np.int64), num_validation
    )
    return {
        "X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val,
        "X_test": _to_float(arrays["test_images"], flatten), "y_test": arrays["test_labels"].astype(np.int64),
    }


def cifar10_cache_dir():
    """Where the CIFAR-10 archive is kept: $COURSE_CACHE, or the user cache (~/.cache/course on Linux)."""
    return Path(os.environ.get("COURSE_CACHE") or pooch.os_cache("course"))


def fetch_cifar10(cache_dir=None, url=CIFAR10_URL, known_hash=CIFAR10_HASH):
    """Path of the verified CIFAR-10 archive, downloading it on first use."""
    cache_dir = Path(cache_dir) if cache_dir is not None else cifar10_cache_dir()
    try:
        return Path(pooch.retrieve(
            url, known_hash=known_hash, fname=CIFAR10_ARCHIVE, path=cache_dir,
            downloader=pooch.HTTPDownloader(timeout=30, progressbar=True),
        ))
    except OSError as error:  # requests' connection errors are OSErrors
        raise FileNotFoundError(
            f"CIFAR-10 is not downloaded and the download failed ({type(error).__name__}). "
            f"Put {CIFAR10_ARCHIVE} (from {url}) in {cache_dir}/ and call load_cifar10() again."
        ) from error


def cifar10_available(cache_dir=None):
    """True if the CIFAR-10 archive is already in the cache (no download is tried)."""
    cache_dir = Path(cache_dir) if cache_dir is not None else cifar10_cache_dir()
    return (cache_dir / CIFAR10_ARCHIVE).exists()


def _read_cifar_batch(archive, member):
    with archive.extractfile(member) as f:
        # the archive's checksum was verified before it is opened, so unpickling is safe
        batch = pickle.load(f, encoding="bytes")
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(batch[b"labels"], dtype=np.int64)


def load_cifar10(cache_dir=None, num_validation=1000, flatten=True, url=CIFAR10_URL, known_hash=CIFAR10_HASH):
    """CIFAR-10: 50,000 training and 10,000 test colour images of 32 x 32 pixels, 10 classes.

    X_* are float32 in [0, 1], shape (N, 3072) (or (N, 3, 32, 32) with flatten=False);
    y_* are int64 labels 0-9 (names in CIFAR10_CLASSES). The archive (163 MB) is
    downloaded into cache_dir on first use and its MD5 checked every time.
    """
    path = fetch_cifar10(cache_dir, url, known_hash)
    train, test = [], None
    with tarfile.open(path, "r:gz") as archive:
        members = {Path(m.name).name: m for m in archive.getmembers() if m.isfile()}
        for i in range(1, 6):
            train.append(_read_cifar_batch(archive, members[f"data_batch_{i}"]))
        test = _read_cifar_batch(archive, members["test_batch"])
    X_train, y_train, X_val, y_val = split_validation(
        _to_float(np.concatenate([x for x, _ in train]), flatten), np.concatenate([y for _, y in train]), num_validation
    )
    return {
        "X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val,
        "X_test": _to_float(test[0], flatten), "y_test": test[1],
    }


def subsample(data, num_train=None, num_val=None, num_test=None):
    """A smaller copy of a data dict, keeping the first examples of each split."""
    sizes = {"train": num_train, "val": num_val, "test": num_test}
    small = {}
    for key, array in data.items():
        limit = sizes.get(key.split("_", 1)[1])
        small[key] = array[:limit] if limit is not None else array
    return small
