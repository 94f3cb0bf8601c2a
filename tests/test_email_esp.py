"""ESP transports against a local HTTP server (pytest-httpserver) checking each request as the ESP documents it.

Postmark: POST /email/batch, X-Postmark-Server-Token, a JSON array of messages, one result per message.
Mailgun: POST /v3/<domain>/messages.mime, basic auth api:<key>, multipart form with `to` and `message`.
SendGrid: POST /v3/mail/send, Bearer key, JSON with personalizations, from, subject, content, headers.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from werkzeug import Request, Response

from conftest import EXAMPLE_RELEASE
from distribute.adapters.email.unsubscribe import verify
from email_support import KEY, adapter_for, add_table, bodies, parse, set_keys

POSTMARK_TOKEN = "pm-token-7b1f2c9d"
MAILGUN_KEY = "key-mg-0a9b8c7d6e"
SENDGRID_KEY = "SG.sendgrid-key-11aa22bb"
LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Unsubscribe-Post")


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSUBSCRIBE_KEY", KEY)
    monkeypatch.setenv("POSTMARK_TOKEN", POSTMARK_TOKEN)
    monkeypatch.setenv("MAILGUN_API_KEY", MAILGUN_KEY)
    monkeypatch.setenv("SENDGRID_API_KEY", SENDGRID_KEY)


def use(ws: Path, transport: str, table: str) -> None:
    set_keys(ws, "newsletter", f'transport = "{transport}"')
    add_table(ws, "newsletter", table)


def deliver_all(ws: Path):  # type: ignore[no-untyped-def]
    adapter, channel, deliveries = adapter_for(ws, "newsletter")
    outcomes = {o.delivery.target: o for o in adapter.deliver_many(iter(deliveries), channel)}
    adapter.close()
    return deliveries, outcomes


def postmark_handler(seen: list[list[dict]], refuse: set[str]):  # type: ignore[no-untyped-def]
    def handle(request: Request) -> Response:
        assert request.method == "POST" and request.path == "/email/batch"
        assert request.headers["Accept"] == "application/json"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Postmark-Server-Token"] == POSTMARK_TOKEN
        batch = json.loads(request.get_data())
        assert isinstance(batch, list) and 1 <= len(batch) <= 500
        seen.append(batch)
        answers = []
        for i, item in enumerate(batch):
            to = item["To"].rpartition("<")[2].strip(">")
            if to in refuse:
                answers.append(
                    {
                        "ErrorCode": 406,
                        "Message": "You tried to send to recipient(s) that have been marked as inactive.",
                    }
                )
            else:
                answers.append(
                    {
                        "ErrorCode": 0,
                        "Message": "OK",
                        "MessageID": f"pm-{len(seen)}-{i}",
                        "SubmittedAt": "2025-06-30T09:00:00Z",
                        "To": item["To"],
                    }
                )
        return Response(json.dumps(answers), status=200, content_type="application/json")

    return handle


def test_postmark_batches_with_per_message_results(workspace: Path, httpserver) -> None:  # type: ignore[no-untyped-def]
    seen: list[list[dict]] = []
    httpserver.expect_request("/email/batch", method="POST").respond_with_handler(
        postmark_handler(seen, {"reader@example.org"})
    )
    use(
        workspace,
        "postmark",
        f'[postmark]\ntoken = {{ env = "POSTMARK_TOKEN" }}\nbatch = 3\n'
        f'base_url = "{httpserver.url_for("/").rstrip("/")}"',
    )
    deliveries, outcomes = deliver_all(workspace)
    assert [len(b) for b in seen] == [3, 1], "batches of the configured size"
    assert outcomes["reader@example.org"].error is not None and not outcomes["reader@example.org"].error.retryable
    assert "406" in str(outcomes["reader@example.org"].error)
    sent = [d for d in deliveries if d.target != "reader@example.org"]
    # The English readers first (one batch of three, reader refused), then the Korean reader's batch.
    assert [outcomes[d.target].receipt.remote_id for d in sent] == ["pm-1-0", "pm-1-1", "pm-2-0"]
    items = {i["To"]: i for b in seen for i in b}
    for d in deliveries:
        message = parse(d.files[0].data)
        item = items[str(message["To"])]
        assert item["From"] == "Asan Institute Press Office <press@asaninst.org>"
        assert item["Subject"] == message["Subject"] and item["MessageStream"] == "broadcast"
        text, markup = bodies(message)
        assert item["TextBody"].replace("\r\n", "\n") == text and item["HtmlBody"].replace("\r\n", "\n") == markup
        headers = {h["Name"]: h["Value"] for h in item["Headers"]}
        assert headers["Message-ID"] == d.meta["message_id"]
        assert {name: headers[name] for name in LIST_HEADERS} == {name: str(message[name]) for name in LIST_HEADERS}
        token = headers["List-Unsubscribe"].split("token=")[1].split(">")[0]
        assert verify(KEY.encode(), "newsletter.asaninst.org", d.target, token)
    assert items["김민지 <kim.minji@example.org>"]["TextBody"].startswith("김민지 님, 안녕하세요.")  # reads Korean


@pytest.mark.parametrize(
    "status, retryable, in_doubt, wait",
    [
        (429, True, False, 30.0),
        (503, True, False, 30.0),
        (500, True, True, 30.0),
        (401, False, False, None),
        (422, False, False, None),
    ],
)
def test_postmark_http_errors_are_mapped(
    workspace: Path,
    httpserver,
    status: int,
    retryable: bool,  # type: ignore[no-untyped-def]
    in_doubt: bool,
    wait: float | None,
) -> None:
    headers = {"Retry-After": "30"} if status in (429, 503, 500) else {}
    httpserver.expect_request("/email/batch").respond_with_json(
        {"ErrorCode": 10 if status == 401 else 300, "Message": "Request failed"}, status=status, headers=headers
    )
    use(
        workspace,
        "postmark",
        f'[postmark]\ntoken = {{ env = "POSTMARK_TOKEN" }}\nbase_url = "{httpserver.url_for("/").rstrip("/")}"',
    )
    _, outcomes = deliver_all(workspace)
    assert len(httpserver.log) == 1, "one batch request for the four recipients"
    for outcome in outcomes.values():
        error = outcome.error
        assert error is not None and (error.retryable, error.in_doubt, error.retry_after) == (retryable, in_doubt, wait)
        assert f"HTTP {status}" in str(error) and POSTMARK_TOKEN not in str(error)
    if status == 401:
        assert "check the environment variable POSTMARK_TOKEN" in str(next(iter(outcomes.values())).error)


def test_postmark_sends_attachments_as_documented(workspace: Path, httpserver) -> None:  # type: ignore[no-untyped-def]
    from conftest import write_release

    (workspace / "files").mkdir()
    (workspace / "files" / "brief.pdf").write_bytes(b"%PDF-1.4 brief")
    write_release(
        workspace,
        "files",
        'title = "Files"\npublish_at = 2025-07-01T09:00:00+09:00\n'
        '[[attachments]]\npath = "files/brief.pdf"\ntitle = "Brief"',
    )
    seen: list[list[dict]] = []
    httpserver.expect_request("/email/batch").respond_with_handler(postmark_handler(seen, set()))
    use(
        workspace,
        "postmark",
        f'[postmark]\ntoken = {{ env = "POSTMARK_TOKEN" }}\nbase_url = "{httpserver.url_for("/").rstrip("/")}"',
    )
    adapter, channel, deliveries = adapter_for(workspace, "newsletter", "releases/files.md")
    assert all(o.error is None for o in adapter.deliver_many(iter(deliveries), channel))
    (attachment,) = seen[0][0]["Attachments"]
    assert attachment == {
        "Name": "brief.pdf",
        "Content": base64.b64encode(b"%PDF-1.4 brief").decode(),
        "ContentType": "application/pdf",
    }


def test_mailgun_receives_the_exact_mime_message(workspace: Path, httpserver) -> None:  # type: ignore[no-untyped-def]
    received: dict[str, bytes] = {}

    def handle(request: Request) -> Response:
        assert request.method == "POST" and request.path == "/v3/mg.asaninst.org/messages.mime"
        assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"api:{MAILGUN_KEY}".encode()).decode()
        assert request.mimetype == "multipart/form-data"
        to = request.form["to"]
        received[to] = request.files["message"].read()
        if to == "reader@example.org":
            return Response(
                json.dumps({"message": "'to' parameter is not a valid address"}),
                status=400,
                content_type="application/json",
            )
        return Response(
            json.dumps({"id": f"<mg-{to}>", "message": "Queued. Thank you."}),
            status=200,
            content_type="application/json",
        )

    httpserver.expect_request("/v3/mg.asaninst.org/messages.mime").respond_with_handler(handle)
    use(
        workspace,
        "mailgun",
        f'[mailgun]\ndomain = "mg.asaninst.org"\napi_key = {{ env = "MAILGUN_API_KEY" }}\n'
        f'connections = 2\nbase_url = "{httpserver.url_for("/").rstrip("/")}"',
    )
    deliveries, outcomes = deliver_all(workspace)
    for d in deliveries:
        assert received[d.target] == d.files[0].data, "Mailgun gets the rendered message byte for byte"
    assert outcomes["kim.minji@example.org"].receipt.remote_id == "<mg-kim.minji@example.org>"
    error = outcomes["reader@example.org"].error
    assert error is not None and not error.retryable and "not a valid address" in str(error)
    assert MAILGUN_KEY not in str(error)


def test_mailgun_rate_limit_is_retried_after_what_it_asks(workspace: Path, httpserver) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/v3/mg.asaninst.org/messages.mime").respond_with_json(
        {"message": "Too many requests"}, status=429, headers={"Retry-After": "12"}
    )
    use(
        workspace,
        "mailgun",
        f'[mailgun]\ndomain = "mg.asaninst.org"\napi_key = {{ env = "MAILGUN_API_KEY" }}\n'
        f'base_url = "{httpserver.url_for("/").rstrip("/")}"',
    )
    _, outcomes = deliver_all(workspace)
    assert all(
        o.error and o.error.retryable and o.error.retry_after == 12.0 and not o.error.in_doubt
        for o in outcomes.values()
    )


def test_sendgrid_request_shape_and_errors(workspace: Path, httpserver) -> None:  # type: ignore[no-untyped-def]
    bodies_seen: dict[str, dict] = {}

    def handle(request: Request) -> Response:
        assert request.method == "POST" and request.path == "/v3/mail/send"
        assert request.headers["Authorization"] == f"Bearer {SENDGRID_KEY}"
        assert request.headers["Content-Type"] == "application/json"
        body = json.loads(request.get_data())
        (personalization,) = body["personalizations"]
        (to,) = personalization["to"]
        bodies_seen[to["email"]] = body
        if to["email"] == "reader@example.org":
            return Response(
                json.dumps({"errors": [{"message": "Payload too large", "field": None}]}),
                status=413,
                content_type="application/json",
            )
        return Response("", status=202, headers={"X-Message-Id": f"sg-{to['email']}"})

    httpserver.expect_request("/v3/mail/send").respond_with_handler(handle)
    use(
        workspace,
        "sendgrid",
        f'[sendgrid]\napi_key = {{ env = "SENDGRID_API_KEY" }}\nbase_url = "{httpserver.url_for("/").rstrip("/")}"',
    )
    deliveries, outcomes = deliver_all(workspace)
    kim = bodies_seen["kim.minji@example.org"]
    assert kim["personalizations"][0]["to"] == [{"email": "kim.minji@example.org", "name": "김민지"}]
    assert kim["from"] == {"email": "press@asaninst.org", "name": "Asan Institute Press Office"}
    assert [c["type"] for c in kim["content"]] == ["text/plain", "text/html"]
    assert kim["content"][0]["value"].startswith("김민지 님, 안녕하세요.")  # she reads Korean
    assert set(kim["headers"]) == set(LIST_HEADERS)
    assert outcomes["kim.minji@example.org"].receipt.remote_id == "sg-kim.minji@example.org"
    error = outcomes["reader@example.org"].error
    assert error is not None and not error.retryable and "Payload too large" in str(error)
    assert len(deliveries) == 4


def test_a_missing_api_key_sends_nothing(workspace: Path, httpserver, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("POSTMARK_TOKEN")
    use(
        workspace,
        "postmark",
        f'[postmark]\ntoken = {{ env = "POSTMARK_TOKEN" }}\nbase_url = "{httpserver.url_for("/").rstrip("/")}"',
    )
    adapter, channel, _ = adapter_for(workspace, "newsletter")
    assert "environment variable POSTMARK_TOKEN" in adapter.missing(channel)
    _, outcomes = deliver_all(workspace)
    assert all(o.error and "POSTMARK_TOKEN" in str(o.error) for o in outcomes.values())
    assert len(httpserver.log) == 0


def test_sendgrid_429_waits_for_its_rate_limit_reset_through_send(workspace: Path, httpserver, cli) -> None:  # type: ignore[no-untyped-def]
    # SendGrid says when its window opens again in X-RateLimit-Reset (Unix seconds), not in Retry-After.
    # The ledger must wait until then: retrying earlier only gets another 429 and uses up an attempt.
    import datetime as dt

    import time_machine

    from ledger_support import ledger_rows

    now = dt.datetime(2025, 7, 1, 0, 0, tzinfo=dt.timezone.utc)
    reset = int(now.timestamp()) + 900
    httpserver.expect_request("/v3/mail/send").respond_with_json(
        {"errors": [{"field": None, "message": "too many requests"}]},
        status=429,
        headers={"X-RateLimit-Limit": "150", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    use(
        workspace,
        "sendgrid",
        f'[sendgrid]\napi_key = {{ env = "SENDGRID_API_KEY" }}\nbase_url = "{httpserver.url_for("/").rstrip("/")}"',
    )
    with time_machine.travel(now, tick=False):
        result = cli("send", EXAMPLE_RELEASE, "--late", "-c", "newsletter")
    assert result.exit_code == 3, result.output + result.stderr
    assert "4 to retry later" in result.stderr
    rows = ledger_rows(workspace)
    assert len(rows) == 4 and {r["state"] for r in rows} == {"pending"}
    assert {r["next_attempt"] for r in rows} == {"2025-07-01T00:15:00.000000Z"}
    assert all(
        "rate limited (HTTP 429: too many requests); will try again in 900 s" in str(r["last_error"]) for r in rows
    )


def test_esp_failures_before_the_request_was_written_are_not_in_doubt(workspace: Path, httpserver) -> None:  # type: ignore[no-untyped-def]
    # https:// to a plain-HTTP port: the TLS handshake fails, nothing was sent, so nothing is in doubt.
    base = httpserver.url_for("/").rstrip("/").replace("http://", "https://")
    use(
        workspace,
        "mailgun",
        f'[mailgun]\napi_key = {{ env = "MAILGUN_API_KEY" }}\ndomain = "mg.example.org"\nbase_url = "{base}"',
    )
    _, outcomes = deliver_all(workspace)
    for outcome in outcomes.values():
        assert outcome.error is not None and outcome.error.retryable and not outcome.error.in_doubt, outcome.error
        assert "nothing was sent" in str(outcome.error) and MAILGUN_KEY not in str(outcome.error)
    assert len(httpserver.log) == 0
