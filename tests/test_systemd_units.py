"""The systemd units as systemd itself judges them (``systemd-analyze verify`` and
``security``), and the stack under the unit's ``MemoryDenyWriteExecute=yes``."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SmtpSink, write_config
from tests.servers import FeedServer, rss

UNITS = Path(__file__).parent.parent / "systemd"
SERVICES = ["feed-watcher.service", "feed-watcher-once.service"]
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None and os.environ.get("CI") != "true",
    reason="systemd-analyze is not installed (.ci/run installs Debian's systemd package)",
)
INSTALLED = "/opt/feed-watcher/bin/watcher"  # where docs/operations.md installs it


@pytest.fixture
def units(tmp_path: Path) -> Path:
    """The units, with ExecStart pointing at this environment's ``watcher`` (verify checks
    that the program exists)."""
    here = Path(sys.executable).parent / "watcher"
    assert here.exists()
    for unit in UNITS.iterdir():
        text = unit.read_text(encoding="utf-8")
        (tmp_path / unit.name).write_text(text.replace(INSTALLED, str(here)), encoding="utf-8")
    return tmp_path


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None, "systemd-analyze is missing: CI must install systemd"
    return subprocess.run(
        [ANALYZE, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_units_name_the_installed_program() -> None:
    """The units run the program where docs/operations.md installs it; the daemon is Type=notify."""
    for name in SERVICES:
        text = (UNITS / name).read_text(encoding="utf-8")
        assert f"ExecStart={INSTALLED} run" in text
    assert "Type=notify" in (UNITS / "feed-watcher.service").read_text(encoding="utf-8")


@needs_analyze
def test_systemd_analyze_verify_prints_nothing(units: Path) -> None:
    """systemd-analyze verify has nothing to say about the units."""
    names = sorted(path.name for path in units.iterdir())
    assert names == sorted([*SERVICES, "feed-watcher-once.timer"])
    result = analyze("verify", *names, cwd=units)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@needs_analyze
@pytest.mark.parametrize("name", SERVICES)
def test_exposure_is_at_most_1_5(units: Path, name: str) -> None:
    """systemd-analyze security rates each service's exposure 1.5 or lower."""
    result = analyze("security", "--offline=true", "--threshold=15", name, cwd=units)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert score is not None and float(score.group(1)) <= 1.5


def _refuse_exec_gain() -> None:
    """In the child: what MemoryDenyWriteExecute=yes does, via prctl(PR_SET_MDWE)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
        os._exit(99)


def _kernel_has_mdwe() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "pass"], preexec_fn=_refuse_exec_gain, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_MDWE is Linux's")
def test_the_stack_runs_without_writable_executable_memory(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpSink
) -> None:
    """The unit sets MemoryDenyWriteExecute=yes; a library that made W+X memory would crash
    there. A whole round (HTTP, the parser pool, SQLite, apprise over SMTP) runs under the
    kernel's equivalent."""
    if not _kernel_has_mdwe():
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    urls = [
        feed_server.serve(f"/{n}.xml", rss(f"Wire {n}", [(f"g{n}", f"TikTok story {n}", "")]))
        for n in range(8)  # eight feeds: parsed in the worker pool
    ]
    desk = {"url": smtp_server.url(), "rate": "100/s", "max_burst": 100}
    config = write_config(tmp_path / "w.toml", urls, targets={"desk": desk})
    env = {k: v for k, v in os.environ.items() if k != "WATCHER_CONFIG"}
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "run", "--once", "--config", str(config)],
        preexec_fn=_refuse_exec_gain,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(smtp_server.messages) == 8
