"""The webhook plugin's own tests: distribute's contract suite, then its behaviour against a real HTTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from distribute.testing import AdapterContract, ContractCase

TOKEN = "hook-token-0123456789"
RELEASE = """+++
title = "Harbour opens"
summary = "The new harbour opens on Monday."
publish_at = 2025-06-30T09:00:00+09:00
embargo = 2025-06-30T09:00:00+09:00
url = "https://example.org/news/harbour"
tags = ["harbour"]
+++
The harbour opens.
"""


def make_workspace(root: Path, url: str, extra: str = "") -> Path:
    """config.toml, channels/hook.toml (adapter "webhook") and releases/harbour.md under root."""
    (root / "channels").mkdir(parents=True, exist_ok=True)
    (root / "releases").mkdir(exist_ok=True)
    (root / "config.toml").write_text('timezone = "Asia/Seoul"\n[organization]\nname = "Example Port"\n')
    (root / "channels" / "hook.toml").write_text(
        f'adapter = "webhook"\nurl = "{url}"\ntoken = {{ env = "HOOK_TOKEN" }}\n{extra}'
    )
    (root / "releases" / "harbour.md").write_text(RELEASE)
    return root


@pytest.fixture
def workspace(tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    return make_workspace(tmp_path, httpserver.url_for("/hook"))


class TestWebhookContract(AdapterContract):
    """distribute's adapter contract, over the webhook channel."""

    @pytest.fixture
    def contract_case(self, workspace: Path, httpserver: HTTPServer) -> ContractCase:
        httpserver.expect_request("/hook", method="POST").respond_with_json({"id": "h-1"})
        return ContractCase(
            workspace / "config.toml",
            workspace / "releases" / "harbour.md",
            "hook",
            secrets={"HOOK_TOKEN": TOKEN},
            touched=lambda: len(httpserver.log),
        )


def distribute(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DISTRIBUTE_NOW": "2025-07-01T00:00:00+00:00"}
    return subprocess.run(
        [sys.executable, "-m", "distribute", "--config", str(ws / "config.toml"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ws,
    )


def test_send_posts_the_template_json_with_the_token_once(workspace: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/hook", method="POST", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"id": "h-42"})
    sent = distribute(workspace, "send", "releases/harbour.md")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    (request, _), *_ = httpserver.log
    assert json.loads(request.data) == {
        "id": "harbour",
        "title": "Harbour opens",
        "summary": "The new harbour opens on Monday.",
        "url": "https://example.org/news/harbour",
        "tags": ["harbour"],
        "due": "2025-07-01T00:00:00+00:00",
        "embargoed_until": None,
    }
    again = distribute(workspace, "send", "releases/harbour.md")
    assert len(httpserver.log) == 1, "sent twice"
    assert TOKEN not in sent.stdout + sent.stderr + again.stdout + again.stderr


def test_dry_run_writes_the_request_with_the_token_masked_and_sends_nothing(
    workspace: Path, httpserver: HTTPServer
) -> None:
    dry = distribute(workspace, "send", "releases/harbour.md", "--dry-run", "--outbox", "ob")
    assert dry.returncode == 0, dry.stderr
    request = json.loads((workspace / "ob" / "hook" / "webhook.json").read_text())
    assert request["method"] == "POST" and request["url"] == httpserver.url_for("/hook")
    assert request["headers"]["Authorization"] == "Bearer ********"
    assert TOKEN not in (workspace / "ob" / "hook" / "webhook.json").read_text()
    assert httpserver.log == []


def test_an_embargoed_copy_says_until_when(tmp_path: Path, httpserver: HTTPServer, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    ws = make_workspace(tmp_path, httpserver.url_for("/hook"), 'embargoed_copy = true\nat = "-1d"\n')
    dry = distribute(ws, "send", "releases/harbour.md", "--dry-run", "--outbox", "ob")
    assert dry.returncode == 0, dry.stderr
    body = json.loads((ws / "ob" / "hook" / "webhook.json").read_text())["body"]
    assert body["embargoed_until"] == "2025-06-30T09:00:00+09:00"


def test_a_workspace_template_extends_the_plugins_default(workspace: Path, httpserver: HTTPServer) -> None:
    own = workspace / "templates" / "webhook" / "post.json.j2"
    own.parent.mkdir(parents=True)
    own.write_text('{"wrapped": {% include "default:webhook/post.json.j2" %}}\n')
    dry = distribute(workspace, "send", "releases/harbour.md", "--dry-run", "--outbox", "ob")
    assert dry.returncode == 0, dry.stderr
    body = json.loads((workspace / "ob" / "hook" / "webhook.json").read_text())["body"]
    assert body["wrapped"]["title"] == "Harbour opens"


@pytest.mark.parametrize(("status", "code", "words"), [(503, 3, "will be tried again"), (400, 3, "refused")])
def test_a_failing_remote_is_reported(workspace: Path, httpserver: HTTPServer, status: int, code: int, words: str):
    httpserver.expect_request("/hook", method="POST").respond_with_data("no", status=status)
    sent = distribute(workspace, "send", "releases/harbour.md")
    assert sent.returncode == code, sent.stdout + sent.stderr
    status_json = json.loads(distribute(workspace, "status", "--json").stdout)
    assert words in json.dumps(status_json)
