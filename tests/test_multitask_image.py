"""Yang & Luo's multitask image net and late fusion (random feature vectors; one slow test runs the encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from drugwatch.models import Detector, ModelLoadError, create_detector
from drugwatch.models.late_fusion import YangLuoFusion, fuse
from drugwatch.models.multitask_image import (
    HEADS,
    ImageExample,
    MultitaskImageDetector,
    MultitaskNet,
    encode_targets,
    multitask_loss,
    read_image_folder,
    read_image_jsonl,
    targets_from_labels,
)
from drugwatch.records import Event, ImageRef

DRUG, WEED, PILLS, SYRUP = range(4)


def test_task_relation_encoding_sets_the_parent_with_half_weight():
    Y, W = encode_targets([{"weed": 1}, {"pills": 1, "drug": 1}, {"drug": 1}, {"drug": 0}, {"syrup": 0}])
    # a weed web image: parent set positive, weight 0.5; pills and syrup masked
    np.testing.assert_array_equal(Y[0], [1, 1, 0, 0])
    np.testing.assert_array_equal(W[0], [0.5, 1, 0, 0])
    # a positive child always makes the parent an encoded target of weight 0.5
    np.testing.assert_array_equal(W[1], [0.5, 0, 1, 0])
    # a drug-only image knows only the parent
    np.testing.assert_array_equal(W[2], [1, 0, 0, 0])
    # no drug -> no weed, pills or syrup either
    np.testing.assert_array_equal(Y[3], [0, 0, 0, 0])
    np.testing.assert_array_equal(W[3], [1, 1, 1, 1])
    # a negative child alone says nothing about the parent
    np.testing.assert_array_equal(W[4], [0, 0, 0, 1])
    Y, W = encode_targets([{"weed": 1}], parent_weight=0.25)
    assert W[0, DRUG] == 0.25 and Y[0, DRUG] == 1


def test_single_task_masks_every_child_head():
    _, W = encode_targets([{"weed": 1}, {"drug": 0}], multitask=False)
    assert (W[:, 1:] == 0).all() and (W[:, 0] > 0).all()


def test_a_weed_example_contributes_no_loss_on_the_pills_head():
    torch.manual_seed(0)
    net = MultitaskNet(8, hidden=4, n_hidden=2, dropout=0.0)
    x = torch.randn(1, 8)
    Y, W = (torch.from_numpy(a) for a in encode_targets([{"weed": 1}]))
    loss = multitask_loss(net(x), Y, W)
    loss.backward()
    grad = net.heads.weight.grad
    assert float(grad[PILLS].abs().sum()) == 0.0 and float(net.heads.bias.grad[PILLS]) == 0.0
    assert float(grad[SYRUP].abs().sum()) == 0.0
    assert float(grad[WEED].abs().sum()) > 0 and float(grad[DRUG].abs().sum()) > 0
    # the loss does not change whatever the pills logit is
    logits = net(x).detach()
    moved = logits.clone()
    moved[0, PILLS] += 50.0
    assert torch.isclose(multitask_loss(logits, Y, W), multitask_loss(moved, Y, W))
    # and the parent term is weighted 0.5
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, Y, reduction="none")[0]
    assert torch.isclose(multitask_loss(logits, Y, W), 0.5 * bce[DRUG] + bce[WEED])


def test_targets_from_drug_labels():
    assert targets_from_labels(["marijuana"]) == {"drug": 1, "weed": 1, "pills": 0, "syrup": 0}
    assert targets_from_labels(["xanax", "codeine"]) == {"drug": 1, "weed": 0, "pills": 1, "syrup": 1}
    assert targets_from_labels(["cocaine"]) == {"drug": 1, "weed": 0, "pills": 0, "syrup": 0}
    assert targets_from_labels(["non_drug"]) == {"drug": 0, "weed": 0, "pills": 0, "syrup": 0}
    assert targets_from_labels(None) == {}


def _examples(n_per: int = 12, dim: int = 16, seed: int = 0) -> list[ImageExample]:
    """Random features around one centre per kind: weed, pills, syrup web images, drug/no-drug images."""
    rng = np.random.default_rng(seed)
    centres = {k: rng.normal(0, 3, dim) for k in ("weed", "pills", "syrup", "other")}
    out = []
    for kind, targets in (
        ("weed", {"weed": 1}),
        ("pills", {"pills": 1}),
        ("syrup", {"syrup": 1}),
        ("other", {"drug": 0}),
    ):
        for i in range(n_per):
            out.append(
                ImageExample(
                    id=f"{kind}{i}",
                    targets=targets,
                    source=f"web:{kind}",
                    features=(centres[kind] + rng.normal(0, 0.5, dim)).astype(np.float32),
                )
            )
    return out


def test_multitask_learns_every_head_from_partially_labelled_sources(tmp_path: Path):
    examples = _examples()
    detector = MultitaskImageDetector(hidden=32, epochs=80, lr=3e-3, dropout=0.0, num_threads=1)
    assert detector.fit(examples) is detector
    proba = detector.predict_proba(examples)
    assert proba.shape == (len(examples), 4) and detector.columns == HEADS
    kinds = np.array([e.id.rstrip("0123456789") for e in examples])
    assert (proba[kinds != "other", 0] > 0.5).all() and (proba[kinds == "other", 0] < 0.5).all()
    for j, kind in ((1, "weed"), (2, "pills"), (3, "syrup")):
        assert (proba[kinds == kind, j] > 0.5).all(), kind
    # save / load round trip gives identical outputs
    directory = detector.save(tmp_path / "mt")
    config = json.loads((directory / "config.json").read_text())
    assert config["registry_name"] == "drugwatch.yang_luo_image.v1" and config["columns"] == list(HEADS)
    loaded = Detector.load(directory)
    np.testing.assert_array_equal(loaded.predict_proba(examples), proba)
    with pytest.raises(ModelLoadError, match="expects 'drugwatch.yang_luo_fusion.v1'"):
        YangLuoFusion.load(directory)


def test_deterministic_and_checks_parameters_and_inputs():
    examples = _examples(n_per=5)
    a = MultitaskImageDetector(hidden=8, epochs=3, num_threads=1).fit(examples).predict_proba(examples)
    b = MultitaskImageDetector(hidden=8, epochs=3, num_threads=1).fit(examples).predict_proba(examples)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="invalid parameter"):
        MultitaskImageDetector(hidden=0).fit(examples)
    with pytest.raises(TypeError, match="str object received"):
        MultitaskImageDetector().fit("a picture")
    with pytest.raises(ValueError, match="drug and non-drug"):
        MultitaskImageDetector(epochs=1).fit([e for e in examples if "drug" not in e.targets])


def test_events_without_images_get_the_base_rates():
    examples = _examples(n_per=5)
    detector = MultitaskImageDetector(hidden=8, epochs=2, num_threads=1).fit(examples)
    proba = detector.predict_proba([Event(id="t", text="no picture here")])
    np.testing.assert_allclose(proba[0], detector.prior_)
    assert not detector.has_image([Event(id="t", text="x")])[0]
    # As every event detector, it takes raw texts (no image: the base rates) and decides in one place.
    np.testing.assert_allclose(detector.predict_proba(["no picture here"]), proba)
    np.testing.assert_array_equal(detector.predict(examples), detector.decide(detector.predict_proba(examples)))
    with pytest.raises(ValueError, match="unknown head 'cats'"):
        MultitaskImageDetector(epochs=1).fit([*examples, ImageExample(id="c", targets={"cats": 1})])


def test_image_sources_are_read_with_the_heads_they_know(tmp_path: Path):
    (tmp_path / "images" / "drug").mkdir(parents=True)
    (tmp_path / "images" / "drug" / "a.jpg").write_bytes(b"x")
    (tmp_path / "images.jsonl").write_text(
        '{"id": "i1", "file": "images/drug/a.jpg", "drug": true, "source": "s"}\n'
        '{"id": "i2", "file": "images/other/b.jpg", "drug": false, "source": "s"}\n'
    )
    rows = read_image_jsonl(tmp_path / "images.jsonl")
    assert [r.targets for r in rows] == [{"drug": 1}, {"drug": 0}]
    assert rows[0].image.path.endswith("images/drug/a.jpg")
    weed = read_image_folder(tmp_path / "images" / "drug", "weed")
    assert len(weed) == 1 and weed[0].targets == {"weed": 1}
    with pytest.raises(ValueError, match="head must be one of"):
        read_image_folder(tmp_path, "coke")


def test_late_fusion_weighted_average_and_text_only_events():
    p = fuse(np.array([0.2, 0.2]), np.array([1.0, 1.0]), np.array([True, False]), 0.5)
    np.testing.assert_allclose(p, [0.6, 0.2])


TEXTS = [
    ("xanax bars in stock dm me #xanax", 1),
    ("fresh kush for sale wickr plug #weed", 1),
    ("lean pints available #lean", 1),
    ("percs 30 dm for prices #percocet", 1),
    ("lovely sunset today #beach", 0),
    ("brunch with the girls #food", 0),
    ("my dog is the best #dog", 0),
    ("gym time #fitness", 0),
]


def test_late_fusion_on_text_only_events_is_the_text_detector(tmp_path: Path):
    events = [Event(id=f"e{i}", text=t, selling=bool(y), meta={"group": f"g{i}"}) for i, (t, y) in enumerate(TEXTS)]
    fusion = create_detector("drugwatch.yang_luo_fusion.v1").fit(events)
    text = create_detector("drugwatch.yang_luo_text.v1").fit(events)
    np.testing.assert_allclose(fusion.predict_proba(events), text.predict_proba(events))
    assert fusion.image_ is None
    loaded = Detector.load(fusion.save(tmp_path / "fusion"))
    np.testing.assert_array_equal(loaded.predict_proba(events), fusion.predict_proba(events))


@pytest.mark.slow
def test_fusion_with_real_images_tunes_its_weight_inside_training(tmp_path: Path):
    from drugwatch.demo.images import render
    from drugwatch.records import sha256_bytes

    events = []
    scenes = [
        ("leaf", "marijuana", 1),
        ("pills", "xanax", 1),
        ("syrup", "codeine", 1),
        ("powder", "cocaine", 1),
        ("sunset", None, 0),
        ("food", None, 0),
        ("dog", None, 0),
        ("coffee", None, 0),
    ]
    for k in range(3):
        for i, (scene, drug, y) in enumerate(scenes):
            data = render(scene, f"test-fusion:{k}:{i}", drug=drug)
            path = tmp_path / f"{k}_{i}.jpg"
            path.write_bytes(data)
            labels = (drug,) if drug else ("non_drug",)
            events.append(
                Event(
                    id=f"e{k}_{i}",
                    text="new post, dm #mood" if k % 2 else "check this out #daily",
                    images=(ImageRef(path=str(path), sha256=sha256_bytes(data)),),
                    labels=labels,
                    selling=bool(y),
                    meta={"group": f"g{k}_{i}"},
                )
            )
    fusion = YangLuoFusion(image_weight=None, image_params={"epochs": 40, "num_threads": 1}).fit(events)
    assert fusion.image_ is not None and 0.0 <= fusion.weight_ <= 1.0 and fusion.weight_scores_
    proba = fusion.predict_proba(events)[:, 1]
    y = np.array([int(e.selling) for e in events])
    assert proba[y == 1].mean() > proba[y == 0].mean() + 0.2
