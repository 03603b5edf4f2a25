"""Write the text layer's precomputed tables from their source data.

    python scripts/build_text_tables.py [--check]

``src/drugwatch/text/data/lookalikes.json``: the look-alike letters
``drugwatch.text.normalize.confusable_lookalikes`` derives from the Unicode
confusables data of ``confusable_homoglyphs`` (non-ASCII letter -> the ASCII
letter it imitates). ``normalize`` reads this file instead of importing the
confusables data and deriving the table in every process.

Run it after upgrading ``confusable_homoglyphs`` or Python (the derivation
uses ``unicodedata``); ``tests/test_text_tables.py`` fails while the shipped
file differs from what this script builds. ``--check`` only reports whether
the shipped file is current (exit status 1 when not).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def lookalikes_document() -> str:
    """The text of ``lookalikes.json`` as built from the installed data."""
    from importlib.metadata import version

    from drugwatch.text.normalize import confusable_lookalikes

    document = {
        "generated_by": "scripts/build_text_tables.py",
        "source": f"confusable_homoglyphs {version('confusable_homoglyphs')} (confusables.json)",
        "python_unicode": _unicode_version(),
        "lookalikes": confusable_lookalikes(),
    }
    return json.dumps(document, ensure_ascii=True, indent=1) + "\n"


def _unicode_version() -> str:
    import unicodedata

    return unicodedata.unidata_version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the shipped file is current")
    args = parser.parse_args(argv)

    from drugwatch.text.normalize import LOOKALIKES_FILE

    path = Path(LOOKALIKES_FILE)
    text = lookalikes_document()
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if args.check:
        ok = current is not None and json.loads(current)["lookalikes"] == json.loads(text)["lookalikes"]
        print(f"{path}: {'current' if ok else 'stale: run scripts/build_text_tables.py'}")
        return 0 if ok else 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({len(json.loads(text)['lookalikes'])} look-alikes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
