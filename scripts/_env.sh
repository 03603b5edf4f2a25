# Sourced by the quick-start scripts: find Python 3.11 and make .venv with
# drugwatch and its test tools installed. Re-installs only when
# pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
find_python() {
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "drugwatch needs Python 3.11 (none found on PATH)" >&2
  return 1
}
if [ ! -x "$VENV/bin/python" ]; then
  PY="$(find_python)"
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.drugwatch-installed"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  # torch is pinned exactly in pyproject.toml (a CPU wheel); see README.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[dev]"
  touch "$STAMP"
fi
