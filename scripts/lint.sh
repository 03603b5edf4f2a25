#!/usr/bin/env bash
# Style checks (ruff lint, ruff format, mypy; configured in pyproject.toml).
# Installs into .venv first if needed. Run by .ci/run before the tests.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$ROOT"
"$VENV/bin/ruff" check src tests benchmarks scripts
"$VENV/bin/ruff" format --check src tests benchmarks scripts
"$VENV/bin/mypy"
