"""Honest evaluation: metrics (:mod:`.metrics`), dedup and grouped folds
(:mod:`.splits`), experiment configs (:mod:`.config`), one task object per
target (:mod:`.tasks`) and the one runner that cross-validates and trains
them (:mod:`.experiment`).

Import the submodules directly; this package imports nothing eagerly so that
detectors can use :mod:`.metrics` without loading the experiment runner.
"""
