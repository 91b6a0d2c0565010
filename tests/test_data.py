"""Data loaders: checksums verified, shapes and ranges right, and offline failures that say what to do."""
import gzip
import hashlib
import http.server
import io
import pickle
import shutil
import tarfile
import threading
from functools import partial

import numpy as np
import pytest

from course import data
from course.data import ChecksumError, load_cifar10, load_mnist, parse_idx


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_mnist_is_bundled_with_the_canonical_sizes_and_ranges(mnist):
    assert mnist["X_train"].shape == (55000, 784) and mnist["X_val"].shape == (5000, 784)
    assert mnist["X_test"].shape == (10000, 784)
    assert mnist["X_train"].dtype == np.float32
    assert 0.0 == mnist["X_train"].min() and mnist["X_train"].max() == 1.0
    assert set(np.unique(mnist["y_test"])) == set(range(10))
    # the canonical test set begins 7, 2, 1, 0, 4
    assert list(mnist["y_test"][:5]) == [7, 2, 1, 0, 4]


def test_mnist_validation_split_is_optional_and_unflattened_images_keep_their_shape():
    small = load_mnist(num_validation=0, flatten=False)
    assert small["X_train"].shape == (60000, 28, 28) and len(small["X_val"]) == 0


def copy_mnist(tmp_path):
    for name, _ in data.MNIST_FILES.values():
        shutil.copy(data.MNIST_DIR / name, tmp_path / name)
    return tmp_path


def test_a_damaged_mnist_file_is_refused_with_the_way_to_restore_it(tmp_path):
    directory = copy_mnist(tmp_path)
    path = directory / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one wrong label
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(ChecksumError, match="git checkout -- data/mnist"):
        load_mnist(data_dir=directory)


def test_a_missing_mnist_file_names_the_file(tmp_path):
    directory = copy_mnist(tmp_path)
    (directory / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte.gz"):
        load_mnist(data_dir=directory)


def test_parse_idx_reads_shape_and_refuses_other_files():
    raw = b"\0\0\x08\x02" + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(range(6))
    np.testing.assert_array_equal(parse_idx(raw), [[0, 1, 2], [3, 4, 5]])
    with pytest.raises(ValueError, match="not an IDX file"):
        parse_idx(b"PK\x03\x04 a zip file")


# ---- CIFAR-10: a small archive in CIFAR's own format, served on the loopback interface ----

def cifar_batch(rng, n):
    return {b"batch_label": b"test", b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"filenames": [b"x.png"] * n}


def build_cifar_archive(path, rng, per_batch=20, test_size=30):
    batches = {f"data_batch_{i}": cifar_batch(rng, per_batch) for i in range(1, 6)}
    batches["test_batch"] = cifar_batch(rng, test_size)
    batches["batches.meta"] = {b"label_names": [c.encode() for c in data.CIFAR10_CLASSES]}
    with tarfile.open(path, "w:gz") as archive:
        for name, content in batches.items():
            raw = pickle.dumps(content, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return batches


@pytest.fixture
def cifar_server(tmp_path, rng):
    """An HTTP server on 127.0.0.1 that serves a fake cifar-10-python.tar.gz; yields (url, md5, batches, log)."""
    served = tmp_path / "served"
    served.mkdir()
    archive = served / data.CIFAR10_ARCHIVE
    batches = build_cifar_archive(archive, rng)
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=served))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/{data.CIFAR10_ARCHIVE}"
    yield url, "md5:" + hashlib.md5(archive.read_bytes()).hexdigest(), batches, requests
    server.shutdown()


def test_cifar10_is_downloaded_once_verified_and_decoded_channels_first(tmp_path, cifar_server):
    url, md5, batches, requests = cifar_server
    cache = tmp_path / "cache"
    cifar = load_cifar10(cache_dir=cache, num_validation=10, url=url, known_hash=md5)
    assert cifar["X_train"].shape == (90, 3072) and cifar["X_val"].shape == (10, 3072)
    assert cifar["X_test"].shape == (30, 3072) and cifar["X_train"].dtype == np.float32
    first = batches["data_batch_1"]
    np.testing.assert_allclose(cifar["X_train"][0], first[b"data"][0] / 255, rtol=1e-6)
    assert list(cifar["y_train"][:20]) == first[b"labels"]
    assert list(cifar["y_val"]) == batches["data_batch_5"][b"labels"][-10:]
    images = load_cifar10(cache_dir=cache, num_validation=10, flatten=False, url=url, known_hash=md5)["X_test"]
    assert images.shape == (30, 3, 32, 32)
    assert len(requests) == 1  # the second load used the cache


def test_cifar10_with_the_wrong_checksum_is_refused(tmp_path, cifar_server):
    url, _, _, _ = cifar_server
    with pytest.raises(ValueError, match="(?i)hash"):
        load_cifar10(cache_dir=tmp_path / "cache", url=url, known_hash="md5:" + "0" * 32)


def test_cifar10_offline_fails_fast_and_says_which_file_to_put_where(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError) as error:
        load_cifar10(cache_dir=cache, url="http://127.0.0.1:9/cifar-10-python.tar.gz")  # port 9: nothing listens
    assert "cifar-10-python.tar.gz" in str(error.value) and str(cache) in str(error.value)
    assert not data.cifar10_available(cache)
