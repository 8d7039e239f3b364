#!/usr/bin/env python3
"""Bootstrap for a fresh machine with only Python 3.11+ and pip.

    python3 tasks.py demo    # install into .venv, then run `leadbot demo`
    python3 tasks.py test    # install into .venv, then run the test suite

Each command installs what it needs first (again only when pyproject.toml changed).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".leadbot-installed"


def ensure_installed() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be run by any python3
        sys.exit("leadbot needs Python 3.11 or newer")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing leadbot and its dependencies into .venv …", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    ensure_installed()
    if argv[0] == "demo":
        cmd = [str(BIN / "leadbot"), "demo", *argv[1:]]
    else:
        cmd = [str(BIN / "python"), "-m", "pytest", *argv[1:]]
    os.chdir(ROOT)
    if os.name == "posix":
        # Become the command, so Ctrl-C and SIGTERM reach it directly (no wrapper traceback).
        os.execv(cmd[0], cmd)
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
