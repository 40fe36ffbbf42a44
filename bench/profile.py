"""Optional sampling profiles of the server's workers with py-spy, summarised as text.

py-spy is not a dependency of the project: install it anywhere but .venv, e.g.
`python3 -m venv /tmp/pyspy && /tmp/pyspy/bin/pip install py-spy`, and pass
`--py-spy /tmp/pyspy/bin/py-spy` to `python -m bench tickets`.

py-spy samples wall-clock stacks of threads that are not idle. On a machine whose
CPUs are oversubscribed, a worker waiting for a CPU counts as running, so the frames
where the kernel tends to preempt (socket reads and writes) are over-represented;
compare profiles taken on a quiet machine.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME_LINE = re.compile(r":\d+\)$")


def worker_pids(supervisor_pid: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing spawn children) of the supervisor."""
    try:
        children = Path(f"/proc/{supervisor_pid}/task/{supervisor_pid}/children").read_text()
    except OSError:
        return []
    pids = []
    for pid in (int(p) for p in children.split()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            pids.append(pid)
    return pids


class Profiler:
    def __init__(self, py_spy: str, pids: list[int], out_dir: Path, label: str) -> None:
        self.py_spy = py_spy
        self.pids = pids
        self.out_dir = out_dir
        self.label = label
        self.files: list[Path] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, seconds: float) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for pid in self.pids:
            path = self.out_dir / f"profile-{self.label}-{pid}.txt"
            self.files.append(path)
            command = [
                self.py_spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                "100",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(path),
            ]
            self.processes.append(
                subprocess.Popen(  # noqa: S603 - a tool the user named
                    command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )

    def stop(self) -> Summary:
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait(timeout=5)
        return summarize([f for f in self.files if f.exists()])


@dataclass
class Summary:
    samples: int
    by_package: list[tuple[str, float]]
    app_inclusive: list[tuple[str, float]]
    self_top: list[tuple[str, float]]

    def print(self, title: str) -> None:
        if not self.samples:
            print(f"\nprofile {title}: no samples")
            return
        print(f"\nprofile {title} ({self.samples} samples, both workers)")
        print("  self time by package: " + ", ".join(f"{k} {v:.0f}%" for k, v in self.by_package))
        print("  inclusive time of the service's own functions:")
        for name, share in self.app_inclusive:
            print(f"    {share:5.1f}%  {name}")
        print("  hottest frames (self time):")
        for name, share in self.self_top:
            print(f"    {share:5.1f}%  {name}")


def _package(frame: str) -> str:
    """py-spy names files relative to sys.path: "asyncpg/connection.py", "app/db.py"."""
    match = re.search(r"\(([^()]*?)(:\d+)?\)$", frame)
    path = match.group(1) if match else frame
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    return path.split("/", 1)[0] if "/" in path else path or "?"


def summarize(files: list[Path], top: int = 15) -> Summary:
    total = 0
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [_FRAME_LINE.sub(")", f) for f in stack.split(";")]
            leaf[frames[-1]] += n
            packages[_package(stack.split(";")[-1])] += n
            for frame in set(frames):
                if "(app/" in frame:
                    inclusive[frame] += n
    if not total:
        return Summary(0, [], [], [])

    def pct(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(k, 100 * v / total) for k, v in counter.most_common(n)]

    return Summary(
        samples=total,
        by_package=pct(packages, 8),
        app_inclusive=pct(inclusive, top),
        self_top=pct(leaf, top),
    )
