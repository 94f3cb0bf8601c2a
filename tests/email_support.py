"""Helpers for the email tests: channel files, renders, parsing messages back, test keys and certificates."""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from conftest import EXAMPLE_RELEASE, ROOT
from distribute.adapters.base import Delivery
from distribute.plan import plan
from distribute.release import load_release
from distribute.workspace.config import Channel, Workspace

KEY = "test-unsubscribe-key-5d1c"


def distribute(ws: Path, now: dt.datetime, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m distribute` in a subprocess at the clock `now`, UNSUBSCRIBE_KEY set only when `key` is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISTRIBUTE_", "UNSUBSCRIBE_"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    env["DISTRIBUTE_NOW"] = now.isoformat()
    if key is not None:
        env["UNSUBSCRIBE_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "distribute", "--config", str(ws / "config.toml"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ws,
    )


def parse(data: bytes) -> EmailMessage:
    """A message as a mail client reads it (policy.default decodes headers and bodies)."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    markup = message.get_body(("html",))
    # Line ends as a client shows them (the parser keeps the CRLF of the wire).
    return (
        text.get_content().replace("\r\n", "\n") if text is not None else "",
        markup.get_content().replace("\r\n", "\n") if markup is not None else "",
    )


def set_keys(ws: Path, channel: str, text: str) -> None:
    """Add or replace top-level keys of a channel file (before its first table)."""
    path = ws / "channels" / f"{channel}.toml"
    current = path.read_text(encoding="utf-8")
    for line in text.strip().splitlines():
        key = line.split("=", 1)[0].strip()
        pattern = re.compile(rf"^{re.escape(key)}\s*=.*$", re.M)
        if pattern.search(current):
            current = pattern.sub(lambda _, line=line: line, current, count=1)
        else:
            head, sep, tail = current.partition("\n[")
            current = head.rstrip("\n") + "\n" + line + "\n" + (sep + tail if sep else "")
    path.write_text(current, encoding="utf-8")


def add_table(ws: Path, channel: str, text: str) -> None:
    path = ws / "channels" / f"{channel}.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text.strip() + "\n", encoding="utf-8")


def write_list(ws: Path, name: str, text: str) -> str:
    path = ws / "lists" / name
    path.write_text(text, encoding="utf-8")
    return f"lists/{name}"


def render(ws: Path, channel: str, release: str | Path = EXAMPLE_RELEASE) -> tuple[Workspace, Channel, list[Delivery]]:
    """A fresh workspace (channel files re-read) and a channel's deliveries for a release."""
    workspace = Workspace(ws / "config.toml")
    rel = load_release(ws / release, workspace)
    (p,) = plan(workspace, rel, [channel])
    return workspace, p.channel, list(p.deliveries())


def adapter_for(ws: Path, channel: str, release: str | Path = EXAMPLE_RELEASE):
    """(adapter, channel, deliveries) ready for deliver/deliver_many."""
    workspace = Workspace(ws / "config.toml")
    rel = load_release(ws / release, workspace)
    (p,) = plan(workspace, rel, [channel])
    return p.adapter, p.channel, list(p.deliveries())


def smtp_channel(ws: Path, channel: str, port: int, extra: str = "") -> None:
    """Point a channel at a loopback SMTP server (plain, no login unless `extra` says so)."""
    set_keys(ws, channel, 'transport = "smtp"')
    lines = {"host": '"127.0.0.1"', "port": str(port), "security": '"none"', "timeout": "5"}
    for line in extra.strip().splitlines():
        key, _, value = line.partition("=")
        lines[key.strip()] = value.strip()
    add_table(ws, channel, "[smtp]\n" + "".join(f"{k} = {v}\n" for k, v in lines.items()))


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def rsa_key(folder: Path) -> tuple[Path, str]:
    """A fresh 2048-bit RSA key (PKCS#1 PEM) and its public key as DKIM's p= value."""
    folder.mkdir(parents=True, exist_ok=True)
    openssl("genrsa", "-traditional", "-out", "dkim.pem", "2048", cwd=folder)
    openssl("rsa", "-in", "dkim.pem", "-pubout", "-outform", "DER", "-out", "dkim.pub.der", cwd=folder)
    return folder / "dkim.pem", base64.b64encode((folder / "dkim.pub.der").read_bytes()).decode()


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (trust it with SSL_CERT_FILE)."""
    folder.mkdir(parents=True, exist_ok=True)
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        cwd=folder,
    )
    return folder / "cert.pem", folder / "key.pem"
