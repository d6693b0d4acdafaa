"""Character-level corpora for TinyGPT: where the text comes from, its vocabulary, its batches.

Corpora:
- "default": Python's own reference documentation (`pydoc_data.topics`, ≈ 465 k characters),
  which ships with every full Python: no network and no file in this repository.
- "tinyshakespeare": Karpathy's Tiny Shakespeare (≈ 1.1 M characters), downloaded on request,
  verified by sha256 and cached under `cache_directory()`.
- a user's own UTF-8 text file (a path, or uploaded bytes), validated before use.

Then, as in nanoGPT's shakespeare_char: a sorted character vocabulary, the first 90 % of the
tokens for training and the rest for validation, and random (batch, block) windows x with
targets y = x shifted left by one token.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import importlib
import inspect
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

TINY_SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
#: MB = 10^6 bytes, as Streamlit counts server.maxUploadSize (.streamlit/config.toml says 20).
MEGABYTE = 10**6
MAX_CORPUS_BYTES = 20 * MEGABYTE
#: Uploaded texts one browser session may keep on the server (see `save_upload`).
MAX_UPLOADS_PER_OWNER = 10
#: Uploaded texts all sessions together may keep on the server, in MB (default 500).
UPLOADS_LIMIT_ENV = "THERMOLAB_UPLOADS_MB"
UPLOADS_SUBDIR = "uploads"
_UPLOAD_FOLDER = re.compile(r"[A-Za-z0-9_-]{1,64}")
CACHE_ENV = "THERMOLAB_CACHE"
TINY_SHAKESPEARE_ENV = "THERMOLAB_TINYSHAKESPEARE"
CORPORA: tuple[str, ...] = ("default", "tinyshakespeare")

__all__ = [
    "CORPORA",
    "MAX_CORPUS_BYTES",
    "MAX_UPLOADS_PER_OWNER",
    "MEGABYTE",
    "TINY_SHAKESPEARE_SHA256",
    "TINY_SHAKESPEARE_URL",
    "CharVocab",
    "Corpus",
    "CorpusError",
    "TokenSplit",
    "cache_directory",
    "check_split",
    "corpus_from_bytes",
    "corpus_from_path",
    "default_corpus",
    "get_batch",
    "load_corpus",
    "max_upload_bytes",
    "remove_unused_uploads",
    "save_upload",
    "split_tokens",
    "tiny_shakespeare",
]


class CorpusError(ValueError):
    """A corpus that cannot be used; the message says why and what to do instead."""


@dataclass(frozen=True)
class Corpus:
    """A text to train on. source: one human-readable line saying where it came from."""

    name: str
    text: str
    source: str


def cache_directory() -> Path:
    """$THERMOLAB_CACHE, else the user cache directory ($XDG_CACHE_HOME or ~/.cache)/thermolab.

    Not created here; writers create it when they first store something.
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "thermolab"


# ------------------------------------------------------------------ the offline default


