#!/usr/bin/env bash
# Set up (first time) and start predictbot: the chat platforms configured in the environment or
# .env, or — with no chat tokens — the console on an embedded SQLite file.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/predictbot" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -e .
  touch "$VENV/.installed"
fi
exec "$VENV/bin/predictbot" "$@"
