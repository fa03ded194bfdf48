"""Dependency audit (docs/security.md, "Supply chain"): pip-audit over both lock files, judged against the
reviewed allow-list `security/pip-audit-allowlist.toml`. Run by `make lint` and `scripts/test.sh`.

* `requirements.lock` (.venv, Python 3.11) and `requirements-rasa.lock` (.venv-rasa, Python 3.10, the Rasa 3.6
  server) are audited as they are pinned, at the same time: `pip-audit -r LOCK --no-deps --disable-pip
  --format json` (no environment is built, nothing is installed).
* Exit 1 on a vulnerability that no allow-list entry covers (same lock, package, pinned version, and the id or
  one of its aliases), on an entry past its `review_by` date, and on an entry no longer needed (the lock no
  longer pins that version, or the audit no longer reports that vulnerability).
* Packages the vulnerability feed could not be asked about (unreachable, or answering 404) are "not audited":
  exit 3, unless the allow-list's `[feed]` section tolerates it (`when_unreachable = "warn"`) until its own
  `review_by` date; then the run says so in a banner and only what can be checked offline fails it.
* `--advisories DIR` (or `OUTREACH_ADVISORY_DB=DIR`): instead of PyPI's feed, an OSV database on disk (a
  checkout of github.com/pypa/advisory-database, or any tree of OSV `.yaml`/`.json` records) served to pip-audit
  on 127.0.0.1 (`--vulnerability-service osv --osv-url`).

Exit codes: 0 clean, 1 findings, 2 the tool could not run, 3 not audited and not tolerated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements.lock", "requirements-rasa.lock")
ALLOWLIST = ROOT / "security" / "pip-audit-allowlist.toml"
MAX_REVIEW_DAYS = 184  # an entry is looked at again within six months of its review
TIMEOUT_S = 30  # per request to the feed
NETWORK_WORDS = ("ConnectionError", "Could not connect", "Max retries", "NameResolution", "timed out", "Timeout")

ENTRY_KEYS = {"id", "package", "version", "lock", "reason", "reviewed", "review_by"}
ENTRY_OPTIONAL = {"aliases"}  # the same vulnerability's other ids (CVE, GHSA): a feed may report any of them
FEED_KEYS = {"when_unreachable", "reason", "reviewed", "review_by"}


@dataclass
class Finding:
    lock: str
    package: str  # canonical name
    version: str
    id: str
    aliases: list[str]
    fix_versions: list[str]
    description: str

    @property
    def ids(self) -> set[str]:
        return {self.id, *self.aliases}


@dataclass
class LockResult:
    lock: str
    pins: dict[str, str]  # canonical name -> pinned version
    findings: list[Finding] = field(default_factory=list)
    not_audited: dict[str, str] = field(default_factory=dict)  # canonical name -> why
    error: str | None = None  # pip-audit failed as a whole
    unreachable: bool = False  # ... because the feed could not be reached
    seconds: float = 0.0


@dataclass
class Entry:
    id: str
    package: str
    version: str
    lock: str
    reason: str
    reviewed: dt.date
    review_by: dt.date
    index: int
    aliases: tuple[str, ...] = ()

    def covers(self, f: Finding) -> bool:
        same = (self.lock, self.package, self.version) == (f.lock, f.package, f.version)
        return same and bool({self.id, *self.aliases} & f.ids)

    def label(self) -> str:
        return f"{self.id} {self.package}=={self.version} ({self.lock})"


# --- lock files and allow-list ---------------------------------------------------------------------------


def read_lock(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip() or any(c in line for c in "<>;[ @"):
            raise SystemExit(f"[audit] {path.name}:{number}: not an exact pin 'name==version': {raw!r}")
        pins[canonicalize_name(name.strip())] = version.strip()
    return pins


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise ValueError(f"{where}: expected a TOML date (YYYY-MM-DD), got {value!r}")


def read_allowlist(path: Path) -> tuple[list[Entry], dict | None, list[str]]:
    """The entries, the [feed] section, and the problems that make the file itself invalid."""
    problems: list[str] = []
    data = tomllib.loads(path.read_text())
    unknown = set(data) - {"vuln", "feed"}
    if unknown:
        problems.append(f"unknown top-level keys {sorted(unknown)}")
    entries: list[Entry] = []
    seen: set[tuple[str, str, str, str]] = set()
    for i, raw in enumerate(data.get("vuln", []), 1):
        where = f"[[vuln]] #{i} ({raw.get('id', '?')})"
        missing, extra = ENTRY_KEYS - set(raw), set(raw) - ENTRY_KEYS - ENTRY_OPTIONAL
        if missing or extra:
            problems.append(f"{where}: missing {sorted(missing)}, unknown {sorted(extra)}")
            continue
        try:
            entry = Entry(
                id=str(raw["id"]),
                package=canonicalize_name(str(raw["package"])),
                version=str(raw["version"]),
                lock=str(raw["lock"]),
                reason=str(raw["reason"]).strip(),
                reviewed=_date(raw["reviewed"], where),
                review_by=_date(raw["review_by"], where),
                index=i,
                aliases=tuple(str(a) for a in raw.get("aliases", [])),
            )
        except ValueError as error:
            problems.append(str(error))
            continue
        if entry.lock not in LOCKS:
            problems.append(f"{where}: lock must be one of {list(LOCKS)}")
        if len(entry.reason) < 20:
            problems.append(f"{where}: the reason must say why it does not apply or cannot be upgraded")
        if not entry.reviewed < entry.review_by <= entry.reviewed + dt.timedelta(days=MAX_REVIEW_DAYS):
            problems.append(f"{where}: review_by must fall within {MAX_REVIEW_DAYS} days after reviewed")
        key = (entry.id, entry.package, entry.version, entry.lock)
        if key in seen:
            problems.append(f"{where}: duplicate entry")
        seen.add(key)
        entries.append(entry)
    feed = data.get("feed")
    if feed is not None:
        missing, extra = FEED_KEYS - set(feed), set(feed) - FEED_KEYS
        if missing or extra:
            problems.append(f"[feed]: missing {sorted(missing)}, unknown {sorted(extra)}")
            feed = None
        elif feed["when_unreachable"] not in ("warn", "fail"):
            problems.append('[feed]: when_unreachable must be "warn" or "fail"')
            feed = None
        else:
            try:
                feed = {**feed, "reviewed": _date(feed["reviewed"], "[feed]"),
                        "review_by": _date(feed["review_by"], "[feed]")}
            except ValueError as error:
                problems.append(str(error))
                feed = None
    return entries, feed, problems


# --- a local OSV feed (--advisories) -------------------------------------------------------------------------


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _rfc3339(value: object) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _in_range(version: Version, events: list[dict]) -> bool:
    """OSV's ECOSYSTEM range: the last event at or below the version decides."""
    def key(event: dict) -> Version:
        value = next(iter(event.values()))
        return _version(str(value)) or Version("0")

    affected = False
    for event in sorted(events, key=key):
        if "introduced" in event:
            start = _version(str(event["introduced"]))
            if start is not None and version >= start:
                affected = True
        elif "fixed" in event:
            end = _version(str(event["fixed"]))
            if end is not None and version >= end:
                affected = False
        elif "last_affected" in event:
            last = _version(str(event["last_affected"]))
            if last is not None and version > last:
                affected = False
    return affected


