#!/usr/bin/env bash
# Quick start 1: install everything into .venv and run the main job on the demo corpus.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
exec "$VENV/bin/drugwatch" demo "$@"
