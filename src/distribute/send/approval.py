"""Sign-off with a content lock: `distribute approve`, and the check `schedule`, `send` and the worker make.

An approval is of one *version* of a release: the hash (`lock`) of exactly what every channel
would send, rendered as `--dry-run` renders it (each channel at its planned time from the file's
`publish_at`), over each delivery's key and content hash, each channel file's settings and the
release file's hash. Delivery hashes are of the files without secrets (`Delivery.files_hash`) and nothing here reads
the clock, so a lock changes with the release, a template, a channel file or a recipient list,
never with a secret's value or the time it is taken. `parts` keeps the pieces (per-field hashes
of the release, per-channel hashes, settings, files and counts), so a voided approval can say
what changed. With `approvals = N` in config.toml, a release needs N approvals by distinct
names of its current version.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import clock
from ..errors import DistributeError, NotApproved, UsageError
from ..ledger.approvals import Approval, Approvals, same_person

if TYPE_CHECKING:
    from ..ledger.store import Ledger
    from ..release import Attachment, Image, Release
    from ..workspace.config import Workspace

USER_ENV = "DISTRIBUTE_USER"
LOCK_FORMAT = "distribute-approval 1"  # changes only if what a lock covers changes


def _short(value: Any) -> str:
    """A short hash of a value (for telling what changed; the lock itself is a full sha256)."""
    if not isinstance(value, bytes):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(value).hexdigest()[:16]


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{"key": hash, "table.key": hash} of a parsed TOML document (tables one level deep, then whole)."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict) and not prefix:
            out.update(_flat(value, f"{key}."))
        else:
            out[f"{prefix}{key}"] = _short(value)
    return out


def _shown(workspace: Workspace, path: Path) -> str:
    """A path as people write it: relative to the workspace root when inside it."""
    try:
        return path.resolve().relative_to(workspace.root).as_posix()
    except ValueError:
        return str(path)


def _files(workspace: Workspace, settings: Any, prefix: str = "") -> dict[str, dict[str, str]]:
    """{setting: {"path", "sha"}} of every file a channel's settings name (recipient list, suppression list, ...)."""
    out: dict[str, dict[str, str]] = {}
    if not dataclasses.is_dataclass(settings):
        return out
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if "key" in f.name:  # a DKIM private key: not even its hash is kept
            continue
        if isinstance(value, Path) and value.is_file():
            out[prefix + f.name] = {"path": _shown(workspace, value), "sha": _short(value.read_bytes())}
        elif dataclasses.is_dataclass(value):
            out.update(_files(workspace, value, f"{prefix}{f.name}."))
    return out


def _release_parts(workspace: Workspace, release: Release) -> dict[str, Any]:
    from ..errors import ReleaseError

    fields: dict[str, str] = {}
    for key, value in release.source.parse(ReleaseError).items():
        if key == "channel" and isinstance(value, dict):
            for name, table in value.items():
                for k, v in table.items() if isinstance(table, dict) else [("", table)]:
                    fields[f"[channel.{name}] {k}"] = _short(v)
        else:
            fields[key] = _short(value)
    fields["body"] = _short(release.body)
    items: list[Image | Attachment] = [*release.images, *release.attachments]
    for item in items:
        if item.file is not None:
            fields[f"file {item.path}"] = _short(item.file.read_bytes())
    return {"path": _shown(workspace, release.path), "sha256": release.sha256, "fields": fields}


@dataclass(frozen=True)
class Version:
    """What a release would send, as one lock and its pieces."""

    lock: str
    parts: dict[str, Any]

    @property
    def deliveries(self) -> int:
        return sum(int(c["deliveries"]) for c in self.parts["channels"].values())

    def parts_json(self) -> str:
        return json.dumps(self.parts, sort_keys=True, ensure_ascii=False)


