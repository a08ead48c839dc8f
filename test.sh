#!/usr/bin/env bash
# Set up (first time) and run the whole test suite. PostgreSQL tests run when a server is
# reachable at PREDICTBOT_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test) and
# are skipped with the reason otherwise; PREDICTBOT_REQUIRE_PG=1 turns a missing server into a
# failure (that is what .ci/run does).
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/pytest" ] || [ pyproject.toml -nt "$VENV/.installed-test" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -e '.[test]'
  touch "$VENV/.installed-test"
fi
exec "$VENV/bin/pytest" "$@"
