"""Data for the Boltzmann-machine lab: the offline digits, verified downloads, uploads, models."""

from __future__ import annotations

import gzip
import hashlib
import io

import numpy as np
import pytest

from thermolab.ebm import data as ebm_data
from thermolab.ebm.data import DataError, dataset_from_bytes, digits, load_dataset
from thermolab.ebm.model import random_rbm
from thermolab.ebm.store import load_model, model_bytes, save_model


def test_digits_are_binary_with_a_fixed_split():
    first, second = digits(), digits()
    assert first.train.shape == (1497, 64) and first.test.shape == (300, 64)
    assert set(np.unique(first.train)) == {0.0, 1.0}
    np.testing.assert_array_equal(first.test, second.test)
    assert first.image_shape == (8, 8) and first.n_classes == 10
    assert "≥ 8 of 16" in first.source


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_uploads_are_validated():
    rng = np.random.default_rng(1)
    good = dataset_from_bytes(npz_bytes(data=rng.integers(0, 2, (50, 16))), name="x.npz")
    assert good.train.shape == (40, 16) and good.image_shape == (4, 4) and good.n_classes == 0
    csv = "p1,p2,p3,label\n" + "\n".join("1,0,1,2" if i % 2 else "0,1,1,0" for i in range(10))
    table = dataset_from_bytes(csv.encode(), name="t.csv")
    assert table.n_features == 3 and table.n_classes == 3
    for payload, name, message in [
        (npz_bytes(data=np.full((5, 3), 0.5)), "a.npz", "0 or 1"),
        (npz_bytes(x=np.zeros((5, 3))), "a.npz", "named 'data'"),
        (npz_bytes(data=np.zeros(5)), "a.npz", "2-D"),
        (npz_bytes(data=np.zeros((5, 3)), labels=np.zeros(4)), "a.npz", "labels must have"),
        (npz_bytes(data=np.zeros((5, 3)), labels=-np.ones(5)), "a.npz", "labels must lie"),
        (npz_bytes(data=np.zeros((3, 5000))), "a.npz", "caps"),
        (b"not a zip", "a.npz", "not a readable"),
        (b"1,0\n1\n", "a.csv", "different numbers"),
        (b"0,1\n1,x\n0,1\n", "a.csv", "not a number"),
        (b"\x00\x01", "a.bin", "upload an .npz or a .csv"),
        (b"0" * (ebm_data.MAX_UPLOAD_BYTES + 1), "a.csv", "more than"),
    ]:
        with pytest.raises(DataError, match=message):
            dataset_from_bytes(payload, name=name)