def version(workspace: Workspace, release: Release) -> Version:
    """The content lock of a release as its file stands: every channel rendered as --dry-run renders it."""
    from ..plan import plan
    from ..workspace.toml_lines import load_toml_file

    channels: dict[str, Any] = {}
    for p in plan(workspace, release):
        settings = p.channel.source.parse()
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str).encode())
        count = 0
        for d in p.deliveries():
            # The files' hash (not a cheaper lock an adapter may record): a version is of the bytes, whatever
            # way a version of distribute locks them, so an upgrade leaves standing approvals standing.
            digest.update(f"\n{d.key}\t{d.files_hash}".encode())
            count += 1
        channels[p.channel.name] = {
            "lock": digest.hexdigest(),
            "deliveries": count,
            "path": _shown(workspace, p.channel.path),
            "template": p.channel.common.template,
            "settings": _flat(settings),
            "files": _files(workspace, p.channel.settings),
        }
    folder = workspace.config.templates
    templates = (
        {_shown(workspace, f): _short(f.read_bytes()) for f in sorted(folder.rglob("*")) if f.is_file()}
        if folder.is_dir()
        else {}
    )
    config = _flat(load_toml_file(workspace.config_path)[0]) if workspace.config_path else {}
    lock = hashlib.sha256(f"{LOCK_FORMAT}\nrelease {release.id} {release.sha256}".encode())
    for name in sorted(channels):
        lock.update(f"\nchannel {name} {channels[name]['lock']}".encode())
    parts = {
        "release": _release_parts(workspace, release),
        "channels": channels,
        "templates": templates,
        "config": config,
    }
    return Version(lock.hexdigest(), parts)


def _deliveries(n: int) -> str:
    return f"{n:,} deliver{'y' if n == 1 else 'ies'}"


def _list_name(key: str) -> str:
    """How people call a file a channel reads: "recipient list", "suppression list"."""
    return {"recipients": "recipient list", "suppression": "suppression list"}.get(key, f"{key} file")