class OsvDatabase:
    """OSV records for PyPI packages, indexed by canonical name, answering OSV's /v1/query."""

    def __init__(self, root: Path, wanted: set[str]):
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        self.by_package: dict[str, list[dict]] = {}
        self.newest = ""
        self.records = 0
        for path in sorted(root.rglob("*")):
            if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file() or ".git" in path.parts:
                continue
            if path.parent.parent.name == "vulns" and canonicalize_name(path.parent.name) not in wanted:
                continue  # pypa/advisory-database's layout: vulns/<package>/<id>.yaml
            text = path.read_text(errors="replace")
            if "PyPI" not in text:
                continue
            try:
                record = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=loader)  # noqa: S506 - safe loader
            except (ValueError, yaml.YAMLError):
                continue
            if not isinstance(record, dict) or "id" not in record:
                continue
            names = {
                canonicalize_name(a["package"]["name"])
                for a in record.get("affected", [])
                if a.get("package", {}).get("ecosystem") == "PyPI"
            }
            if not names & wanted:
                continue
            record = json.loads(json.dumps(record, default=_rfc3339))  # YAML timestamps as OSV writes them
            for affected in record.get("affected", []):
                package = affected.get("package", {})
                if package.get("ecosystem") == "PyPI":
                    package["name"] = canonicalize_name(package["name"])
            self.records += 1
            self.newest = max(self.newest, str(record.get("modified", ""))[:10])
            for name in names & wanted:
                self.by_package.setdefault(name, []).append(record)

    def query(self, name: str, version_text: str) -> list[dict]:
        version = _version(version_text)
        hits = []
        for record in self.by_package.get(canonicalize_name(name), []):
            for affected in record.get("affected", []):
                package = affected.get("package", {})
                if package.get("ecosystem") != "PyPI" or package.get("name") != canonicalize_name(name):
                    continue
                listed = version_text in {str(v) for v in affected.get("versions", [])}
                ranged = version is not None and any(
                    r.get("type") == "ECOSYSTEM" and _in_range(version, r.get("events", []))
                    for r in affected.get("ranges", [])
                )
                if listed or ranged:
                    hits.append(record)
                    break
        return hits


