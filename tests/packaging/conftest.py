"""The wheel as an operator installs it: built from this checkout, installed into an empty
virtual environment with the runtime lock only, run from a folder outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    prefix: Path

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"

    @property
    def command(self) -> Path:
        return self.prefix / "bin" / "justtrades"

    def run(
        self, *args: str | Path, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run in `cwd` with none of the checkout on the path."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("JT_", "PYTHON"))}
        clean.update(env or {})
        return subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env=clean,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _check(args: list[str | Path], **kwargs: object) -> None:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    out = tmp_path_factory.mktemp("wheel")
    _check(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            str(ROOT),
            "-w",
            out,
        ]
    )
    [wheel] = out.glob("justtrades-*.whl")
    prefix = tmp_path_factory.mktemp("venv")
    venv.create(prefix, with_pip=True)
    pip = [prefix / "bin" / "python", "-m", "pip", "install", "--quiet"]
    _check([*pip, "--require-hashes", "-r", RUNTIME_LOCK])
    _check([*pip, "--no-deps", wheel])
    return Installed(wheel, prefix)
