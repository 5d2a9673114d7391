#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install Gauntlet with its pinned dependencies.
#
# mitmproxy 12 needs Python >= 3.12, and the `python3` on many machines is older, so this
# looks for one: $GAUNTLET_PYTHON, python3.13, python3.12, pyenv's versions, then python3.
# A pyenv shim that exists but is not enabled fails `--version`, so every candidate is run,
# not just found on PATH. Re-running is cheap: the install is skipped while pyproject.toml,
# setup.py and constraints.txt are unchanged.
#
# The install is editable in setuptools' default mode: an import hook maps `gauntlet` to
# harness/, `gauntlet.proxies` to proxies/ and `gauntlet.scenarios` to scenarios/
# (pyproject.toml, package-dir), so a new module or scenario is seen without reinstalling.
# mypy does not run that hook: it reads the same layout from .mypy-view/ (pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
MIN_MINOR=12

usable() {  # usable PYTHON -> prints its path if it runs and is >= 3.12
    local py=$1 path
    path=$(command -v "$py" 2>/dev/null) || return 1
    "$path" -c "import sys, venv; sys.exit(0 if sys.version_info >= (3, $MIN_MINOR) else 1)" \
        >/dev/null 2>&1 || return 1
    echo "$path"
}

find_python() {
    local c
    for c in "${GAUNTLET_PYTHON:-}" python3.13 python3.12; do
        [ -n "$c" ] && usable "$c" && return 0
    done
    if command -v pyenv >/dev/null 2>&1; then
        local root
        root=$(pyenv root)
        for c in $(ls -d "$root"/versions/3.* 2>/dev/null | sort -t. -k2,2nr); do
            usable "$c/bin/python" && return 0
        done
    fi
    usable python3 && return 0
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    if ! PY=$(find_python); then
        echo "gauntlet: no Python >= 3.$MIN_MINOR found (tried \$GAUNTLET_PYTHON, python3.13," \
             "python3.12, pyenv versions, python3)." >&2
        echo "gauntlet: install Python 3.12 or 3.13 (e.g. 'pyenv install 3.12' or your OS" \
             "package python3.12-venv), or set GAUNTLET_PYTHON=/path/to/python3.12." >&2
        exit 2
    fi
    echo "gauntlet: creating $VENV with $PY ($("$PY" --version 2>&1))" >&2
    "$PY" -m venv "$VENV"
fi

STAMP="$VENV/.gauntlet-installed"
WANT=$(cat pyproject.toml setup.py constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "gauntlet: installing pinned dependencies into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c constraints.txt -e ".[test,dev]"
    echo "$WANT" > "$STAMP"
fi
