"""Corpora, vocabulary, split and batches (thermolab.data). No test needs the network: the
download path is exercised against a local HTTP server and an unreachable address."""

from __future__ import annotations

import hashlib
import http.server
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from thermolab import data
from thermolab.data import (
    MAX_CORPUS_BYTES,
    TINY_SHAKESPEARE_SHA256,
    CharVocab,
    CorpusError,
    check_split,
    corpus_from_bytes,
    corpus_from_path,
    default_corpus,
    get_batch,
    load_corpus,
    split_tokens,
    tiny_shakespeare,
)

SHARED_SHAKESPEARE = Path("/work/shared/data/tinyshakespeare.txt")
needs_shakespeare = pytest.mark.skipif(
    not SHARED_SHAKESPEARE.is_file(), reason="no local copy of Tiny Shakespeare"
)
UNREACHABLE = "http://127.0.0.1:9/input.txt"  # the discard port: connection refused


@pytest.fixture(autouse=True)
def no_override(monkeypatch, tmp_path):
    monkeypatch.delenv("THERMOLAB_TINYSHAKESPEARE", raising=False)
    monkeypatch.setenv("THERMOLAB_CACHE", str(tmp_path / "cache"))


def serve(tmp_path: Path, body: bytes):
    """A local HTTP server on a free port that answers every GET with `body`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/input.txt"


# ------------------------------------------------------------------ corpora


def test_default_corpus_is_pythons_documentation_and_deterministic():
    first, second = default_corpus(), default_corpus()
    assert first == second
    assert len(first.text) > 100_000 and len(set(first.text)) > 50
    assert "pydoc_data" in first.source and "assert" in first.text


def test_default_corpus_falls_back_to_docstrings_without_pydoc_data(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydoc_data.topics", None)  # import now fails
    corpus = default_corpus()
    assert "docstrings" in corpus.source and len(corpus.text) > 10_000
    assert corpus == default_corpus()
    monkeypatch.setattr(data, "_standard_library_docstrings", lambda: "")
    with pytest.raises(CorpusError, match="tinyshakespeare"):
        default_corpus()


def test_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    assert data.cache_directory() == tmp_path / "cache"
    monkeypatch.delenv("THERMOLAB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_directory() == tmp_path / "xdg" / "thermolab"


@needs_shakespeare
def test_local_copy_verifies_through_the_override(monkeypatch):
    monkeypatch.setenv("THERMOLAB_TINYSHAKESPEARE", str(SHARED_SHAKESPEARE))
    corpus = tiny_shakespeare(download=False)
    assert len(corpus.text) == 1_115_394 and CharVocab.from_text(corpus.text).size == 65
    assert str(SHARED_SHAKESPEARE) in corpus.source


def test_override_with_the_wrong_file_names_both_hashes_and_keeps_it(monkeypatch, tmp_path):
    impostor = tmp_path / "not-shakespeare.txt"
    impostor.write_text("To be, or not to be: that is the question.\n" * 50)
    got = hashlib.sha256(impostor.read_bytes()).hexdigest()
    monkeypatch.setenv("THERMOLAB_TINYSHAKESPEARE", str(impostor))
    with pytest.raises(CorpusError) as error:
        tiny_shakespeare()
    assert TINY_SHAKESPEARE_SHA256 in str(error.value) and got in str(error.value)
    assert impostor.exists()  # the user's own file is never deleted
    monkeypatch.setenv("THERMOLAB_TINYSHAKESPEARE", str(tmp_path / "missing.txt"))
    with pytest.raises(CorpusError, match="cannot be read"):
        tiny_shakespeare()


def test_a_damaged_cached_copy_is_deleted(tmp_path):
    cache = tmp_path / "c"
    cache.mkdir()
    (cache / "tinyshakespeare.txt").write_text("truncated")
    with pytest.raises(CorpusError, match="offline"):
        tiny_shakespeare(cache_dir=cache, download=False)
    assert not (cache / "tinyshakespeare.txt").exists()


def test_offline_download_says_so_and_points_at_the_default(tmp_path):
    with pytest.raises(CorpusError) as error:
        tiny_shakespeare(cache_dir=tmp_path / "c", url=UNREACHABLE, timeout_s=2.0)
    message = str(error.value)
    assert "could not download" in message and "'default'" in message and UNREACHABLE in message
    assert list((tmp_path / "c").glob("*")) == []


def test_download_with_the_wrong_checksum_keeps_nothing(tmp_path):
    server, url = serve(tmp_path, b"a mirror serving something else\n")
    try:
        with pytest.raises(CorpusError) as error:
            tiny_shakespeare(cache_dir=tmp_path / "c", url=url)
    finally:
        server.shutdown()
    got = hashlib.sha256(b"a mirror serving something else\n").hexdigest()
    assert TINY_SHAKESPEARE_SHA256 in str(error.value) and got in str(error.value)
    assert list((tmp_path / "c").glob("*")) == []


@needs_shakespeare
def test_download_is_verified_then_cached(tmp_path):
    server, url = serve(tmp_path, SHARED_SHAKESPEARE.read_bytes())
    try:
        corpus = tiny_shakespeare(cache_dir=tmp_path / "c", url=url)
    finally:
        server.shutdown()
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["tinyshakespeare.txt"]
    assert "downloaded" in corpus.source
    again = tiny_shakespeare(cache_dir=tmp_path / "c", download=False, url=UNREACHABLE)
    assert again.text == corpus.text and "cached" in again.source


# ------------------------------------------------------------------ a user's own text


GOOD = ("The quick brown fox jumps over the lazy dog.\n" * 30).encode()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty"),
        (b"text\x00" * 400, "binary"),
        (b"caf\xc3\xa9 " * 300 + b"\xff" + b"x" * 100, r"not UTF-8.*byte 1800 \(0xff\)"),
        (b"too short", "9 characters; at least 1024"),
        (b"a" * 2000, "one distinct character"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(payload, message):
    with pytest.raises(CorpusError, match=message):
        corpus_from_bytes(payload, name="upload.txt")


def test_uploads_larger_than_the_limit_are_refused():
    with pytest.raises(CorpusError, match="at most 20 MB"):
        corpus_from_bytes(b"ab" * (MAX_CORPUS_BYTES // 2) + b"c", name="big.txt")


def test_a_good_upload_loses_only_its_byte_order_mark():
    corpus = corpus_from_bytes(b"\xef\xbb\xbf" + GOOD, name="notes.txt")
    assert corpus.text == GOOD.decode() and corpus.name == "notes.txt"
    assert corpus_from_bytes(b"ab" * 10, name="x", min_chars=20).text == "ab" * 10
    with pytest.raises(ValueError, match="min_chars"):
        corpus_from_bytes(GOOD, name="x", min_chars=0)


def test_paths_are_checked_before_reading(tmp_path):
    with pytest.raises(CorpusError, match="no file"):
        corpus_from_path(tmp_path / "absent.txt")
    with pytest.raises(CorpusError, match="directory"):
        corpus_from_path(tmp_path)
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as file:
        file.truncate(MAX_CORPUS_BYTES + 1)  # sparse: the size check must refuse it unread
    with pytest.raises(CorpusError, match=" MB"):
        corpus_from_path(huge)
    good = tmp_path / "good.txt"
    good.write_bytes(GOOD)
    corpus = corpus_from_path(good)
    assert corpus.text == GOOD.decode() and str(good) in corpus.source


def test_load_corpus_dispatches_on_its_spec(tmp_path, monkeypatch):
    assert load_corpus("default") == default_corpus()
    good = tmp_path / "good.txt"
    good.write_bytes(GOOD)
    assert load_corpus(str(good)).text == GOOD.decode()
    with pytest.raises(CorpusError, match="name a corpus"):
        load_corpus(" ")
    with pytest.raises(CorpusError, match="at least 10000000"):
        load_corpus("default", min_chars=10_000_000)
    with pytest.raises(CorpusError, match="offline"):
        load_corpus("tinyshakespeare", cache_dir=tmp_path / "c", download=False)


# ------------------------------------------------------------------ vocabulary and batches


def test_vocabulary_round_trip_and_unknown_characters():
    text = "hello, wörld ✓\n"
    vocab = CharVocab.from_text(text)
    assert vocab.chars == "".join(sorted(set(text))) and vocab.size == len(set(text))
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert [vocab.chars[i] for i in ids] == list(text)
    assert vocab.decode(ids) == text and vocab.decode(torch.as_tensor(ids)) == text
    with pytest.raises(CorpusError, match=r"'X', 'é'"):
        vocab.encode("héllo X")
    with pytest.raises(ValueError, match="ids must lie"):
        vocab.decode([vocab.size])
    with pytest.raises(CorpusError, match="distinct and sorted"):
        CharVocab("ba")
    assert CharVocab(vocab.chars) == vocab


def test_split_is_the_first_ninety_percent_then_the_rest():
    ids = np.arange(1000)
    split = split_tokens(ids)
    assert split.train.dtype == torch.int64 and split.train.ndim == 1
    assert len(split.train) == 900 and len(split.val) == 100
    assert torch.equal(torch.cat([split.train, split.val]), torch.arange(1000))
    check_split(split, block_size=99)
    with pytest.raises(CorpusError, match="validation part has 100 tokens"):
        check_split(split, block_size=100)
    with pytest.raises(ValueError, match="val_fraction"):
        split_tokens(ids, val_fraction=1.0)


def test_batches_are_windows_with_targets_shifted_by_one():
    tokens = torch.arange(50)
    batch, block = 400, 8
    x, y = get_batch(tokens, batch, block, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (batch, block) and x.dtype == y.dtype == torch.int64
    starts = x[:, 0]
    torch.testing.assert_close(x, starts[:, None] + torch.arange(block))
    torch.testing.assert_close(y, x + 1)
    # Every start in [0, 50 − 8 − 1] occurs (42 values, 400 draws), none beyond it.
    assert set(starts.tolist()) == set(range(50 - block))
    again, _ = get_batch(tokens, batch, block, torch.Generator().manual_seed(0))
    assert torch.equal(x, again)
    with pytest.raises(ValueError, match="at least block_size"):
        get_batch(tokens[:8], 2, 8, torch.Generator())