def serve(db: OsvDatabase) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            package = body.get("package", {})
            vulns = db.query(package.get("name", ""), body.get("version", ""))
            payload = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1/query"


# --- running pip-audit ---------------------------------------------------------------------------------------


def start_pip_audit(lock: str, output: Path, osv_url: str | None) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "pip_audit",
        "--requirement", str(ROOT / lock), "--no-deps", "--disable-pip",
        "--format", "json", "--output", str(output), "--aliases", "on", "--desc", "on",
        "--progress-spinner", "off", "--timeout", str(TIMEOUT_S),
    ]
    if osv_url:
        command += ["--vulnerability-service", "osv", "--osv-url", osv_url]
    env = {**os.environ, "PIP_AUDIT_PROGRESS_SPINNER": "off"}
    return subprocess.Popen(  # noqa: S603 - fixed argument list, our interpreter, no shell
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )


def collect(result: LockResult, process: subprocess.Popen[str], output: Path) -> None:
    _, stderr = process.communicate()
    try:
        report = json.loads(output.read_text())
    except (OSError, ValueError):
        tail = "\n".join(stderr.strip().splitlines()[-3:])
        result.error = f"pip-audit exited {process.returncode} without a report:\n{tail}"
        result.unreachable = any(word in stderr for word in NETWORK_WORDS)
        return
    for dep in report.get("dependencies", []):
        name = canonicalize_name(dep["name"])
        if dep.get("skip_reason"):
            result.not_audited[name] = dep["skip_reason"]
            continue
        for vuln in dep.get("vulns", []):
            result.findings.append(Finding(
                lock=result.lock, package=name, version=dep["version"], id=vuln["id"],
                aliases=list(vuln.get("aliases", [])), fix_versions=list(vuln.get("fix_versions", [])),
                description=" ".join(str(vuln.get("description", "")).split())[:160],
            ))
    missing = set(result.pins) - {canonicalize_name(d["name"]) for d in report.get("dependencies", [])}
    for name in missing:
        result.not_audited[name] = "absent from pip-audit's report"


def audit(advisories: Path | None) -> list[LockResult]:
    results = [LockResult(lock, read_lock(ROOT / lock)) for lock in LOCKS]
    server, osv_url = None, None
    if advisories is not None:
        wanted = set().union(*(r.pins for r in results))
        started = time.monotonic()
        db = OsvDatabase(advisories, wanted)
        if not db.records:
            raise SystemExit(f"[audit] {advisories}: no OSV record for any of our packages: not an advisory database?")
        print(f"[audit] advisories from {advisories}: {db.records} records for our packages, "
              f"newest modified {db.newest or '?'} (loaded in {time.monotonic() - started:.1f} s)")
        server, osv_url = serve(db)
    with tempfile.TemporaryDirectory(prefix="outreach-audit-") as tmp:
        runs = []
        for result in results:
            output = Path(tmp) / f"{result.lock}.json"
            runs.append((result, start_pip_audit(result.lock, output, osv_url), output, time.monotonic()))
        for result, process, output, started in runs:
            collect(result, process, output)
            result.seconds = time.monotonic() - started
    if server is not None:
        server.shutdown()
    return results


# --- judging -------------------------------------------------------------------------------------------------


