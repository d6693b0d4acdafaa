"""Bad input to every CLI subcommand: exit status 2 and one line on stderr, never a traceback.

The inputs tried are listed below, one per line, with a piece of the message each must give.
Environment failures (an unwritable run store, a meter this machine lacks) exit 1, also with
one line. Each case runs in-process through `thermolab.cli.main`, so an exception that
escaped would fail the test; two run as `python -m thermolab` to check the real process.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from thermolab.cli import main
from thermolab.energy import probe_meters

RUNS = "{runs}"  # replaced by a per-test run-store directory

# (subcommand and arguments, a fragment the one-line message must hold)
BAD_INPUT: list[tuple[str, str]] = [
    # ising: zero, negative, NaN/inf, huge, wrong types
    ("ising --lattice 0 --temperature 1", "positive integer"),
    ("ising --lattice -4 --temperature 1", "positive integer"),
    ("ising --lattice 2 --temperature 1", "at least 3"),
    ("ising --lattice 4.5 --temperature 1", "invalid"),
    ("ising --lattice 100000 --temperature 1", "GiB"),
    ("ising --lattice 16 --temperature 0", "positive finite"),
    ("ising --lattice 16 --temperature -1", "positive finite"),
    ("ising --lattice 16 --temperature nan", "positive finite"),
    ("ising --lattice 16 --temperature inf", "positive finite"),
    ("ising --lattice 16 --temperature abc", "invalid"),
    ("ising --lattice 16 --temperature 1e-320", "beta must be finite"),
    ("ising --lattice 4 --temperature 1 --sweeps 0", "positive integer"),
    ("ising --lattice 4 --temperature 1 --sweeps 1000000000000", "GiB"),
    ("ising --lattice 4 --temperature 1 --chains 1000000000000", "GiB"),
    ("ising --lattice 4 --temperature 1 --burn-in -1", "zero or a positive"),
    ("ising --lattice 4 --temperature 1 --sweeps 1 --burn-in 0", "at least 2 samples"),
    ("ising --lattice 4 --temperature 1 --coupling nan", "finite"),
    ("ising --lattice 4 --temperature 1 --coupling 1e308", "rescale T"),
    ("ising --lattice 4 --temperature 1 --field=-inf", "finite"),
    ("ising --lattice 4 --temperature 1 --seed -1", "from 0 to"),
    ("ising --lattice 4 --temperature 1 --seed 99999999999999999999999", "from 0 to"),
    ("ising --lattice 4 --temperature 1 --backend nope", "no backend named"),
    ("ising --lattice 4 --temperature 1 --algorithm wolff", "invalid choice"),
    # anneal
    ("anneal --graph ring --nodes 0", "positive integer"),
    ("anneal --graph ring --nodes 2", "at least 3"),
    ("anneal --graph sk --nodes 100000000", "GiB"),
    ("anneal --graph regular --nodes 7 --degree 3", "even"),
    ("anneal --graph regular --nodes 10 --degree 100", "degree must be less"),
    ("anneal --graph er --nodes 10 --edge-probability nan", "finite"),
    ("anneal --graph er --nodes 10 --edge-probability 2", "[0, 1]"),
    ("anneal --graph ring --nodes 10 --sweeps 1000000000000", "GiB"),
    ("anneal --graph ring --nodes 10 --t-start 0", "positive finite"),
    ("anneal --graph ring --nodes 10 --t-end inf", "positive finite"),
    ("anneal --graph ring --nodes 10 --coupling inf", "finite"),
    ("anneal --graph ring --nodes 10 --schedule cubic", "invalid choice"),
    ("anneal --graph lattice --nodes 10", "square number"),
    # exact
    ("exact --graph ring --nodes 30 --temperature 1", "20"),
    ("exact --graph ring --nodes 4 --temperature 0", "positive finite"),
    ("exact --graph ring --nodes 4 --temperature 1e-310", "too small"),
    ("exact --graph sk --nodes 1 --temperature 1", "at least 2"),
    ("exact --graph moon --nodes 4 --temperature 1", "invalid choice"),
    ("exact --graph ring --nodes 4", "required"),
    # qaoa
    ("qaoa --graph ring --nodes 25", "too many"),
    ("qaoa --graph ring --nodes 2", "at least 3"),
    ("qaoa --graph ring --nodes 4 --layers 0", "positive"),
    ("qaoa --graph ring --nodes 4 --layers 1000", "at most 20"),
    ("qaoa --graph ring --nodes 4 --restarts 100000000", "at most 100"),
    ("qaoa --graph ring --nodes 4 --steps 100000000", "at most 10,000"),
    ("qaoa --graph ring --nodes 4 --steps 1 --restarts 1 --shots 10000000000000", "at most"),
    ("qaoa --graph ring --nodes 4 --device nope.device", "not usable"),
    ("qaoa --graph ring --nodes 4 --steps 1 --restarts 1 --backend nope", "no backend named"),
    ("qaoa --graph er --nodes 5 --edge-probability 0", "no edges"),
    ("qaoa --graph ring --nodes 4 --seed -5", "from 0 to"),
    # train (none of these trains: each is refused before the first step)
    ("train --mode tsu --preset nope --runs-dir {runs}", "unknown preset"),
    ("train --mode nope", "invalid choice"),
    ("train --mode tsu --steps 0 --runs-dir {runs}", "positive integer"),
    ("train --mode tsu --lr inf --runs-dir {runs}", "positive finite"),
    ("train --mode tsu --lr 0 --runs-dir {runs}", "positive finite"),
    ("train --mode tsu --seed -1 --runs-dir {runs}", "from 0 to"),
    ("train --mode tsu --t-schedule nope --runs-dir {runs}", "nope"),
    ("train --mode tsu --t-start nan --runs-dir {runs}", "finite"),
    ("train --mode tsu --kl-weight -1 --runs-dir {runs}", "kl_weight"),
    ("train --mode tsu --stochastic-layers nope --runs-dir {runs}", "stochastic_layers"),
    ("train --mode tsu --meter nope --runs-dir {runs}", "meter must be one of"),
    ("train --mode tsu --device tpu --runs-dir {runs}", "device must be one of"),
    ("train --mode tsu --threads 100000 --runs-dir {runs}", "at most 256"),
    ("train --mode tsu --batch-size 100000000 --runs-dir {runs}", "GiB"),
    ("train --mode tsu --corpus /nonexistent/corpus.txt --runs-dir {runs}", "no file at"),
    ("train --mode tsu --corpus /etc --runs-dir {runs}", "is a directory"),
    ("train --mode tsu --corpus /dev/zero --runs-dir {runs}", "not a regular file"),
    ("train --mode tsu --corpus {binary} --runs-dir {runs}", "looks binary"),
    ("train --mode tsu --corpus {latin1} --runs-dir {runs}", "not UTF-8"),
    ("train --mode tsu --corpus {empty} --runs-dir {runs}", "is empty"),
    ("train --mode tsu --corpus {short} --runs-dir {runs}", "characters"),
    # no or unknown subcommand, unknown option
    ("", "required"),
    ("teleport", "invalid choice"),
    ("backends --bogus", "unrecognized"),
]

# (arguments, fragment): the input is fine, the environment cannot serve it: exit 1.
FAILURES: list[tuple[str, str]] = [
    ("train --mode tsu --steps 1 --runs-dir /proc/no-such-dir", "cannot create the runs directory"),
]


@pytest.fixture
def files(tmp_path) -> dict[str, str]:
    """Corpus files of each bad kind, and a run-store directory."""
    paths = {
        "binary": (tmp_path / "bytes.bin", b"\x00\x01\x02\xff" * 500),
        "latin1": (tmp_path / "latin.txt", "café au lait ".encode("latin-1") * 200),
        "empty": (tmp_path / "empty.txt", b""),
        "short": (tmp_path / "short.txt", b"too short"),
    }
    for path, data in paths.values():
        path.write_bytes(data)
    return {name: str(path) for name, (path, _) in paths.items()} | {"runs": str(tmp_path / "runs")}


def one_line_error(capsys, args: list[str], status: int) -> str:
    """Run the CLI; it must exit with `status` and print exactly one line, on stderr only."""
    assert main(args) == status
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("thermolab: error: "), captured.err
    assert captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    return captured.err


@pytest.mark.parametrize(("command", "fragment"), BAD_INPUT, ids=[c for c, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2(capsys, files, command, fragment):
    error = one_line_error(capsys, command.format(**files).split(), 2)
    assert fragment in error, error


@pytest.mark.parametrize(("command", "fragment"), FAILURES, ids=[c for c, _ in FAILURES])
def test_an_environment_failure_is_one_line_and_exit_1(capsys, files, command, fragment):
    error = one_line_error(capsys, command.format(**files).split(), 1)
    assert fragment in error, error


def test_a_meter_this_machine_lacks_is_one_line_and_exit_1(capsys, files):
    missing = [m.name.lower() for m in probe_meters() if not m.available]
    missing = [name for name in missing if name in ("nvml", "rapl")]
    if not missing:
        pytest.skip("every meter is available here")
    args = f"train --mode baseline --steps 1 --meter {missing[0]} --runs-dir {files['runs']}"
    assert missing[0] in one_line_error(capsys, args.split(), 1).lower()


def test_a_cuda_run_without_a_gpu_is_one_line_and_exit_2(capsys, files):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    args = f"train --mode baseline --steps 1 --device cuda --runs-dir {files['runs']}"
    assert "no CUDA GPU" in one_line_error(capsys, args.split(), 2)


def test_a_warning_is_one_line_after_a_success(capsys):
    """A valid but extreme input (T = 1e308) succeeds; numpy's overflow warning is one line."""
    args = "ising --lattice 4 --temperature 1e308 --sweeps 100 --burn-in 0 --backend numpy"
    assert main([*args.split(), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("{")
    for line in captured.err.splitlines():
        assert line.startswith("thermolab: warning: "), captured.err


@pytest.mark.parametrize(
    "command",
    ["ising --lattice 4 --temperature 1 --sweeps 1000000000000", "exact --graph ring --nodes 4"],
)
def test_the_real_process_prints_no_traceback(command):
    completed = subprocess.run(
        [sys.executable, "-m", "thermolab", *command.split()],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr


@pytest.mark.parametrize("content", [b"", b"my own notes\n"], ids=["empty", "non-empty"])
def test_a_runs_dir_that_is_a_file_is_refused_and_left_alone(capsys, tmp_path, content):
    notes = tmp_path / "notes"
    notes.write_bytes(content)
    args = ["train", "--mode", "tsu", "--steps", "1", "--runs-dir", str(notes)]
    error = one_line_error(capsys, args, 2)
    assert "is not a directory" in error and "rename" not in error, error
    assert notes.read_bytes() == content  # not turned into a database, not to be renamed


def test_a_missing_runs_dir_becomes_a_directory_holding_the_store(tmp_path):
    from thermolab.cli import _runs_directory
    from thermolab.runs import DATABASE_NAME, RunStore

    directory = _runs_directory(str(tmp_path / "new"))
    with RunStore(directory / DATABASE_NAME):
        assert (tmp_path / "new" / DATABASE_NAME).is_file()