def _channel_changes(
    name: str, a: dict[str, Any], b: dict[str, Any], templates: list[str], release_changed: bool
) -> str | None:
    """What changed in one channel between two versions, or None."""
    if a.get("lock") == b.get("lock"):
        return None
    reasons = []
    s0, s1 = a.get("settings", {}), b.get("settings", {})
    keys = [k for k in dict.fromkeys([*s1, *s0]) if s0.get(k) != s1.get(k)]
    if keys:
        reasons.append(f"{', '.join(keys)} in {b.get('path')}")
    l0, l1 = a.get("files", {}), b.get("files", {})
    for key in dict.fromkeys([*l1, *l0]):
        if l0.get(key) != l1.get(key):
            reasons.append(f"{_list_name(key)} {(l1.get(key) or l0.get(key) or {}).get('path')}")
    mine = [t for t in templates if b.get("template") and t.startswith(f"templates/{b['template']}")]
    reasons += [f"template {t}" for t in (mine or (templates if not reasons and not release_changed else []))]
    if not reasons and not release_changed:
        reasons.append("what it renders (a built-in template, or config.toml)")
    count = ""
    if a.get("deliveries") != b.get("deliveries"):
        count = f" ({_deliveries(int(b.get('deliveries', 0)))}, was {int(a.get('deliveries', 0)):,})"
    if reasons or count:
        return f"{name}: {', '.join(reasons) or 'its render'}{count}"
    return None


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed between two versions, as people name it: the release's fields, a channel's settings,
    a list it reads, a template, a delivery count."""
    out: list[str] = []
    r0, r1 = old.get("release", {}), new.get("release", {})
    release_changed = r0.get("sha256") != r1.get("sha256")
    if release_changed:
        f0, f1 = r0.get("fields", {}), r1.get("fields", {})
        fields = [k for k in dict.fromkeys([*f1, *f0]) if f0.get(k) != f1.get(k)]
        out.append(f"the release's {', '.join(fields)}" if fields else "the release file (only its layout or comments)")
    t0, t1 = old.get("templates", {}), new.get("templates", {})
    templates = [t for t in sorted({*t0, *t1}) if t0.get(t) != t1.get(t)]
    c0, c1 = old.get("channels", {}), new.get("channels", {})
    for name in sorted({*c0, *c1}):
        if name not in c0:
            out.append(f"channel {name} was added")
            continue
        if name not in c1:
            out.append(f"channel {name} is no longer in it")
            continue
        line = _channel_changes(name, c0[name], c1[name], templates, release_changed)
        if line:
            out.append(line)
    g0, g1 = old.get("config", {}), new.get("config", {})
    keys = [k for k in dict.fromkeys([*g1, *g0]) if g0.get(k) != g1.get(k)]
    if keys:
        out.append(f"{', '.join(keys)} in config.toml")
    return out


def standing(approvals: list[Approval], lock: str) -> list[Approval]:
    """The approvals that count for version `lock`: not revoked, one per person (the first)."""
    out: list[Approval] = []
    for a in approvals:
        if a.revoked_at is None and a.lock == lock and not any(same_person(a.name, b.name) for b in out):
            out.append(a)
    return out


def _at(workspace: Workspace, stamp: str) -> str:
    """A recorded time inside a sentence: "2026-11-30 23:02 KST / 14:02 UTC"."""
    from ..times import show

    when = clock.parse(stamp)
    assert when is not None
    text = show(when, workspace.tz)
    return text[:-1].replace(" (", " / ", 1) if text.endswith(")") else text


def _names(workspace: Workspace, approvals: list[Approval], stamp: str = "approved_at") -> str:
    """ "Ana Kim (time)", "Ana Kim (time) and Ben Li (time)" """
    shown = [f"{a.name} ({_at(workspace, getattr(a, stamp))})" for a in approvals]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def refusal(workspace: Workspace, approvals: list[Approval], current: Version, where: str, run: str) -> str | None:
    """Why a release may not go yet (too few approvals of this version), or None when it may."""
    needed = workspace.config.approvals
    good = standing(approvals, current.lock)
    if len(good) >= needed:
        return None
    has = f"has {len(good)}"
    if good:
        has += " (" + "; ".join(f"{a.name}, {_at(workspace, a.approved_at)}" for a in good) + ")"
    # What each other person last did: approved an earlier version (grouped by version), or revoked.
    voided: dict[str, list[Approval]] = {}
    revoked: list[Approval] = []
    seen: list[str] = [a.name for a in good]
    for a in reversed(approvals):
        if any(same_person(a.name, n) for n in seen):
            continue
        seen.append(a.name)
        if a.revoked_at is not None:
            revoked.append(a)
        else:
            voided.setdefault(a.lock, []).append(a)
    why: list[str] = []
    for group in voided.values():
        what = changes(json.loads(group[0].parts), current.parts) or ["what it renders"]
        why.append(
            f"{_names(workspace, group[::-1])} approved version {group[0].lock[:12]} (this one is "
            f"{current.lock[:12]}); changed since: {'; '.join(what)}"
        )
    if revoked:
        why.append(f"Revoked: {_names(workspace, revoked[::-1], 'revoked_at')}")
    plural = "approval" if needed == 1 else "approvals"
    return f"{where}: needs {needed} {plural} of this version, {has}" + "".join(f". {w}" for w in why) + f". {run}"


def approver(name: str | None) -> str:
    """--by NAME, else $DISTRIBUTE_USER, else the login name; an empty name is refused."""
    if name is None:
        name = os.environ.get(USER_ENV)
    if name is None:
        try:
            name = getpass.getuser()
        except (OSError, KeyError):  # no login name (a container without a passwd entry)
            name = ""
    name = " ".join(name.split())
    if not name:
        raise UsageError(f"who approves? the name is empty: give --by NAME, or set {USER_ENV}")
    return name


def require(
    workspace: Workspace,
    ledger: Ledger,
    release: Release,
    where: str,
    current: Version | None = None,
    sending: bool = False,
) -> None:
    """Refuse (NotApproved) a release with fewer than `approvals` approvals of its current version."""
    if not workspace.config.approvals:
        return
    current = current or version(workspace, release)
    run = f"Nothing was {'sent' if sending else 'scheduled'}. Run: distribute approve {where}, then this command again"
    line = refusal(workspace, Approvals(ledger).of(release.id), current, where, run)
    if line:
        raise NotApproved(line)


def require_scheduled(workspace: Workspace, ledger: Ledger, release_id: str) -> None:
    """At sending time: enough approvals of the version that was scheduled, or nothing of the release goes."""
    if not workspace.config.approvals:
        return
    from ..release import load_release

    book = Approvals(ledger)
    row = ledger.release(release_id)
    assert row is not None  # load_scheduled found it
    where = _shown(workspace, Path(row.path))
    stored = book.scheduled(release_id)
    if stored is not None:
        current = Version(stored[0], json.loads(stored[1]))
    else:  # scheduled before approvals were asked for: take the file (its hash was just checked)
        current = version(workspace, load_release(Path(row.path), workspace))
    run = f"Nothing of it was sent. Run: distribute approve {where}; the next run sends it"
    line = refusal(workspace, book.of(release_id), current, f"release {release_id} ({where})", run)
    if line:
        raise NotApproved(line)


@dataclass
class Approved:
    """What `distribute approve` did."""

    release: Release
    version: Version
    approval: Approval
    new: bool
    standing: list[Approval]
    needed: int


def approve(workspace: Workspace, path: Path, name: str, note: str | None = None) -> Approved:
    """Record `name`'s approval of the release's current version."""
    from ..ledger.store import Ledger
    from ..release import load_release

    release = load_release(path, workspace)
    current = version(workspace, release)
    book = Approvals(Ledger(workspace.database_url))
    approval, new = book.add(release.id, name, current.lock, current.parts_json(), clock.now(), note or None)
    return Approved(
        release, current, approval, new, standing(book.of(release.id), current.lock), workspace.config.approvals
    )


def revoke(workspace: Workspace, name_or_path: str, name: str, by: str) -> tuple[str, list[Approval]]:
    """Take back `name`'s standing approvals of a release (a file or an id): (release id, those revoked)."""
    from ..ledger.store import Ledger
    from ..release import load_release

    release_id = load_release(name_or_path, workspace).id if Path(name_or_path).is_file() else name_or_path
    found = Approvals(Ledger(workspace.database_url)).revoke(release_id, name, clock.now(), by)
    if not found:
        raise DistributeError(
            f"{name_or_path}: {name} has no standing approval of release {release_id} to revoke "
            "(`distribute status` shows who approved it)"
        )
    return release_id, found


