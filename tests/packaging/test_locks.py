"""Point 2: two hashed locks exported from uv.lock; the runtime one holds no development tool."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.packaging.conftest import ROOT
from tests.packaging.test_wheel import DEV_TOOLS

LOCKS = {"runtime": ("--no-dev",), "dev": (), "build": ("--only-group", "build")}
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pins(path: Path) -> dict[str, list[str]]:
    """name -> the lines of its entry (the pin, hashes, markers), for every requirement."""
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text().splitlines():
        if match := REQUIREMENT.match(line):
            current = entries.setdefault(match.group(1).lower().replace("_", "-"), [])
        if current is not None and not line.lstrip().startswith("#"):
            current.append(line)
    return entries


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_every_pin_is_exact_and_hashed(name: str) -> None:
    entries = pins(ROOT / "requirements" / f"{name}.txt")
    assert entries
    for package, lines in entries.items():
        assert any("--hash=sha256:" in line for line in lines), package


def test_the_runtime_lock_holds_no_development_tool() -> None:
    runtime = set(pins(ROOT / "requirements" / "runtime.txt"))
    dev = set(pins(ROOT / "requirements" / "dev.txt"))
    build = set(pins(ROOT / "requirements" / "build.txt"))
    assert not runtime & set(DEV_TOOLS) and "hatchling" not in runtime
    assert set(DEV_TOOLS) <= dev and runtime < dev
    assert "hatchling" in build and build <= dev and not build & set(DEV_TOOLS)
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in declared:
        name = re.split(r"[\[<>=;! ]", requirement, maxsplit=1)[0].lower()
        assert name in runtime, name


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_the_exported_locks_match_uv_lock(name: str, tmp_path: Path) -> None:
    uv = Path(sys.executable).parent / "uv"
    out = tmp_path / f"{name}.txt"
    command = [str(uv), "export", "--frozen", "--no-emit-project", "--format", "requirements-txt"]
    done = subprocess.run(
        [*command, "--quiet", *LOCKS[name], "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert pins(out) == pins(ROOT / "requirements" / f"{name}.txt"), "run `make lock`"


def test_uv_lock_is_up_to_date_with_pyproject() -> None:
    uv = Path(sys.executable).parent / "uv"
    done = subprocess.run(
        [str(uv), "lock", "--locked"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"pyproject.toml changed: run `make lock`\n{done.stderr}"
