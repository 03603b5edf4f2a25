"""Property-based tests of the scoring API against its own OpenAPI schema (schemathesis).

Every operation is called with generated valid and invalid inputs, with a
key holding every scope (and without a key, which must be a 401). Schemathesis' checks run on every response: no
5xx, status codes and bodies as documented, content types, valid data
accepted and invalid data rejected.

The app is built when the module is imported (tiny event models and a
dealer-account model trained on the demo corpus, about ten seconds): schemathesis parametrizes the test from the
schema at collection time. (``schemathesis.pytest.from_fixture`` would
defer it, but schemathesis 4.32's lazy loader fails on pytest 9.)
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, assume, settings
from test_api_support import copy_models

from drugwatch.api import ApiSettings, create_app
from drugwatch.api.keys import create_key

_ROOT = Path(tempfile.mkdtemp(prefix="drugwatch-schemathesis-"))
atexit.register(shutil.rmtree, _ROOT, True)

app = create_app(
    ApiSettings(
        db=f"sqlite:///{_ROOT / 'api.sqlite'}",
        api_models=copy_models(_ROOT / "cache", _ROOT / "models", account=True),
        api_max_batch=16,
        api_max_timeline=16,
        api_rate_per_second=1e6,
        api_rate_burst=1_000_000,
    )
)
TOKEN = create_key(app.state.store.engine, "schemathesis", ["score", "inspect", "admin"]).token
# A text over the body limit is refused with 413 (documented), which schemathesis
# does not count as a rejection of invalid data by default.
REJECTED = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
CONFIG = schemathesis.Config.from_dict(
    {
        "auth": {"openapi": {"HTTPBearer": {"bearer": TOKEN}}},  # schemathesis sends it, and leaves it out to test 401s
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


def _answers_itself(body: Any) -> bool:
    """A comment whose ``parent_id`` is its own id (given, or its position by default).

    The one rule of the input the schema cannot state; the API answers 422
    (tested in test_api.py), which schemathesis would count as valid data refused.
    """
    if not isinstance(body, dict):
        return False
    items = [body]
    for field in ("events", "timeline"):
        if isinstance(body.get(field), list):
            items = body[field]
    return any(
        isinstance(item, dict) and item.get("kind") == "comment" and item.get("parent_id") == (item.get("id") or str(i))
        for i, item in enumerate(items)
    )


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case) -> None:
    assume(not _answers_itself(case.body))
    case.call_and_validate()


def test_the_generated_requests_reached_the_models() -> None:
    """Runs after the test above: the key was sent and events were really scored
    (a run answered with 401s only would pass the checks vacuously)."""
    assert app.state.queue.events > 50
    from drugwatch.api.keys import list_keys

    assert list_keys(app.state.store.engine)[0].last_used_at is not None
