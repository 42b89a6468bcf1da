"""The container image, checked without a Docker engine.

The Dockerfile's COPY lines lay out each stage's files in a temporary directory (nothing else
from the checkout), a fresh venv stands in for the image's Python, and each stage's pip commands
run exactly as its RUN lines give them: the builder makes the locked wheels and the project's from
its own files alone, the final stage installs them with --no-index --no-deps --require-hashes.
Then the image's CMD runs with the image's ENV (/data and /app mapped into the temporary
directory), the HEALTHCHECK command must pass, the OWNER logs in, and neither /app nor the venv
may have changed meanwhile (the image runs with a read-only root filesystem but /data and a /tmp
tmpfs). A file the image needs that the Dockerfile does not copy fails it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.dockerfile import DOCKERFILE, ROOT, Stage, stages

sys.path.insert(0, str(ROOT / "bench"))
from served import Server, free_port, post_json

OWNER = ("owner@example.org", "Smoke-Owner-Password-1")


def _ignored() -> list[str]:
    """.dockerignore's patterns as names to leave out of a copied directory."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip().removeprefix("**/") for line in lines if line.strip()]


def lay_out(stage: Stage, root: Path) -> None:
    """Copy what `stage` COPYs from the build context to under `root`."""
    ignore = shutil.ignore_patterns(*_ignored(), "*.pyc")
    for copy in stage.copies:
        dest = root / copy.workdir.lstrip("/") / copy.dest
        into_directory = copy.dest.endswith("/") or len(copy.sources) > 1
        for name in copy.sources:
            source = ROOT / name
            assert source.exists(), f"the Dockerfile copies {name}, which does not exist"
            if source.is_dir():
                shutil.copytree(source, dest, ignore=ignore, dirs_exist_ok=True)
            else:
                target = dest / source.name if into_directory else dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