def judge(
    results: list[LockResult], entries: list[Entry], feed: dict | None, today: dt.date, *, strict: bool = False
) -> tuple[int, str]:
    """The exit code and a one-word verdict; prints every finding."""
    failures = 0
    by_lock = {r.lock: r for r in results}

    def fail(message: str) -> None:
        nonlocal failures
        failures += 1
        print(f"  FAIL {message}")

    for result in results:
        allowed = [f for f in result.findings if any(e.covers(f) for e in entries)]
        looked_up = len(result.pins) - len(result.not_audited)
        state = "not audited" if result.error else f"{looked_up}/{len(result.pins)} looked up"
        print(f"[audit] {result.lock}: {len(result.pins)} pins, {state}, {len(result.findings)} vulnerabilities "
              f"({len(allowed)} allow-listed), {result.seconds:.1f} s")
        for f in result.findings:
            if f in allowed:
                continue
            fix = f"fixed in {', '.join(f.fix_versions)}" if f.fix_versions else "no fixed release"
            aliases = f" = {', '.join(f.aliases)}" if f.aliases else ""
            fail(f"{f.package}=={f.version} {f.id}{aliases}: {fix}. {f.description}")

    print("[audit] allow-list:")
    for entry in entries:
        result = by_lock[entry.lock]
        if entry.review_by < today:
            fail(f"{entry.label()}: review_by {entry.review_by} has passed: review it again (entry #{entry.index})")
        if result.pins.get(entry.package) != entry.version:
            pinned = result.pins.get(entry.package, "not pinned")
            fail(f"{entry.label()}: stale, the lock pins {entry.package} {pinned}: remove or re-review the entry")
            continue
        if result.error or entry.package in result.not_audited:
            continue  # cannot tell whether it is still needed
        if not any(entry.covers(f) for f in result.findings):
            fail(f"{entry.label()}: stale, the audit no longer reports it: remove the entry")
    print(f"  {len(entries)} entries checked")

    not_audited = [r for r in results if r.error or r.not_audited]
    if not not_audited:
        if feed and feed["when_unreachable"] == "warn":
            print("[audit] note: every package was looked up; the [feed] tolerance is not needed on this machine")
        return (1, "FAILED") if failures else (0, "ok")

    banner = "!" * 100
    print(banner)
    for r in not_audited:
        if r.error:
            print(f"[audit] NOT AUDITED {r.lock}: {r.error}")
        else:
            sample = next(iter(r.not_audited.values()))
            print(f"[audit] NOT AUDITED {r.lock}: {len(r.not_audited)} of {len(r.pins)} packages could not be "
                  f"looked up, e.g. {sample}")
    hard_error = any(r.error and not r.unreachable for r in results)
    tolerated = feed is not None and feed["when_unreachable"] == "warn" and not hard_error and not strict
    if tolerated and feed["review_by"] < today:
        print(f"[audit] the [feed] tolerance expired on {feed['review_by']}: review it "
              f"({ALLOWLIST.relative_to(ROOT)})")
        tolerated = False
    if tolerated:
        print(f"[audit] tolerated until {feed['review_by']} by [feed] in {ALLOWLIST.relative_to(ROOT)}: "
              f"{' '.join(feed['reason'].split())}")
        print("[audit] Those packages were NOT checked for known vulnerabilities. Reproduce a full audit with "
              "--advisories DIR (docs/security.md).")
    print(banner)
    if failures:
        return 1, "FAILED"
    if hard_error:
        return 2, "ERROR"
    return (0, "NOT AUDITED (tolerated)") if tolerated else (3, "NOT AUDITED")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--advisories", type=Path, default=os.environ.get("OUTREACH_ADVISORY_DB") or None,
                        help="an OSV database on disk instead of PyPI's feed (env OUTREACH_ADVISORY_DB)")
    parser.add_argument("--strict", action="store_true", default=os.environ.get("OUTREACH_AUDIT_STRICT") == "1",
                        help="an unreachable feed fails, whatever [feed] says (env OUTREACH_AUDIT_STRICT=1)")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    started = time.monotonic()
    entries, feed, problems = read_allowlist(ALLOWLIST)
    if problems:
        for problem in problems:
            print(f"[audit] {ALLOWLIST.relative_to(ROOT)}: {problem}", file=sys.stderr)
        return 1
    if args.advisories is not None and not args.advisories.is_dir():
        print(f"[audit] --advisories {args.advisories}: not a directory", file=sys.stderr)
        return 2
    results = audit(args.advisories)
    code, verdict = judge(results, entries, feed, args.today or dt.date.today(), strict=args.strict)
    print(f"[audit] {verdict} in {time.monotonic() - started:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
