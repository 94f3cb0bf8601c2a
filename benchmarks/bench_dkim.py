"""DKIM-signed newsletter: render + sign, messages/s, with dkimpy's own signer and with ours, in one run.

    python benchmarks/bench_dkim.py [--quick] [--messages N] [--rounds R]

The example newsletter, personalised for N recipients (default 2,000), signed with a fresh
RSA-2048 key (openssl), no network:
  - dkimpy: render, then `dkim.sign` (dkimpy's pure-Python RSA; what distribute used before);
  - distribute: render, then `adapter.as_sent` (the bytes deliver() sends: dkimpy's canonicalisation,
    RSA by the `cryptography` package).
Rounds alternate the two; the ratio is printed as min/median/max over the rounds (target >= 5x).
Every distribute signature of the last round is checked with `dkim.verify`.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RELEASE = "releases/2025-06-30-nato-summit-brief.md"
sys.path.insert(0, str(HERE))
from make_recipients import write as write_recipients  # noqa: E402

HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"]
HEADERS += ["MIME-Version", "Content-Type"]


def workspace(tmp: Path, count: int) -> tuple[Path, str]:
    """The example workspace; the newsletter to `count` recipients, signed with a new key; the key's p= value."""
    for folder in ("channels", "releases", "lists"):
        shutil.copytree(ROOT / folder, tmp / folder, dirs_exist_ok=True)
    shutil.copyfile(ROOT / "config.example.toml", tmp / "config.toml")
    recipients = write_recipients(tmp / "lists" / "bench.csv", count)
    keys = tmp / "keys"
    keys.mkdir()
    run = {"cwd": keys, "check": True, "capture_output": True}
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", "dkim.pem", "2048"], **run)  # type: ignore[call-overload]
    subprocess.run(["openssl", "rsa", "-in", "dkim.pem", "-pubout", "-outform", "DER", "-out", "pub.der"], **run)  # type: ignore[call-overload]
    path = tmp / "channels" / "newsletter.toml"
    text = re.sub(r"^recipients = .*$", f'recipients = "{recipients}"', path.read_text(encoding="utf-8"), flags=re.M)
    text += f'\n[dkim]\nselector = "bench"\nprivate_key = "{keys / "dkim.pem"}"\n'
    path.write_text(text, encoding="utf-8")
    return tmp, base64.b64encode((keys / "pub.der").read_bytes()).decode()


def rounds(ws_root: Path, count: int, runs: int, public: str) -> None:
    import dkim

    from distribute.plan import plan
    from distribute.release import load_release
    from distribute.workspace.config import Workspace

    ws = Workspace(ws_root / "config.toml")
    release = load_release(ws_root / RELEASE, ws)
    (newsletter,) = plan(ws, release, ["newsletter"])
    key = newsletter.channel.settings.dkim.private_key.read_bytes()
    include = [h.encode() for h in HEADERS]

    def with_dkimpy() -> list[bytes]:
        out = []
        for d in newsletter.render():
            data = d.files[0].data
            out.append(
                dkim.sign(
                    data, b"bench", b"asaninst.org", key, include_headers=include, canonicalize=(b"relaxed", b"relaxed")
                )
                + data
            )
        return out

    def with_distribute() -> list[bytes]:
        adapter, channel = newsletter.adapter, newsletter.channel
        return [adapter.as_sent(d, channel).files[0].data for d in newsletter.render()]

    old, new = [], []
    for _ in range(runs):
        for label, fn, into in (("dkimpy", with_dkimpy, old), ("distribute", with_distribute, new)):
            start = time.perf_counter()
            messages = fn()
            into.append(len(messages) / (time.perf_counter() - start))
            assert len(messages) == count and all(m.startswith(b"DKIM-Signature: ") for m in messages), label
    record = f"v=DKIM1; k=rsa; p={public}".encode()
    assert all(dkim.verify(m, dnsfunc=lambda name, timeout=5: record) for m in messages), (
        "a signature fails dkim.verify"
    )
    ratios = sorted(n / o for n, o in zip(new, old, strict=True))
    print(f"  dkimpy sign (pure-Python RSA)   {statistics.median(old):>7,.0f} msg/s   (render + sign, median)")
    print(f"  distribute (cryptography RSA)   {statistics.median(new):>7,.0f} msg/s   (render + sign, median)")
    print(
        f"  ratio distribute / dkimpy:  {ratios[0]:.1f} / {statistics.median(ratios):.1f} / {ratios[-1]:.1f}x "
        "(min/median/max; target >= 5x)"
    )
    print(f"  all {count:,} signatures of the last round verify with dkim.verify")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 messages, 3 rounds")
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.messages, args.rounds = 500, 3
    os.environ["UNSUBSCRIBE_KEY"] = "bench-key-123"
    with tempfile.TemporaryDirectory() as tmp_name:
        ws_root, public = workspace(Path(tmp_name), args.messages)
        print(
            f"DKIM-signed newsletter (RSA-2048, relaxed/relaxed): {args.messages:,} personalised messages, "
            f"render + sign, {args.rounds} rounds ({os.cpu_count()} CPUs, no network)"
        )
        rounds(ws_root, args.messages, args.rounds, public)


if __name__ == "__main__":
    main()