def run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, (
        f"{command[:3]} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    )
    return done.stdout


@dataclass
class Image:
    """A venv with what the image installs, and where the final stage's files go."""

    base: Path
    venv: Path

    def python(self) -> Path:
        return self.venv / "bin" / "python"


def image_pip(venv: Path, stage_root: Path, wheels: Path, workdir: str, args: list[str]) -> None:
    """Run one of the Dockerfile's pip commands as written, with the image's paths mapped."""
    mapped = []
    for arg in args:
        if arg.startswith("/wheels"):
            arg = str(wheels) + arg.removeprefix("/wheels")
            if "*" in arg:
                (arg,) = map(str, Path(arg).parent.glob(Path(arg).name))
        mapped.append(arg)
    # --no-compile: .pyc files only make imports faster, and writing them is slow.
    quiet = ["--quiet", "--no-compile"] if mapped[0] == "install" else ["--quiet"]
    if mapped[0] == "check":
        quiet = []
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
    run(*pip, mapped[0], *quiet, *mapped[1:], cwd=stage_root / workdir.lstrip("/"))


@pytest.fixture(scope="module")
def image() -> Iterator[Image]:
    base = Path(tempfile.mkdtemp(prefix="dbc-image-"))
    builder, final = stages()
    venv = base / "venv"
    run(sys.executable, "-m", "venv", venv)
    wheels = base / "wheels"
    # The builder stage on its files only, then the final stage's installs: each stage's pip
    # commands exactly as the Dockerfile's RUN lines give them.
    for stage, root in ((builder, base / "builder"), (final, base / "image")):
        lay_out(stage, root)
        for workdir, args in stage.pip:
            image_pip(venv, root, wheels, workdir, args)
    shutil.rmtree(base / "image")  # each test lays the final stage out again
    yield Image(base, venv)
    shutil.rmtree(base, ignore_errors=True)


def test_every_pip_install_in_the_image_installs_its_lock_without_resolving():
    commands = [args for stage in stages() for _, args in stage.pip]
    installs = [args for args in commands if args[0] in {"install", "wheel"}]
    assert len(installs) >= 4
    for args in installs:
        assert "--no-deps" in args, f"pip {' '.join(args)} may resolve dependencies"
        if "-r" in args:
            assert "--require-hashes" in args, f"pip {' '.join(args)} skips the lock's hashes"
    final_installs = [args for args in stages()[-1].pip if args[0] == "install"]
    assert all("--no-index" in args for args in final_installs)
    assert ["check"] in [args for _, args in stages()[-1].pip]


@dataclass
class Served:
    server: Server
    env: dict[str, str]
    data: Path
    workdir: Path
    before: dict[str, tuple[int, int]]  # snapshot() of the workdir and the venv at the start


def start(image: Image, final: Stage, name: str) -> Served:
    """Lay out the final stage and run its CMD with its ENV (log: `name`.log beside it)."""
    root = image.base / name
    lay_out(final, root)
    data = root / "data"
    data.mkdir()

    def mapped(value: str) -> str:
        for inside in ("/data", "/app"):
            if value == inside or value.startswith(inside + "/"):
                return str(root / inside.lstrip("/")) + value[len(inside) :]
        return value

    env = {name: mapped(value) for name, value in final.env.items()}
    env.update(
        PATH=f"{image.venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        HOST="127.0.0.1",  # the container's port mapping is the platform's business
        PORT=str(free_port()),
        DBCONNECTOR_SECRET_KEY=secrets.token_urlsafe(32),
        DBCONNECTOR_OWNER_USERNAME=OWNER[0],
        DBCONNECTOR_OWNER_PASSWORD=OWNER[1],
        DBCONNECTOR_WORKERS="1",
        DBCONNECTOR_BCRYPT_ROUNDS="4",
    )
    assert env["DBCONNECTOR_ENV"] == "production" and env["DBCONNECTOR_DATA_DIR"] == str(data)
    command = [str(image.venv / "bin" / final.cmd[0]), *final.cmd[1:]]
    log = image.base / f"{name}.log"
    workdir = root / final.copies[0].workdir.lstrip("/")
    before = snapshot(workdir, image.venv)
    server = Server("service", command, env, int(env["PORT"]), log, cwd=workdir)
    return Served(server, env, data, workdir, before)


def snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory under `roots`, with its size and modification time."""
    found = {}
    for root in roots:
        for path in (root, *root.rglob("*")):
            info = path.lstat()
            found[str(path)] = (info.st_size, info.st_mtime_ns)
    return found


def healthcheck(image: Image, final: Stage, env: dict[str, str]) -> int:
    command = [str(image.python()) if final.healthcheck[0] == "python" else final.healthcheck[0]]
    done = subprocess.run([*command, *final.healthcheck[1:]], env=env, timeout=10, check=False)
    return done.returncode


def test_the_image_serves_passes_its_healthcheck_and_logs_the_owner_in(image):
    final = stages()[-1]
    assert final.user == "10001" and final.cmd == ["dbconnector", "serve"]
    served = start(image, final, "served")
    server, env = served.server, served.env
    try:
        assert healthcheck(image, final, env) == 0
        pair = post_json(server, "/v1/auth", {"username": OWNER[0], "password": OWNER[1]})
        assert pair["userid"] == 1 and pair["authToken"].count(".") == 2
        request = urllib.request.Request(  # noqa: S310 - loopback
            server.url("/v1/users/1"), headers={"Authorization": f"Bearer {pair['authToken']}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            assert json.loads(response.read())[0]["Username"] == OWNER[0]
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert snapshot(served.workdir, image.venv) == served.before, "it wrote outside /data"
    assert (served.data / "dbconnector.db").is_file()  # the metadata database went to /data
    assert healthcheck(image, final, env) != 0  # and the check notices a stopped server


@pytest.mark.parametrize(
    "line, kept, missing",
    [
        ("COPY migrations ./migrations\n", "", "no Alembic migrations"),
        (
            "COPY wsgi.py gunicorn.conf.py alembic.ini ./",
            "COPY gunicorn.conf.py alembic.ini ./",
            "no wsgi.py",
        ),
    ],
)
def test_a_file_the_dockerfile_forgets_fails_the_image(image, line, kept, missing):
    text = DOCKERFILE.read_text()
    assert line in text
    final = stages(text.replace(line, kept))[-1]
    with pytest.raises(RuntimeError, match="exited at start"):
        start(image, final, f"forgot-{len(kept)}")
    assert missing in (image.base / f"forgot-{len(kept)}.log").read_text()
