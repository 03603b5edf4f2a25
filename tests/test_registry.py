"""The detector registry: its name table agrees with the modules, and a name imports only its module."""

from __future__ import annotations

import subprocess
import sys

from drugwatch.models.registry import BUILTIN_DETECTORS, available_detectors, get_detector_class


def test_builtin_table_matches_registered_detectors():
    registered = available_detectors()
    assert sorted(BUILTIN_DETECTORS) == registered
    for name in registered:
        assert get_detector_class(name).__module__ == BUILTIN_DETECTORS[name], name


def test_scikit_learn_detector_loads_without_torch():
    code = (
        "import sys\n"
        "from drugwatch.models.registry import get_detector_class\n"
        "for name in ('drugwatch.selling.v1', 'drugwatch.drugtype.v1', 'drugwatch.tfidf_lr.v1'):\n"
        "    get_detector_class(name)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
