"""The parts of the Dockerfile the tests check without a Docker engine: stages, COPY, ENV, USER,
HEALTHCHECK and CMD. Only the forms this project's Dockerfile uses are understood; anything else
raises, so a change to the Dockerfile cannot quietly slip past the tests."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Copy:
    sources: list[str]
    dest: str
    workdir: str


@dataclass
class Stage:
    name: str
    copies: list[Copy] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    healthcheck: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    # Each RUN's pip commands as (working directory, arguments after "pip").
    pip: list[tuple[str, list[str]]] = field(default_factory=list)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _exec_form(text: str) -> list[str]:
    if not text.startswith("["):
        raise ValueError(f"use the JSON (exec) form: {text}")
    return json.loads(text)


def stages(text: str | None = None) -> list[Stage]:
    """Every stage of the Dockerfile (or of `text`), in order."""
    text = DOCKERFILE.read_text() if text is None else text
    found: list[Stage] = []
    workdir = "/"
    for word, args in instructions(text):
        if word == "FROM":
            parts = args.split()
            found.append(Stage(parts[2] if len(parts) == 3 else str(len(found))))
            workdir = "/"
            continue
        stage = found[-1]
        if word == "WORKDIR":
            workdir = args
        elif word == "COPY":
            parts = shlex.split(args)
            if any(part.startswith("--") for part in parts):
                raise ValueError(f"COPY flags are not understood here: {args}")
            stage.copies.append(Copy(parts[:-1], parts[-1], workdir))
        elif word == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                stage.env[name] = value
        elif word == "USER":
            stage.user = args
        elif word == "HEALTHCHECK":
            stage.healthcheck = _exec_form(args.split(" CMD ", 1)[1].strip())
        elif word == "CMD":
            stage.cmd = _exec_form(args)
        elif word == "RUN":
            stage.pip += [(workdir, command) for command in _pip_commands(args)]
    return found


def _pip_commands(run: str) -> list[list[str]]:
    """The `pip ...` commands of a RUN line (its --mount flags dropped), each after "pip"."""
    words = shlex.split(run)
    while words and words[0].startswith("--mount="):
        words.pop(0)
    commands, current = [], []
    for word in [*words, "&&"]:
        if word == "&&":
            if current and current[0] == "pip":
                commands.append(current[1:])
            current = []
        else:
            current.append(word)
    return commands


def final_stage(text: str | None = None) -> Stage:
    return stages(text)[-1]
