"""Point 3: the image and the compose file, checked as far as this machine can (no Docker
daemon): hadolint, the stages' structure, what each stage installs, the files it copies."""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.packaging.conftest import ROOT

DEV_MARKERS = ("requirements/dev.txt", "--group dev", "--all-groups", "--dev", "--extra dev")


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]


def stages(path: Path) -> list[Stage]:
    text = re.sub(r"\\\n", " ", path.read_text())  # line continuations
    found: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arg = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arg.split()
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else str(len(found))
            found.append(Stage(words[0], name))
        else:
            found[-1].instructions.append((keyword, arg.strip()))
    return found


def test_hadolint_finds_nothing() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run(
        [str(hadolint), "--failure-threshold", "warning", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_final_stage_has_runtime_dependencies_only() -> None:
    found = stages(ROOT / "Dockerfile")
    assert len(found) >= 2, "multi-stage"
    by_name = {s.name: s for s in found}
    final = found[-1]

    def lineage(stage: Stage) -> set[str]:
        """The stages this one builds on or copies from, itself included."""
        names = {stage.name}
        if stage.base in by_name:
            names |= lineage(by_name[stage.base])
        for copy in stage.all("COPY"):
            if source := re.search(r"--from=(\S+)", copy):
                names |= lineage(by_name[source.group(1)]) if source.group(1) in by_name else set()
        return names

    used = lineage(final)
    assert len(used) >= 2, "the final stage copies from a build stage"
    for name in used:
        for run in by_name[name].all("RUN"):
            assert not any(marker in run for marker in DEV_MARKERS), (name, run)
            if "uv sync" in run:
                assert "--no-dev" in run, (name, run)
        for copy in by_name[name].all("COPY"):
            assert "dev.txt" not in copy, (name, copy)
    runs = [run for s in used for run in by_name[s].all("RUN")]
    installs = [r for r in runs if "pip install" in r]
    assert installs and all("--require-hashes" in r or "--no-deps" in r for r in installs)
    for r in runs:  # a wheel built in isolation would fetch its backend unpinned, unhashed
        if "pip wheel" in r:
            assert "--no-build-isolation" in r and "--no-deps" in r, r


def test_the_final_stage_runs_as_non_root_with_a_health_check() -> None:
    final = stages(ROOT / "Dockerfile")[-1]
    users = final.all("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    kinds = [kw for kw, _ in final.instructions]
    assert kinds.index("USER") < kinds.index("CMD")
    [health] = final.all("HEALTHCHECK")
    assert "justtrades" in health and "health" in health
    assert final.all("CMD")[-1] == '["justtrades", "serve"]'  # serve migrates, then serves


def test_every_file_the_image_copies_exists_and_is_in_the_build_context() -> None:
    ignored = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in stages(ROOT / "Dockerfile"):
        for copy in stage.all("COPY"):
            if "--from=" in copy:
                continue
            *sources, _ = shlex.split(copy)
            for source in sources:
                assert (ROOT / source).exists(), source
                parts = Path(source).parts
                for pattern in ignored:
                    assert not any(
                        fnmatch.fnmatch("/".join(parts[: n + 1]), pattern.lstrip("*/"))
                        for n in range(len(parts))
                    ), (source, pattern)


def test_the_health_command_the_image_runs_exists() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "justtrades", "health", "--url", "http://127.0.0.1:9/health"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1 and "did not answer" in done.stderr


def test_compose_runs_the_service_on_postgresql_with_health_checks() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    app, db = services["app"], services["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["environment"]["JT_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "JT_SECRET_KEY" in app["environment"]
    assert app["healthcheck"]["test"] == ["CMD", "justtrades", "health"]
    assert app["build"] == "."
