"""Honest evaluation: metrics (:mod:`.metrics`), dedup and grouped folds
(:mod:`.splits`), experiments as config files (:mod:`.experiment`).

Import the submodules directly; this package imports nothing eagerly so that
detectors can use :mod:`.metrics` without loading the experiment runner.
"""
