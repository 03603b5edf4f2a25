"""The detector registry: its name table agrees with the modules, and a name imports only its module."""

from __future__ import annotations

import subprocess
import sys

import pytest

from drugwatch.models.base import Detector
from drugwatch.models.registry import (
    BUILTIN_DETECTORS,
    available_detectors,
    available_models,
    get_detector_class,
    get_model_class,
)


def test_builtin_table_matches_registered_detectors():
    registered = available_models()
    assert sorted(BUILTIN_DETECTORS) == registered
    assert available_detectors() == [n for n in registered if n != "drugwatch.accounts.v1"]
    for name in registered:
        assert get_model_class(name).__module__ == BUILTIN_DETECTORS[name], name


def test_detector_lookup_refuses_models_that_do_not_read_events():
    assert issubclass(get_detector_class("drugwatch.yang_luo_image.v1"), Detector)
    assert not issubclass(get_model_class("drugwatch.accounts.v1"), Detector)
    with pytest.raises(ValueError, match="not an event detector"):
        get_detector_class("drugwatch.accounts.v1")


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
