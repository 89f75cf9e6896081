"""Crash safety: a real `augkit generate` killed with SIGKILL at random moments and resumed
ends with exactly the files and label lines of an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import make_crops, tree_digest


def _command(labels: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "augkit", "generate", "--input", str(labels), "--out", str(out),
            "--strong", "4", "--weak", "2", "--workers", "2", "--shard-size", "4", "--seed", "4", "--quiet"]


def _remove_shared_memory_of(pid: int) -> None:
    """A SIGKILLed loky pool cannot clean its shared-memory folders and semaphores; the test does."""
    import shutil

    shm = Path("/dev/shm")
    if shm.is_dir():
        for leftover in [*shm.glob(f"joblib_memmapping_folder_{pid}_*"), *shm.glob(f"sem.loky-{pid}-*")]:
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)


@pytest.mark.slow
def test_kill_and_resume_matches_uninterrupted_run(tmp_path):
    labels = make_crops(tmp_path / "src", 80)
    reference = tmp_path / "reference"
    subprocess.run(_command(labels, reference), check=True, capture_output=True)
    expected = tree_digest(reference)
    total = sum(1 for _ in reference.glob("images_*/*.jpg"))

    out = tmp_path / "out"
    rng = random.Random(20261121)
    kills = 0
    for _ in range(6):
        # The moment is drawn in the run's own progress (a random number of images on disk),
        # not in wall time, so it falls inside the run however long start-up takes.
        written = sum(1 for _ in out.glob("images_*/*.jpg"))
        target = written + rng.randint(1, max(1, total - written - 1))
        # A new session, so SIGKILL reaches the parent and its worker processes at once.
        proc = subprocess.Popen(_command(labels, out), start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and sum(1 for _ in out.glob("images_*/*.jpg")) < target:
            time.sleep(0.002)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        _remove_shared_memory_of(proc.pid)
        if (out / "augkit_run.json").exists() or kills == 3:
            break
    assert kills >= 2, "the run finished before it could be killed twice; make it longer"

    final = subprocess.run(_command(labels, out), capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    got = tree_digest(out)
    differing = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
    assert differing == [], f"{len(differing)} files differ after kill-and-resume, e.g. {differing[:5]}"
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    lines = (out / "train.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(set(lines)) == 80 * 6

    again = subprocess.run(_command(labels, out), capture_output=True, text=True)
    assert again.returncode == 0 and "nothing to do" in again.stdout