def summary(workspace: Workspace, ledger: Ledger, release_id: str, file: Path | None = None) -> dict[str, Any] | None:
    """The approvals of a release for `status`, against the version scheduled (or, given `file`, the
    version in that file, for a release not scheduled yet); None when none are asked for or given."""
    book = Approvals(ledger)
    found = book.of(release_id)
    needed = workspace.config.approvals
    if not found and not needed:
        return None
    stored = None if file is not None else book.scheduled(release_id)
    lock = stored[0] if stored else None
    if lock is None and (found or file is not None):
        from ..release import load_release

        row = ledger.release(release_id) if file is None else None
        path = file if file is not None else (Path(row.path) if row else None)
        try:
            lock = version(workspace, load_release(path, workspace)).lock if path else None
        except DistributeError:
            lock = None  # the file is gone or no longer loads: status says it is held
    good = standing(found, lock) if lock else []
    entries = [
        {
            "name": a.name,
            "approved_at": a.approved_at,
            "note": a.note,
            "lock": a.lock,
            "counts": a in good,
            "version": "this" if a.lock == lock else "earlier",
            "revoked_at": a.revoked_at,
            "revoked_by": a.revoked_by,
        }
        for a in found
    ]
    return {
        "required": needed,
        "approved": len(good),
        "by": [a.name for a in good],
        "of": "file" if file is not None else "scheduled",
        "lock": lock,
        "entries": entries,
    }
