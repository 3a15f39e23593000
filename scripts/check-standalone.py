#!/usr/bin/env python3
"""Fails when a tracked file names a path outside the repository.

The repository stands alone: nothing in the build, the tests, the scripts or the docs may read
beside it. Every relative path that climbs (`../…`) is resolved from the file's directory and
from its crate's directory (Cargo resolves `embed_migrations!`, `include_str!` and build scripts'
paths from there); it must stay inside the repository either way it is read. Paths into the
material this project was written from (`shared/genesys`, `shared/gdpr`) are refused outright.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
CLIMBING = re.compile(r"(?:\.\./)+[\w.\-/{}$]*")
OUTSIDE_MATERIAL = re.compile(r"shared/(?:genesys|gdpr|style-anchors|storage-notes)|/work/\.library|\.library/")
SKIP = {"scripts/check-standalone.py", "Cargo.lock"}


def crate_dir(path: str) -> str:
    directory = os.path.dirname(path)
    while directory and not os.path.exists(os.path.join(ROOT, directory, "Cargo.toml")):
        directory = os.path.dirname(directory)
    return directory


def inside(base: str, relative: str) -> bool:
    resolved = os.path.realpath(os.path.join(ROOT, base, relative))
    return resolved == ROOT or resolved.startswith(ROOT + os.sep)


def main() -> int:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    problems = []
    for path in files:
        if path in SKIP:
            continue
        try:
            text = open(os.path.join(ROOT, path), encoding="utf-8").read()
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE_MATERIAL.search(line):
                problems.append(f"{path}:{number}: names material outside the repository: {line.strip()}")
                continue
            for match in CLIMBING.finditer(line):
                relative = match.group(0)
                if not (inside(os.path.dirname(path), relative) and inside(crate_dir(path), relative)):
                    problems.append(f"{path}:{number}: {relative} leaves the repository")
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} path(s) leave the repository: copy what is needed into it", file=sys.stderr)
        return 1
    print(f"   {len(files)} files: no path leaves the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