def idx_gz(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_is_verified_and_cached(monkeypatch, tmp_path):
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    files = {
        "train-images-idx3": idx_gz(images),
        "t10k-images-idx3": idx_gz(images),
        "train-labels-idx1": idx_gz(np.array([3, 4])),
        "t10k-labels-idx1": idx_gz(np.array([5, 6])),
    }
    monkeypatch.setattr(
        ebm_data,
        "FASHION_SHA256",
        {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    )
    fetched = []

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_urlopen(url, timeout):
        name = url.rsplit("/", 1)[1].removesuffix("-ubyte.gz")
        fetched.append(name)
        return Response(files[name])

    monkeypatch.setattr(ebm_data.urllib.request, "urlopen", fake_urlopen)
    dataset = ebm_data.fashion_mnist(cache_dir=tmp_path)
    assert dataset.train.shape == (2, 784) and list(dataset.test_labels) == [5, 6]
    assert dataset.train[0, 200] == (200 >= 128)
    assert len(fetched) == 4
    ebm_data.fashion_mnist(cache_dir=tmp_path)  # from the cache now
    assert len(fetched) == 4
    # A tampered cache file is dropped and fetched again; a tampered download is refused.
    (tmp_path / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    ebm_data.fashion_mnist(cache_dir=tmp_path)
    assert fetched[-1] == "t10k-labels-idx1"
    files["t10k-labels-idx1"] = b"evil"
    (tmp_path / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="sha256"):
        ebm_data.fashion_mnist(cache_dir=tmp_path)


def idx_raw(array: np.ndarray) -> bytes:
    """`array` as an uncompressed IDX file (ubyte type code 8, big-endian dimensions)."""
    return gzip.decompress(idx_gz(array))


def pin_idx_folder(monkeypatch, folder, files: dict[str, bytes]) -> None:
    """Write `files` (name → IDX bytes) into `folder` and pin their sha256 in place of MNIST's."""
    for name, data in files.items():
        (folder / name).write_bytes(data)
    monkeypatch.setattr(
        ebm_data,
        "MNIST_IDX_SHA256",
        {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    )


def test_mnist_from_a_folder_of_idx_files(monkeypatch, tmp_path):
    """Made IDX files stand in for MNIST's (their sha256 pinned in place of the real ones): read,
    verified and binarized like the download; a missing or altered file is refused in one line."""
    pixels = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    files = {
        "train-images-idx3-ubyte": idx_raw(pixels),
        "train-labels-idx1-ubyte": idx_raw(np.array([5, 0, 4])),
        "t10k-images-idx3-ubyte": idx_raw(pixels[:2] // 2),
        "t10k-labels-idx1-ubyte": idx_raw(np.array([7, 2])),
    }
    pin_idx_folder(monkeypatch, tmp_path, files)
    for dataset in (ebm_data.mnist(idx_dir=tmp_path), load_dataset(str(tmp_path))):
        assert dataset.name == "mnist" and dataset.image_shape == (28, 28)
        assert dataset.train.shape == (3, 784) and dataset.test.shape == (2, 784)
        assert dataset.train.dtype == np.uint8
        # Binarized at ≥ 128 of 255, as the downloaded MNIST is: pixel 127 → 0, pixel 128 → 1.
        np.testing.assert_array_equal(dataset.train, pixels.reshape(3, -1) >= 128)
        assert dataset.train[0, 127] == 0 and dataset.train[0, 128] == 1
        np.testing.assert_array_equal(dataset.test, (pixels[:2] // 2).reshape(2, -1) >= 128)
        assert list(dataset.train_labels) == [5, 0, 4] and list(dataset.test_labels) == [7, 2]
        assert "sha256-verified" in dataset.source
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_raw(np.array([7, 3])))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte has sha256 .* refused"):
        load_dataset(str(tmp_path))
    (tmp_path / "train-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match="lacks train-images-idx3-ubyte") as missing:
        ebm_data.mnist(idx_dir=tmp_path)
    assert "\n" not in str(missing.value)
    with pytest.raises(DataError, match="not a folder"):
        ebm_data.mnist(idx_dir=tmp_path / "nowhere")


def test_offline_message_points_at_digits(monkeypatch, tmp_path):
    def offline(url, timeout):
        raise OSError("no network")

    monkeypatch.setattr(ebm_data.urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match="'digits' data set needs no network"):
        ebm_data.mnist(cache_dir=tmp_path)
    with pytest.raises(DataError, match="not in the cache"):
        ebm_data.mnist(cache_dir=tmp_path, download=False)
    with pytest.raises(DataError, match="one of digits"):
        load_dataset("cifar")


def test_model_files_round_trip_and_refuse_junk(tmp_path):
    rbm = random_rbm(5, 3, weight_scale=0.5, seed=2)
    path = save_model(tmp_path / "m.npz", rbm, {"epochs": 3})
    loaded, metadata = load_model(path)
    np.testing.assert_array_equal(loaded.weights, rbm.weights)
    assert metadata == {"epochs": 3}
    assert load_model(model_bytes(rbm))[0].n_hidden == 3
    with pytest.raises(ValueError, match="lacks"):
        load_model(npz_bytes(weights=np.zeros((2, 2))))
    with pytest.raises(ValueError, match="not a readable"):
        load_model(b"junk")
    with pytest.raises(ValueError, match="NaN"):
        load_model(
            npz_bytes(
                weights=np.full((2, 2), np.nan), visible_bias=np.zeros(2), hidden_bias=np.zeros(2)
            )
        )


def test_data_sets_hold_one_byte_per_unit(monkeypatch, tmp_path):
    """The page caches up to three data sets on a shared server: one byte per pixel (MNIST's
    train split 47 MB, not 376 MB as float64), the same 0/1 values."""
    for dataset in (
        load_dataset("digits"),
        dataset_from_bytes(
            npz_bytes(data=np.random.default_rng(2).random((40, 9)) < 0.5), name="b.npz"
        ),
        dataset_from_bytes(b"a,b,label\n0,1,0\n1,1,1\n1,0,1\n", name="c.csv"),
    ):
        n_examples, n_pixels = dataset.train.shape
        assert dataset.train.nbytes <= n_examples * n_pixels
        assert dataset.test.nbytes <= dataset.test.size
        assert set(np.unique(dataset.train)) <= {0, 1}
    images = (np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256).astype(np.uint8)
    archive = npz_bytes(x_train=images, y_train=np.arange(3), x_test=images, y_test=np.arange(3))
    monkeypatch.setattr(ebm_data, "MNIST_SHA256", hashlib.sha256(archive).hexdigest())
    (tmp_path / "mnist.npz").write_bytes(archive)
    mnist = ebm_data.mnist(cache_dir=tmp_path, download=False)
    assert mnist.train.nbytes <= 3 * 784
    np.testing.assert_array_equal(mnist.train, images.reshape(3, -1) >= 128)
