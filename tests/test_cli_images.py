"""Images end to end through the command line: train, evaluate, scan, fuse, report, and the refusals.

A tiny image set drawn by the demo renderer (pills, leaves, syrup, powder vs
sunsets, food, dogs), written as a kit-style ``images.jsonl`` (``file``
relative to the JSONL) and as generic JSONL events with captions. Image
features are computed once per module into a shared cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from drugwatch.cli import app
from drugwatch.demo.images import render
from drugwatch.models import Detector
from drugwatch.records import Event, ImageRef

runner = CliRunner()

DRUG_SCENES = [("pills", "xanax"), ("leaf", "marijuana"), ("syrup", "codeine"), ("powder", "cocaine")]
OTHER_SCENES = ["sunset", "food", "dog"]
DRUG_TEXTS = {
    "xanax": "xanax bars dm me",
    "marijuana": "loud weed pack dm",
    "codeine": "lean pints dm",
    "cocaine": "snow for sale dm",
}

TINY_YL = "params = { epochs = 30, hidden = 16, num_threads = 1 }"


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-images-home")


@pytest.fixture(autouse=True)
def _shared_feature_cache(_isolated_home: Path, shared_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRUGWATCH_HOME", str(shared_home))


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kit-style image set: ``images.jsonl`` with ``file`` relative to it, 12 drug and 9 other images."""
    root = tmp_path_factory.mktemp("kit")
    (root / "images" / "drug").mkdir(parents=True)
    (root / "images" / "other").mkdir(parents=True)
    rows = []
    for k in range(3):
        for scene, drug in DRUG_SCENES:
            name = f"images/drug/{scene}{k}.jpg"
            (root / name).write_bytes(render(scene, f"cli-images:{scene}:{k}", drug=drug))
            rows.append({"id": f"images:test:{scene}{k}", "file": name, "drug": True, "source": "test"})
        for scene in OTHER_SCENES:
            name = f"images/other/{scene}{k}.jpg"
            (root / name).write_bytes(render(scene, f"cli-images:{scene}:{k}"))
            rows.append({"id": f"images:test:{scene}{k}", "file": name, "drug": False, "source": "test"})
    (root / "images.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def posts(kit: Path) -> Path:
    """Generic JSONL events with captions and the kit's images (labels for the drug-type target)."""
    lines = []
    for k in range(3):
        for scene, drug in DRUG_SCENES:
            lines.append(
                {
                    "record_type": "event",
                    "id": f"p-{scene}{k}",
                    "text": DRUG_TEXTS[drug],
                    "author": f"dealer{k}",
                    "images": [{"path": str(kit / f"images/drug/{scene}{k}.jpg")}],
                    "labels": [drug],
                    "meta": {"group": f"g{scene}{k}"},
                }
            )
        for scene in OTHER_SCENES:
            lines.append(
                {
                    "record_type": "event",
                    "id": f"p-{scene}{k}",
                    "text": f"lovely {scene} today",
                    "author": f"user{k}",
                    "images": [{"path": str(kit / f"images/other/{scene}{k}.jpg")}],
                    "labels": ["non_drug"],
                    "meta": {"group": f"g{scene}{k}"},
                }
            )
    lines.append(
        {
            "record_type": "event",
            "id": "p-textonly",
            "text": "happy birthday bro",
            "author": "user0",
            "labels": ["non_drug"],
            "meta": {"group": "gtext"},
        }
    )
    path = kit / "posts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


def _config(tmp: Path, data: Path, *, target: str, columns: str, extra_data: str = "", train: str = "") -> Path:
    path = tmp / "exp.toml"
    path.write_text(
        f"""
[experiment]
name = "img"
title = "image CLI test"

[data]
path = "{data}"
target = "{target}"
dedup_threshold = 0
{extra_data}

[cv]
n_splits = 3
seed = 0

[train]
seed = 0
{train}

{columns}
""",
        encoding="utf-8",
    )
    return path


YL_COLUMN = f"""
[columns.yang_luo]
detector = "drugwatch.yang_luo_image.v1"
{TINY_YL}
"""


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = result.output.strip()
    assert text.startswith("error:"), text
    return text


@pytest.fixture(scope="module")
def image_model(kit: Path, tmp_path_factory: pytest.TempPathFactory, shared_home: Path) -> Path:
    """A Yang & Luo image model trained with `drugwatch train` on the kit images (cross-validated for its card)."""
    import os

    os.environ["DRUGWATCH_HOME"] = str(shared_home)
    tmp = tmp_path_factory.mktemp("train-image")
    config = _config(
        tmp,
        kit / "images.jsonl",
        target="drug_image",
        columns=YL_COLUMN,
        train='column = "yang_luo"\ncross_validate = true',
    )
    result = runner.invoke(app, ["train", str(config), "--output", str(tmp / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    return tmp / "run" / "model-best"


# ---------------------------------------------------------------------------
# train / evaluate


def test_train_writes_a_model_directory_with_a_card(image_model: Path) -> None:
    config = json.loads((image_model / "config.json").read_text())
    assert config["registry_name"] == "drugwatch.yang_luo_image.v1"
    assert config["evaluation"]["protocol"].startswith("3-fold stratified group CV on images.jsonl")
    assert config["evaluation"]["accuracy"] >= 0.8  # drug drawings vs landscapes separate easily
    card = (image_model / "README.md").read_text()
    assert "drugwatch.yang_luo_image.v1" in card
    detector = Detector.load(image_model)
    p = detector.predict_proba([Event(id="x", images=(ImageRef(path=str(image_model.parent.parent / "none.jpg")),))])
    assert p.shape == (1, 4)


def test_evaluate_drug_image_binary(kit: Path, tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        kit / "images.jsonl",
        target="drug_image",
        columns=YL_COLUMN
        + """
[columns.image_only]
detector = "drugwatch.image_only.v1"
params = { hidden = 16, epochs = 60, lr = 1e-2, validation_fraction = 0.0, num_threads = 1 }
""",
    )
    result = runner.invoke(app, ["evaluate", str(config), "--output", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["data"]["n_events"] == 21 and metrics["data"]["n_positive"] == 12
    assert metrics["data"]["format"] == "images"
    cells = {c["column"]: c for c in metrics["cells"]}
    assert set(cells) == {"yang_luo", "image_only"}
    for cell in cells.values():
        assert len(cell["per_fold"]) == 3
        assert sum(f["n_test"] for f in cell["per_fold"]) == 21
        assert cell["pooled"]["accuracy"] >= 0.8
    table = (tmp_path / "run" / "table.md").read_text()
    assert "Drug image vs not" in table and "Accuracy per fold" in table


def test_evaluate_image_tree_and_dmml_drugtype_on_events_with_images(posts: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, posts, target="image_tree", columns=YL_COLUMN)
    result = runner.invoke(app, ["evaluate", str(config), "--output", str(tmp_path / "tree"), "--quiet"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "tree" / "metrics.json").read_text())
    assert metrics["data"]["format"] == "jsonl"
    assert metrics["data"]["n_events"] == 21  # the text-only event has no image: left out
    heads = metrics["cells"][0]["pooled"]["heads"]
    assert heads["weed"]["n"] == 21 and heads["weed"]["n_positive"] == 3  # every head known on labelled posts
    assert "weed (n=21)" in (tmp_path / "tree" / "table.md").read_text()

    config = _config(
        tmp_path,
        posts,
        target="drugtype",
        columns="""
[columns.text]
detector = "drugwatch.tfidf_ovr.v1"
params = { inner_folds = 2 }

[columns.image]
detector = "drugwatch.image_only.v1"
params = { hidden = 16, epochs = 60, lr = 1e-2, validation_fraction = 0.0, num_threads = 1 }
""",
        extra_data="max_events = 20",
    )
    result = runner.invoke(app, ["evaluate", str(config), "--output", str(tmp_path / "dmml"), "--quiet"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "dmml" / "metrics.json").read_text())
    assert metrics["data"]["n_events"] == 20 and metrics["data"]["subset"]["n_before"] == 22
    assert {c["column"] for c in metrics["cells"]} == {"text", "image"}
    assert all("drug_vs_not" in c for c in metrics["cells"])
    assert "Drug vs not" in (tmp_path / "dmml" / "table.md").read_text()


@pytest.mark.parametrize(
    "case, expected",
    [
        ("selling", "holds images without text or selling labels"),
        ("bench", 'set data.format = "images"'),
        ("target", "data.target"),
        ("tree_text_detector", "target image_tree needs drug_image detectors"),
        ("checkpoints", "image experiments keep no fold checkpoints"),
        ("one_class", "needs drug and non-drug images"),
        ("demo_spec", "expected demo:seed=S,n_accounts=N"),
    ],
)
def test_refusals_are_one_line_errors(case: str, expected: str, kit: Path, tmp_path: Path) -> None:
    images = kit / "images.jsonl"
    command = "train"
    args: list[str] = []
    if case == "selling":  # the traceback: the kit's images with a selling config
        config = _config(
            tmp_path,
            images,
            target="selling",
            columns="""
[columns.ours]
detector = "drugwatch.selling.v1"
""",
        )
    elif case == "bench":
        config = _config(
            tmp_path,
            images,
            target="drugtype",
            extra_data='format = "bench"',
            columns="""
[columns.text]
detector = "drugwatch.tfidf_ovr.v1"
""",
        )
    elif case == "target":
        config = _config(tmp_path, images, target="pictures", columns=YL_COLUMN)
    elif case == "tree_text_detector":
        config = _config(
            tmp_path,
            images,
            target="image_tree",
            columns="""
[columns.text]
detector = "drugwatch.tfidf_ovr.v1"
""",
        )
    elif case == "demo_spec":
        config = _config(tmp_path, Path("x"), target="image_tree", columns=YL_COLUMN)
        config.write_text(config.read_text().replace('path = "x"', 'path = "demo:seed=zero"'))
    elif case == "checkpoints":
        command, args = "evaluate", ["--saved-only"]
        config = _config(tmp_path, images, target="drug_image", columns=YL_COLUMN)
    else:
        only_drugs = tmp_path / "drugs.jsonl"
        drug_lines = [line for line in images.read_text().splitlines() if '"drug": true' in line]
        only_drugs.write_text("".join(line + "\n" for line in drug_lines))
        (tmp_path / "images").symlink_to(kit / "images")
        config = _config(tmp_path, only_drugs, target="drug_image", columns=YL_COLUMN)
    result = runner.invoke(app, [command, str(config), "--output", str(tmp_path / "run"), *args])
    assert expected in _one_line_error(result)


# ---------------------------------------------------------------------------
# scan


def _results(path: Path) -> list[dict]:
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["record_type"] == "scan"
    return [json.loads(line) for line in lines[1:]]


def test_scan_kit_images_with_an_image_model(kit: Path, image_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "scan.jsonl"
    result = runner.invoke(
        app, ["scan", str(kit / "images.jsonl"), "--model", str(image_model), "--output", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output  # nothing set aside for 'field file'
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["read"] == 21 and report["results"] == 21 and report["quarantined"] == 0
    rows = _results(out)
    assert len(rows) == 21
    for row in rows:
        vision = row["vision"]
        assert vision["image_model"] == "drugwatch.yang_luo_image.v1"
        assert vision["rule"] == "image_only" and vision["fused_by"] == "drugwatch.yang_luo_image.v1"
        (image,) = vision["images"]
        assert image["index"] == 0 and len(image["sha256"]) == 64
        assert set(image["heads"]) == {"drug", "weed", "pills", "syrup"}
        assert image["probability"] == pytest.approx(image["heads"]["drug"])
        assert vision["fused"] == (image["probability"] >= 0.5)
    truth = np.array([row["annotated_labels"] != ["non_drug"] for row in rows])
    decided = np.array([row["vision"]["fused"] for row in rows])
    assert (truth == decided).mean() >= 0.8


def test_scan_late_fusion_of_image_and_text_models_and_report(posts: Path, image_model: Path, tmp_path: Path) -> None:
    from drugwatch.models import create_detector
    from drugwatch.vision.bench import load_image_events  # noqa: F401 - the kit reader is importable

    events = [
        Event.model_validate({k: v for k, v in json.loads(line).items() if k != "record_type"})
        for line in posts.read_text().splitlines()
    ]
    text_model = create_detector("drugwatch.tfidf_ovr.v1", inner_folds=2).fit(events)
    text_dir = text_model.save(tmp_path / "text-model")
    out = tmp_path / "fused.jsonl"
    result = runner.invoke(
        app, ["scan", str(posts), "--model", str(text_dir), "--model", str(image_model), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in _results(out)}
    pills = rows["p-pills0"]["vision"]
    assert pills["rule"] == "late_fusion_average" and pills["weight"] == 0.5
    assert pills["fused_by"] == "drugwatch.yang_luo_image.v1 + drugwatch.tfidf_ovr.v1"
    expected = 0.5 * pills["image_probability"] + 0.5 * pills["text_probability"]
    assert pills["fused_probability"] == pytest.approx(expected)
    assert pills["text_probability"] == pytest.approx(1 - rows["p-pills0"]["drug_probabilities"]["non_drug"])
    assert pills["agreement"] in {"both", "image_only", "text_only", "neither"}
    text_only = rows["p-textonly"]["vision"]
    assert text_only["images"] == [] and text_only["image_probability"] is None
    assert text_only["fused_probability"] == pytest.approx(text_only["text_probability"])

    # The report: image probability beside the (blurred) thumbnail, the agreement table, the top image events.
    report_dir = tmp_path / "report"
    result = runner.invoke(app, ["report", str(out), "--output", str(report_dir)])
    assert result.exit_code == 0, result.output
    html = (report_dir / "report.html").read_text()
    assert 'id="image-text-agreement"' in html and 'id="image-evidence"' in html
    assert html.count("P(drug) ") >= 10 and "data:image/jpeg;base64," in html
    agreement = (report_dir / "tables" / "image-text-agreement.csv").read_text().splitlines()
    counts = {line.split(",")[0]: int(line.split(",")[1]) for line in agreement[1:]}
    assert sum(counts.values()) == 22 and counts["no image score"] == 1
    evidence = (report_dir / "tables" / "image-evidence.csv").read_text().splitlines()
    assert len(evidence) == 1 + 12  # the 12 highest image probabilities
    probs = [float(line.split(",")[3]) for line in evidence[1:]]
    assert probs == sorted(probs, reverse=True)

    # Without a model that reads images: no vision field, and the report says why the section is empty.
    plain = tmp_path / "text.jsonl"
    result = runner.invoke(app, ["scan", str(posts), "--model", str(text_dir), "--output", str(plain)])
    assert result.exit_code == 0, result.output
    assert all("vision" not in row for row in _results(plain))
    result = runner.invoke(app, ["report", str(plain), "--output", str(tmp_path / "plain-report")])
    assert result.exit_code == 0, result.output
    assert 'id="no-image-evidence"' in (tmp_path / "plain-report" / "report.html").read_text()


def test_report_blurs_thumbnails_unless_unmasked(posts: Path, image_model: Path, tmp_path: Path) -> None:
    from drugwatch.report.evidence import thumbnail
    from drugwatch.report.masking import Masker

    path = json.loads(posts.read_text().splitlines()[0])["images"][0]["path"]
    assert thumbnail(path, Masker()) != thumbnail(path, Masker(unmask=True))


def test_scan_refusals(kit: Path, image_model: Path, tmp_path: Path) -> None:
    images = str(kit / "images.jsonl")
    # Two image models: at most one per task.
    result = runner.invoke(
        app,
        [
            "scan",
            images,
            "--model",
            str(image_model),
            "--model",
            str(image_model),
            "--output",
            str(tmp_path / "a.jsonl"),
        ],
    )
    assert "two 'drug_image' detectors" in _one_line_error(result)
    # A folder that is not a model directory.
    result = runner.invoke(app, ["scan", images, "--model", str(tmp_path), "--output", str(tmp_path / "b.jsonl")])
    assert "is not a model directory" in _one_line_error(result)
    assert not (tmp_path / "a.jsonl").exists() and not (tmp_path / "b.jsonl").exists()


def test_scorer_refuses_a_model_of_another_task(image_model: Path) -> None:
    from drugwatch.scoring import EventScorer

    detector = Detector.load(image_model)
    detector.task = "dealer"  # an account-level model: nothing in a scan could apply it
    with pytest.raises(ValueError, match=r"a scan cannot apply drugwatch.yang_luo_image.v1 \(task 'dealer'\)"):
        EventScorer([detector])


def test_image_records_outside_the_folder_are_quarantined(kit: Path, image_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "images.jsonl"
    rows = [
        {"id": "ok", "file": str(Path("images") / "drug" / "pills0.jpg"), "drug": True},
        {"id": "up", "file": "../secret.jpg", "drug": True},
        {"id": "abs", "file": "/etc/passwd", "drug": False},
        {"id": "flag", "file": "images/x.jpg", "drug": "yes"},
    ]
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "images").symlink_to(kit / "images")
    out = tmp_path / "scan.jsonl"
    result = runner.invoke(app, ["scan", str(bad), "--model", str(image_model), "--output", str(out), "--json"])
    assert result.exit_code == 3, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["results"] == 1 and report["quarantined"] == 3
    reasons = [json.loads(line)["reason"] for line in (tmp_path / "scan.quarantine.jsonl").read_text().splitlines()]
    assert sum("without '..'" in r for r in reasons) == 2 and any("'drug' must be" in r for r in reasons)


def test_parquet_results_keep_the_image_evidence(kit: Path, image_model: Path, tmp_path: Path) -> None:
    from drugwatch.scan.sinks import read_results

    out = tmp_path / "scan.parquet"
    result = runner.invoke(app, ["scan", str(kit / "images.jsonl"), "--model", str(image_model), "--output", str(out)])
    assert result.exit_code == 0, result.output
    results = list(read_results(out))
    assert len(results) == 21 and all(r.vision is not None and r.vision.images for r in results)


@pytest.mark.slow
def test_train_concat_fusion_on_events_and_scan_with_it(posts: Path, tmp_path: Path) -> None:
    """DMML concat fusion through the CLI: trained on events with images, scanned as the fused decision."""
    config = _config(
        tmp_path,
        posts,
        target="drugtype",
        train='column = "concat"',
        columns="""
[columns.concat]
detector = "drugwatch.fusion_concat.v1"
params = { hidden = 16, epochs = 30, max_len = 16, validation_fraction = 0.0, num_threads = 1 }
""",
    )
    result = runner.invoke(app, ["train", str(config), "--output", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "scan.jsonl"
    result = runner.invoke(
        app, ["scan", str(posts), "--model", str(tmp_path / "run" / "model-best"), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in _results(out)}
    vision = rows["p-leaf0"]["vision"]
    assert vision["rule"] == "model" and vision["fused_by"] == "drugwatch.fusion_concat.v1"
    assert vision["fused_probability"] == pytest.approx(1 - rows["p-leaf0"]["drug_probabilities"]["non_drug"])
    assert vision["fused"] == ("non_drug" not in rows["p-leaf0"]["drug_labels"])
    assert vision["images"][0]["probability"] is not None  # the image with the caption blanked
