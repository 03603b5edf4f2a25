"""Detectors: the contract (:mod:`.base`), the registry, the paper baselines and ours.

>>> from drugwatch.models import create_detector, Detector
>>> detector = create_detector("drugwatch.selling.v1")          # doctest: +SKIP
>>> detector.fit(train_events).predict_proba(events)[:, 1]      # doctest: +SKIP
>>> detector.save("model-best"); Detector.load("model-best")    # doctest: +SKIP

Registered names (``available_models()``; ``available_detectors()`` leaves out the account model):

* ``drugwatch.jmir_dt.v1``, ``drugwatch.jmir_rf.v1``, ``drugwatch.jmir_svm.v1``:
  JMIR 2019 tf-idf baselines (:mod:`.jmir`);
* ``drugwatch.jmir_lstm.v1``: JMIR 2019 two-branch LSTM (:mod:`.jmir_lstm`);
* ``drugwatch.yang_luo_text.v1``: Yang & Luo 2017 text classifier (:mod:`.yang_luo`);
* ``drugwatch.tfidf_lr.v1``: plain word tf-idf + logistic regression, the
  bench README's reference (:mod:`.selling`);
* ``drugwatch.selling.v1``: our first selling detector (:mod:`.selling`); ``drugwatch.selling.v3``:
  for unseen sources and languages (:mod:`.selling_v3`);
* ``drugwatch.selling.v4``: the default, selling where v3 or v1 flags (both fitted, v1's probability
  mapped onto v3's threshold; :mod:`.selling_v4`);
* ``drugwatch.tfidf_ovr.v1``, ``drugwatch.drugtype.v1`` and the DMML text,
  image and multimodal detectors (``fasttext``, ``textcnn``, ``textrnn``,
  ``minilm``, ``image_only``, ``fusion_concat``, ``fusion_fbc``, ``mmbt``):
  10-label drug types (:mod:`.multilabel` and neighbours; ``docs/dmml.md``);
* ``drugwatch.yang_luo_image.v1``: Yang & Luo's multitask image net, task
  ``drug_image``, columns drug / weed / pills / syrup (:mod:`.multitask_image`);
* ``drugwatch.yang_luo_fusion.v1``: its 50/50 (tunable) late fusion with a
  text detector, binary (:mod:`.late_fusion`);
* ``drugwatch.accounts.v1``: the dealer-account model, task ``dealer``, fitted
  on :class:`~drugwatch.records.Account` timelines (:mod:`drugwatch.accounts`).
"""

from drugwatch.models.base import (
    SELLING_COLUMNS,
    Detector,
    ModelLoadError,
    NotFittedError,
    SavedModel,
)
from drugwatch.models.registry import (
    UnknownDetectorError,
    available_detectors,
    available_models,
    create_detector,
    get_detector_class,
    get_model_class,
    register,
)

__all__ = [
    "SELLING_COLUMNS",
    "Detector",
    "ModelLoadError",
    "NotFittedError",
    "SavedModel",
    "UnknownDetectorError",
    "available_detectors",
    "available_models",
    "create_detector",
    "get_detector_class",
    "get_model_class",
    "register",
]
