"""Personal data in reports: masked by default, shown only on request and logged.

Masked, a username becomes ``user-3f9c2a1b`` and a contact value
``[phone 5d01e2aa]``: a keyed hash (HMAC-SHA-256 with a key drawn for this
report and never written down), so the same account or contact carries the
same token everywhere in one report, links and networks stay readable, and
nobody can recover a phone number by hashing candidates. Contacts inside raw
text are replaced by their token; image thumbnails are blurred.

``unmask=True`` shows everything; :func:`log_unmask` records who did it,
when and where the report went (``unmask-log.jsonl`` in the report folder
and ``$DRUGWATCH_HOME/audit/unmask.log``).
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drugwatch.store.db import data_home

logger = logging.getLogger("drugwatch.report")

__all__ = ["Masker", "log_unmask"]


class Masker:
    """Masks usernames and contact values (or passes them through with ``unmask=True``)."""

    def __init__(self, unmask: bool = False, key: bytes | None = None):
        self.unmask = unmask
        self._key = key or secrets.token_bytes(32)

    def _token(self, value: str) -> str:
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:8]

    def user(self, username: str | None) -> str:
        if username is None:
            return "(unknown)"
        return username if self.unmask else f"user-{self._token('u:' + username)}"

    def contact(self, kind: str, value: str) -> str:
        return value if self.unmask else f"[{kind} {self._token(kind + ':' + value)}]"

    def account_key(self, key: str) -> str:
        platform, _, username = key.partition(":")
        return key if self.unmask else f"{platform}:{self.user(username)}"

    def linked_value(self, value: str) -> str:
        """A ``kind:value`` link value as :mod:`drugwatch.accounts.linking` writes it."""
        kind, sep, rest = value.partition(":")
        if not sep:
            return value if self.unmask else f"[{self._token(value)}]"
        return value if self.unmask else self.contact(kind, rest)


def log_unmask(output: str | os.PathLike[str], what: str, extra: dict[str, Any] | None = None) -> None:
    """Record that personal data was shown (report folder and the audit log)."""
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "user": getpass.getuser(),
        "what": what,
        "output": str(Path(output).resolve()),
        **(extra or {}),
    }
    line = json.dumps(entry, ensure_ascii=False)
    logger.warning("personal data unmasked: %s", line)
    for path in (Path(output) / "unmask-log.jsonl", data_home() / "audit" / "unmask.log"):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