def default_corpus() -> Corpus:
    """Python's reference documentation, the same text on every run of one Python version.

    `pydoc_data.topics.topics` (the text behind `help("if")`), joined in sorted key order.
    Where a stripped Python lacks pydoc_data, the docstrings of the built-ins and a fixed list
    of standard-library modules stand in; with docstrings stripped too (python -OO) there is
    no text to fall back on and a CorpusError says so.
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        from pydoc_data.topics import topics
    except ImportError:
        topics = None
    if topics:
        text = "\n\n".join(topics[key] for key in sorted(topics))
        source = (
            f"Python {version} reference documentation (pydoc_data.topics, {len(topics)} topics)"
        )
        return Corpus("default", text, source)
    text = _standard_library_docstrings()
    if len(text) < 10_000:
        raise CorpusError(
            "this Python ships without its documentation (no pydoc_data, docstrings stripped), "
            "so there is no offline default text: use 'tinyshakespeare' or a text file"
        )
    return Corpus("default", text, f"Python {version} standard-library docstrings")


_DOCUMENTED_MODULES = (
    "builtins",
    "collections",
    "functools",
    "itertools",
    "json",
    "math",
    "os",
    "pathlib",
    "re",
    "string",
)


def _standard_library_docstrings() -> str:
    """Docstrings of each module in _DOCUMENTED_MODULES and of its public classes and
    functions, in name order (empty where Python runs with docstrings stripped)."""
    parts: list[str] = []
    for module_name in _DOCUMENTED_MODULES:
        module = importlib.import_module(module_name)
        members = [(module_name, module)] + [
            (f"{module_name}.{name}", getattr(module, name))
            for name in sorted(dir(module))
            if not name.startswith("_")
        ]
        for name, member in members:
            if member is module or inspect.isclass(member) or inspect.isroutine(member):
                doc = inspect.getdoc(member)
                if doc:
                    parts.append(f"{name}\n\n{doc}")
    return "\n\n".join(parts)


# ------------------------------------------------------------------ Tiny Shakespeare


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _shakespeare(data: bytes, where: str) -> Corpus:
    return Corpus(
        "tinyshakespeare",
        data.decode("utf-8"),
        f"Tiny Shakespeare (karpathy/char-rnn), sha256-verified, {where}",
    )


def tiny_shakespeare(
    *,
    cache_dir: Path | None = None,
    download: bool = True,
    url: str = TINY_SHAKESPEARE_URL,
    timeout_s: float = 10.0,
) -> Corpus:
    """Tiny Shakespeare, checked against TINY_SHAKESPEARE_SHA256.

    Looked for, in order: the file named by $THERMOLAB_TINYSHAKESPEARE (never modified);
    `cache_dir` (default `cache_directory()`)/tinyshakespeare.txt; else downloaded from `url`
    (when `download`), verified, written to a temporary file beside the cache and renamed
    into place, so the cache never holds a partial or unverified file. A cached file with
    the wrong checksum is deleted and fetched again.
    """
    override = os.environ.get(TINY_SHAKESPEARE_ENV)
    if override:
        path = Path(override)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CorpusError(
                f"${TINY_SHAKESPEARE_ENV} points at {path}, which cannot be read ({error})"
            ) from error
        _verify(data, f"{path} (from ${TINY_SHAKESPEARE_ENV})")
        return _shakespeare(data, f"read from {path}")
    cached = Path(cache_dir if cache_dir is not None else cache_directory()) / "tinyshakespeare.txt"
    if cached.is_file():
        data = cached.read_bytes()
        if _sha256(data) == TINY_SHAKESPEARE_SHA256:
            return _shakespeare(data, f"cached at {cached}")
        cached.unlink()  # damaged or foreign: fetch it again below
    if not download:
        raise CorpusError(
            f"Tiny Shakespeare is not in the cache ({cached}) and downloading is off; "
            "allow the download, or use the 'default' corpus, which works offline"
        )
    data = _download(url, timeout_s)
    _verify(data, f"the download from {url}")
    _write_atomically(cached, data)
    return _shakespeare(data, f"downloaded from {url}, cached at {cached}")


def _verify(data: bytes, what: str) -> None:
    got = _sha256(data)
    if got != TINY_SHAKESPEARE_SHA256:
        raise CorpusError(
            f"{what} is not Tiny Shakespeare: its sha256 is {got}, expected "
            f"{TINY_SHAKESPEARE_SHA256}"
        )


def _download(url: str, timeout_s: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            data = response.read(MAX_CORPUS_BYTES + 1)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise CorpusError(
            f"could not download Tiny Shakespeare from {url} ({reason}); this machine may be "
            "offline: the 'default' corpus needs no network"
        ) from error
    if len(data) > MAX_CORPUS_BYTES:
        raise CorpusError(f"{url} sent more than {MAX_CORPUS_BYTES} bytes: not Tiny Shakespeare")
    return data


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it over `path` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------ the user's own text


def _check_min_chars(min_chars: int) -> int:
    if isinstance(min_chars, bool) or int(min_chars) != min_chars or min_chars < 1:
        raise ValueError(f"min_chars must be a positive integer, got {min_chars!r}")
    return int(min_chars)


def _check_length(corpus: Corpus, min_chars: int) -> Corpus:
    if len(corpus.text) < min_chars:
        raise CorpusError(
            f"{corpus.name} has {len(corpus.text)} characters; at least {min_chars} are needed "
            "for this block size (use a longer text or a smaller block size)"
        )
    return corpus


def corpus_from_bytes(data: bytes, *, name: str, min_chars: int = 1024) -> Corpus:
    """Validate uploaded bytes as a UTF-8 text of at least `min_chars` characters.

    Refused, each with its own message: empty, larger than MAX_CORPUS_BYTES, binary (NUL
    bytes), not UTF-8 (the first bad byte's offset is named), shorter than `min_chars`
    characters, fewer than 2 distinct characters. A leading byte-order mark is dropped.
    """
    min_chars = _check_min_chars(min_chars)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CorpusError(f"{name}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise CorpusError(f"{name} is empty: choose a text file with some text in it")
    if len(data) > MAX_CORPUS_BYTES:
        raise CorpusError(
            f"{name} is {_megabytes(len(data))}; at most {_megabytes(MAX_CORPUS_BYTES)} "
            "are accepted (use a shorter excerpt)"
        )
    if b"\x00" in data:
        raise CorpusError(
            f"{name} looks binary (it contains NUL bytes, first at byte {data.index(0)}): "
            "choose a plain text file"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1].hex()
        raise CorpusError(
            f"{name} is not UTF-8 text: byte {error.start} (0x{bad}) is invalid there; "
            "save the file as UTF-8 and try again"
        ) from error
    text = text.removeprefix("\ufeff")
    corpus = _check_length(Corpus(name, text, f"uploaded text {name}"), min_chars)
    if len(set(text)) < 2:
        raise CorpusError(f"{name} uses only one distinct character: nothing to learn from it")
    return corpus


def corpus_from_path(path: str | os.PathLike[str], *, min_chars: int = 1024) -> Corpus:
    """A text file on disk, validated as `corpus_from_bytes` (its size checked before reading)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CorpusError(
            f"no file at {path}: give 'default', 'tinyshakespeare' or the path of a text file"
        )
    if path.is_dir():
        raise CorpusError(f"{path} is a directory, not a text file")
    if not path.is_file():  # a device, pipe or socket: it may never end, or never answer
        raise CorpusError(f"{path} is not a regular file: give the path of a text file")
    too_big = CorpusError(
        f"{path} is larger than {_megabytes(MAX_CORPUS_BYTES)}; at most that is accepted "
        "(use a shorter excerpt)"
    )
    try:
        if path.stat().st_size > MAX_CORPUS_BYTES:
            raise too_big
        with path.open("rb") as file:  # bounded read: the file may grow after the check
            data = file.read(MAX_CORPUS_BYTES + 1)
        if len(data) > MAX_CORPUS_BYTES:
            raise too_big
    except OSError as error:
        raise CorpusError(f"cannot read {path}: {error}") from error
    corpus = corpus_from_bytes(data, name=path.name, min_chars=min_chars)
    return Corpus(corpus.name, corpus.text, f"file {path}")


def _megabytes(size: int) -> str:
    """A size in bytes as MB (10^6 bytes, Streamlit's unit for uploads), e.g. "20 MB"."""
    return f"{size / MEGABYTE:.3g} MB"


def max_upload_bytes() -> int:
    """How many bytes of uploaded texts the server keeps at most: $THERMOLAB_UPLOADS_MB MB
    (default 500)."""
    text = os.environ.get(UPLOADS_LIMIT_ENV, "500")
    try:
        megabytes = float(text)
    except ValueError:
        raise CorpusError(f"{UPLOADS_LIMIT_ENV} must be a number of MB, not {text!r}") from None
    if not megabytes > 0:
        raise CorpusError(f"{UPLOADS_LIMIT_ENV} must be above 0 MB, not {text!r}")
    return int(megabytes * MEGABYTE)


def _uploaded_texts(directory: Path) -> list[Path]:
    """Every kept upload, `<directory>/uploads/<folder>/*.txt`."""
    return [path for path in (directory / UPLOADS_SUBDIR).glob("*/*.txt") if path.is_file()]


def save_upload(
    directory: str | os.PathLike[str],
    folder: str,
    name: str,
    data: bytes,
    *,
    max_files: int | None = None,
    max_total_bytes: int | None = None,
) -> Path:
    """Keep an uploaded (already validated) text where a training job, and a resume, read it.

    The file is `<directory>/uploads/<folder>/<name stem>-<content hash>.txt`, so one text
    uploaded twice is one file and a later upload never changes what an earlier run trained
    on. folder: the uploading session's own random folder name (`ui.session.Identity.uploads`;
    letters, digits, "_" and "-"), never its session id. CorpusError, saying so, when the folder
    already holds `max_files` texts (default MAX_UPLOADS_PER_OWNER) or when every upload on the
    server would then exceed `max_total_bytes` (default `max_upload_bytes()`): a new session
    gets a new folder, so only the server's total bounds the disk.
    """
    if not isinstance(folder, str) or not _UPLOAD_FOLDER.fullmatch(folder):
        raise ValueError(f"an upload folder is 1 to 64 letters, digits, '_' or '-', not {folder!r}")
    max_files = MAX_UPLOADS_PER_OWNER if max_files is None else max_files
    max_total_bytes = max_upload_bytes() if max_total_bytes is None else max_total_bytes
    directory = Path(directory)
    here = directory / UPLOADS_SUBDIR / folder
    stem = _safe_stem(Path(name).stem, 40) or "upload"
    path = here / f"{stem}-{hashlib.sha256(data).hexdigest()[:16]}.txt"
    if path.exists():
        return path
    if here.is_dir() and len(list(here.glob("*.txt"))) >= max_files:
        raise CorpusError(
            f"this session has already uploaded {max_files} different texts, the most it may "
            "keep on the server: train on one of them again, or open a new session"
        )
    kept = sum(text.stat().st_size for text in _uploaded_texts(directory))
    if kept + len(data) > max_total_bytes:
        raise CorpusError(
            f"the server keeps at most {_megabytes(max_total_bytes)} of uploaded texts and holds "
            f"{_megabytes(kept)}, too much to add this {_megabytes(len(data))}: train on a "
            "built-in corpus or a shorter text"
        )
    try:
        here.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as error:
        raise CorpusError(f"the upload could not be saved on the server: {error}") from error
    return path


def remove_unused_uploads(
    directory: str | os.PathLike[str], keep_folders: set[str], used: set[str]
) -> list[Path]:
    """Delete the uploads of sessions that have ended and that no run trains on; returns them.

    keep_folders: the folders of sessions still connected (they may start a training on their
    upload yet). used: corpus settings of the runs in the store (a run's upload is kept for
    its resume). Empty folders left behind are removed too.
    """
    directory = Path(directory)
    used_files = {Path(corpus).resolve() for corpus in used}
    removed = []
    for text in _uploaded_texts(directory):
        if text.parent.name in keep_folders or text.resolve() in used_files:
            continue
        with contextlib.suppress(FileNotFoundError):
            text.unlink()
            removed.append(text)
    for folder in (directory / UPLOADS_SUBDIR).glob("*"):
        if folder.is_dir() and folder.name not in keep_folders:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
    return removed


def _safe_stem(text: str, length: int) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:length].strip("._")


