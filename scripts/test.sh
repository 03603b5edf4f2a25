#!/usr/bin/env bash
# Quick start 2: run the test suite (installs into .venv first if needed).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m slow` for the slow tests.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
