"""Sampling the API's processes with py-spy while a run is measured, and where the time went.

py-spy (`pip install py-spy`) attaches to the running uvicorn supervisor and its workers
(`--subprocesses`) without restarting them and without stopping them to sample
(`--nonblocking`), so a profiled run is only a little slower than a plain one. Samples are
aggregated by function (`--function`) and written as collapsed stacks ("frame;frame;... count"),
which flamegraph tools and speedscope read.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import BenchError

SAMPLES_PER_SECOND = 100
START_SECONDS = 2.0  # py-spy needs a moment to attach before the run starts
STOP_TIMEOUT_SECONDS = 60.0
# Frames of this project's own code, as py-spy names their files.
OWN_CODE = ("documents/", "resolvers/", "schema/", "loaders/", "integrations/", "server.py")
TOP = 15


def find_py_spy() -> str:
    beside_python = Path(sys.executable).parent / "py-spy"
    if beside_python.exists():
        return str(beside_python)
    if found := shutil.which("py-spy"):
        return found
    raise BenchError("--profile needs py-spy: pip install py-spy (into this virtualenv)")


def _function(frame: str) -> str:
    """`handle (documents/checkout.py:97)` -> `handle (documents/checkout.py)`: one function."""
    name, _, location = frame.partition(" (")
    return f"{name} ({location.rpartition(':')[0]})" if location else name


@dataclass
class ProfileSummary:
    """Samples of busy threads: a sample is about 1/rate seconds of a thread on (or waiting
    for) a core, so on an oversubscribed machine it overstates CPU use somewhat."""

    samples: int
    rate: int
    self_samples: Counter[str]  # the innermost frame of each sample
    total_samples: Counter[str]  # every function on the stack, once per sample
    package_samples: Counter[str]  # the package of the innermost frame ("project": ours)

    @classmethod
    def read(cls, path: Path, rate: int) -> ProfileSummary:
        self_samples: Counter[str] = Counter()
        total_samples: Counter[str] = Counter()
        package_samples: Counter[str] = Counter()
        samples = 0
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [_function(f) for f in stack.split(";") if not f.startswith("process ")]
            if not frames:
                continue
            samples += count
            self_samples[frames[-1]] += count
            package_samples[_package(frames[-1])] += count
            for frame in set(frames):
                total_samples[frame] += count
        return cls(samples, rate, self_samples, total_samples, package_samples)

    def milliseconds(self, samples: int, per: int) -> float:
        return round(1000 * samples / self.rate / per, 3)

    def as_dict(self, *, per: int) -> dict[str, Any]:
        """The busiest functions, in milliseconds of sampled time per request."""
        own = Counter({frame: n for frame, n in self.total_samples.items() if _is_own_code(frame)})
        return {
            "samples": self.samples,
            "samples_per_second": self.rate,
            "sampled_ms_per_request": self.milliseconds(self.samples, per),
            "innermost_package_ms_per_request": {
                package: self.milliseconds(n, per)
                for package, n in self.package_samples.most_common(TOP)
            },
            "self_ms_per_request": {
                frame: self.milliseconds(n, per) for frame, n in self.self_samples.most_common(TOP)
            },
            "own_code_total_ms_per_request": {
                frame: self.milliseconds(n, per) for frame, n in own.most_common(TOP)
            },
        }


def _location(frame: str) -> str:
    return frame.rpartition(" (")[2].rstrip(")")


def _is_own_code(frame: str) -> bool:
    return _location(frame).startswith(OWN_CODE)


def _package(frame: str) -> str:
    """`insert (beanie/odm/documents.py)` -> `beanie`; this project's modules are `project`."""
    if _is_own_code(frame):
        return "project"
    location = _location(frame)
    return location.split("/")[0].removesuffix(".py") if location else frame


class Recording:
    def __init__(self, process: subprocess.Popen[bytes], path: Path, rate: int) -> None:
        self.process = process
        self.path = path
        self.rate = rate

    def stop(self) -> None:
        """SIGINT makes py-spy write what it sampled."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def summary(self) -> ProfileSummary:
        if not self.path.exists():
            raise BenchError(f"py-spy wrote no profile to {self.path}")
        return ProfileSummary.read(self.path, self.rate)


@contextlib.contextmanager
def record_profile(pid: int, path: Path, rate: int = SAMPLES_PER_SECOND) -> Iterator[Recording]:
    """Sample `pid` and its child processes with py-spy until the block ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [find_py_spy(), "record", "--pid", str(pid), "--subprocesses", "--nonblocking"]
    command += ["--function", "--format", "raw", "--rate", str(rate), "--output", str(path)]
    with (path.parent / f"{path.stem}.py-spy.log").open("wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    recording = Recording(process, path, rate)
    try:
        time.sleep(START_SECONDS)
        if process.poll() is not None:
            raise BenchError(
                f"py-spy exited with {process.returncode} (see {path.parent}); it needs to "
                "be allowed to trace other processes (ptrace)"
            )
        yield recording
    finally:
        recording.stop()