def load_corpus(
    spec: str,
    *,
    min_chars: int = 1024,
    cache_dir: Path | None = None,
    download: bool = True,
) -> Corpus:
    """ "default", "tinyshakespeare" or the path of a UTF-8 text file, of ≥ min_chars characters."""
    min_chars = _check_min_chars(min_chars)
    if not isinstance(spec, str) or not spec.strip():
        raise CorpusError("name a corpus: 'default', 'tinyshakespeare' or the path of a text file")
    if spec == "default":
        return _check_length(default_corpus(), min_chars)
    if spec == "tinyshakespeare":
        return _check_length(tiny_shakespeare(cache_dir=cache_dir, download=download), min_chars)
    return corpus_from_path(spec, min_chars=min_chars)


# ------------------------------------------------------------------ tokens and batches


class CharVocab:
    """One token per distinct character; ids follow the characters' sorted (code point) order."""

    def __init__(self, chars: str) -> None:
        if not isinstance(chars, str) or not chars:
            raise CorpusError("a vocabulary needs at least one character")
        if "".join(sorted(set(chars))) != chars:
            raise CorpusError("vocabulary characters must be distinct and sorted")
        self.chars = chars
        self._code_points = _code_points(chars)

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of every character that occurs in `text`."""
        return cls("".join(sorted(set(text))))

    @property
    def size(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharVocab(size={self.size})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharVocab) and other.chars == self.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of `text`, (len(text),) int64; unknown characters raise CorpusError."""
        codes = _code_points(text)
        ids = np.searchsorted(self._code_points, codes)
        known = (ids < self.size) & (self._code_points[np.minimum(ids, self.size - 1)] == codes)
        if not known.all():
            unknown = sorted(set(np.asarray(list(text))[~known].tolist()))
            shown = ", ".join(repr(c) for c in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise CorpusError(f"characters not in the vocabulary: {shown}{more}")
        return ids.astype(np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray | torch.Tensor) -> str:
        """The text of token ids (any 1-D integer sequence)."""
        values = np.asarray(ids.cpu() if isinstance(ids, torch.Tensor) else ids, dtype=np.int64)
        if values.ndim != 1:
            raise ValueError(f"decode takes a 1-D sequence of ids, got shape {values.shape}")
        if values.size and (values.min() < 0 or values.max() >= self.size):
            raise ValueError(f"token ids must lie in [0, {self.size}), got {values.min()}…")
        return "".join(self.chars[i] for i in values.tolist())


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


@dataclass(frozen=True)
class TokenSplit:
    """Training and validation tokens: 1-D int64 tensors, train first in the text."""

    train: torch.Tensor
    val: torch.Tensor


def split_tokens(ids: Any, val_fraction: float = 0.1) -> TokenSplit:
    """First (1 − val_fraction) of the tokens for training, the rest for validation."""
    tokens = torch.as_tensor(np.asarray(ids) if not isinstance(ids, torch.Tensor) else ids)
    if tokens.ndim != 1 or tokens.dtype.is_floating_point:
        raise ValueError(
            f"ids must be a 1-D integer sequence, got {tokens.dtype} {tuple(tokens.shape)}"
        )
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    tokens = tokens.to(torch.int64)
    n_train = int(len(tokens) * (1.0 - float(val_fraction)))
    return TokenSplit(train=tokens[:n_train], val=tokens[n_train:])


def check_split(split: TokenSplit, block_size: int) -> None:
    """Each part needs block_size + 1 tokens for one (input, target) window; else CorpusError."""
    for part, tokens in (("training", split.train), ("validation", split.val)):
        if len(tokens) < block_size + 1:
            raise CorpusError(
                f"the {part} part has {len(tokens)} tokens, but block size {block_size} needs "
                f"at least {block_size + 1}: use a longer text or a smaller block size"
            )


def get_batch(
    tokens: torch.Tensor,
    batch_size: int,
    block_size: int,
    generator: torch.Generator,
    device: Any = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of a 1-D token tensor: x, y each (batch_size, block_size) int64.

    Window starts are uniform on [0, len − block_size − 1] (from `generator`); y[:, t] is the
    token after x[:, t]. The result lives on `device` (default: the tokens' device).
    """
    for name, value in (("batch_size", batch_size), ("block_size", block_size)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if tokens.ndim != 1 or len(tokens) < block_size + 1:
        raise ValueError(
            f"need a 1-D tensor of at least block_size + 1 = {block_size + 1} tokens, "
            f"got shape {tuple(tokens.shape)}"
        )
    starts = torch.randint(
        len(tokens) - block_size, (batch_size,), generator=generator, device=generator.device
    )
    offsets = starts.to(tokens.device)[:, None] + torch.arange(block_size + 1, device=tokens.device)
    windows = tokens[offsets]
    x, y = windows[:, :-1], windows[:, 1:]
    if device is not None:
        x, y = x.to(device), y.to(device)
    return x, y
