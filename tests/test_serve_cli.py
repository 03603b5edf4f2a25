"""``drugwatch api-keys`` and ``drugwatch serve`` (CliRunner, and one real uvicorn process)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from test_api_support import ADVERT, copy_models
from typer.testing import CliRunner

from drugwatch.cli import app

runner = CliRunner()


def test_api_keys_create_list_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'keys.sqlite'}"
    created = runner.invoke(
        app, ["api-keys", "create", "analyst laptop", "--scope", "score", "-s", "inspect", "--db", db]
    )
    assert created.exit_code == 0, created.output
    token = re.search(r"dwk_[a-z2-7]{10}_[A-Za-z0-9_-]{43}", created.output).group(0)
    prefix = token.split("_")[1]
    assert "not shown again" in " ".join(created.output.split())
    listed = runner.invoke(app, ["api-keys", "list", "--json", "--db", db])
    assert listed.exit_code == 0, listed.output
    (row,) = [json.loads(line) for line in listed.output.splitlines()]
    assert row["prefix"] == prefix and row["name"] == "analyst laptop" and row["scopes"] == ["score", "inspect"]
    assert row["revoked_at"] is None and token not in listed.output
    table = runner.invoke(app, ["api-keys", "list", "--db", db])
    assert table.exit_code == 0 and "API keys" in table.output and token not in table.output
    revoked = runner.invoke(app, ["api-keys", "revoke", prefix, "--db", db])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    active = runner.invoke(app, ["api-keys", "list", "--active", "--json", "--db", db])
    assert active.exit_code == 0 and active.output.strip() == ""
    (row,) = [
        json.loads(line) for line in runner.invoke(app, ["api-keys", "list", "--json", "--db", db]).output.splitlines()
    ]
    assert row["revoked_at"] is not None
    again = runner.invoke(app, ["api-keys", "revoke", "nosuchkey0", "--db", db])
    assert again.exit_code == 2 and "no API key" in again.output
    bad = runner.invoke(app, ["api-keys", "create", "x", "--scope", "root", "--db", db])
    assert bad.exit_code == 2 and "unknown scope" in bad.output


def test_serve_refuses_to_start_without_models(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--db", str(tmp_path / "s.sqlite"), "--models", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no detectors in" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_uvicorn_with_json_logs(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    models = copy_models(tmp_path_factory.mktemp("serve-model-cache"), tmp_path / "models")
    db = f"sqlite:///{tmp_path / 'serve.sqlite'}"
    created = runner.invoke(app, ["api-keys", "create", "smoke", "--db", db])
    token = re.search(r"dwk_\S+", created.output).group(0)
    port = _free_port()
    env = {**os.environ, "DRUGWATCH_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from drugwatch.cli import main; main()",
            "serve",
            "--db",
            db,
            "--models",
            str(models),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "server did not start in 60 s"
            time.sleep(0.2)
        r = httpx.post(
            f"{base}/v1/score/event",
            json={"text": ADVERT, "author": "zz_user"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["selling"] is True
        assert (
            httpx.post(
                f"{base}/v1/score/event",
                content=b"{" * 2_000_000,
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).status_code
            == 413
        )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    routes = [(x.get("route"), x.get("status")) for x in lines if x.get("msg") == "request"]
    assert ("/v1/score/event", 200) in routes and ("/v1/score/event", 413) in routes
    assert any(x.get("msg") == "started" for x in lines)
    assert "zz_user" not in stderr and "wickr" not in stderr and token not in stderr
