"""scripts/audit.py (docs/security.md, "Supply chain"): the allow-list's rules and the local OSV feed, without
any network. The audit itself runs in `make lint` and `scripts/test.sh`."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("outreach_audit", ROOT / "scripts" / "audit.py")
assert _spec is not None and _spec.loader is not None
audit = importlib.util.module_from_spec(_spec)
sys.modules["outreach_audit"] = audit
_spec.loader.exec_module(audit)

TODAY = dt.date(2026, 12, 5)
RASA = "requirements-rasa.lock"


def _entry(**overrides: object) -> audit.Entry:
    values: dict = dict(id="PYSEC-1", package="aiohttp", version="3.9.5", lock=RASA, reason="x" * 30,
                        reviewed=TODAY, review_by=TODAY + dt.timedelta(days=90), index=1, aliases=("CVE-1",))
    values.update(overrides)
    return audit.Entry(**values)


def _finding(vid: str = "GHSA-1", aliases: tuple[str, ...] = ("CVE-1",), version: str = "3.9.5") -> audit.Finding:
    return audit.Finding(lock=RASA, package="aiohttp", version=version, id=vid, aliases=list(aliases),
                         fix_versions=["3.13.3"], description="")


def _result(*findings: audit.Finding, pins: dict[str, str] | None = None) -> audit.LockResult:
    return audit.LockResult(RASA, pins or {"aiohttp": "3.9.5"}, findings=list(findings))


FEED_WARN = {"when_unreachable": "warn", "reason": "…", "reviewed": TODAY, "review_by": TODAY + dt.timedelta(days=30)}


def test_a_finding_covered_by_an_alias_passes() -> None:
    assert audit.judge([_result(_finding())], [_entry()], None, TODAY) == (0, "ok")


def test_a_finding_nobody_reviewed_fails() -> None:
    assert audit.judge([_result(_finding(vid="GHSA-2", aliases=()))], [], None, TODAY)[0] == 1


def test_an_entry_past_its_review_date_fails() -> None:
    late = TODAY + dt.timedelta(days=91)
    assert audit.judge([_result(_finding())], [_entry()], None, late)[0] == 1


def test_an_entry_the_feed_no_longer_reports_is_stale() -> None:
    assert audit.judge([_result()], [_entry()], None, TODAY)[0] == 1


def test_an_entry_for_a_version_no_longer_pinned_is_stale_even_offline() -> None:
    offline = _result(pins={"aiohttp": "3.9.6"})
    offline.not_audited = {"aiohttp": "Dependency not found on PyPI"}
    assert audit.judge([offline], [_entry()], FEED_WARN, TODAY)[0] == 1


def test_an_unreachable_feed_fails_unless_tolerated_and_then_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    offline = _result()
    offline.not_audited = {"aiohttp": "Dependency not found on PyPI"}
    assert audit.judge([offline], [_entry()], None, TODAY)[0] == 3
    assert audit.judge([offline], [_entry()], FEED_WARN, TODAY) == (0, "NOT AUDITED (tolerated)")
    assert "NOT AUDITED" in capsys.readouterr().out
    assert audit.judge([offline], [_entry()], FEED_WARN, TODAY, strict=True)[0] == 3
    assert audit.judge([offline], [_entry()], FEED_WARN, TODAY + dt.timedelta(days=31))[0] == 3


def test_a_crash_that_is_not_the_network_is_an_error() -> None:
    broken = _result()
    broken.error, broken.unreachable = "pip-audit exited 1 without a report: ValueError", False
    assert audit.judge([broken], [], FEED_WARN, TODAY)[0] == 2


def test_the_allowlist_rejects_incomplete_or_far_off_entries(tmp_path: Path) -> None:
    path = tmp_path / "allow.toml"
    path.write_text(
        '[[vuln]]\nid = "A"\npackage = "aiohttp"\nversion = "3.9.5"\nlock = "requirements-rasa.lock"\n'
        'reason = "short"\nreviewed = 2026-12-05\nreview_by = 2028-01-01\n'
        '[[vuln]]\nid = "B"\npackage = "aiohttp"\n'
    )
    _, _, problems = audit.read_allowlist(path)
    assert any("reason" in p for p in problems)
    assert any("review_by" in p for p in problems)
    assert any("missing" in p for p in problems)


def test_the_project_allowlist_is_valid() -> None:
    entries, feed, problems = audit.read_allowlist(audit.ALLOWLIST)
    assert problems == []
    assert feed is not None
    for entry in entries:  # every entry names a version its lock pins
        assert audit.read_lock(ROOT / entry.lock).get(entry.package) == entry.version, entry.label()


def test_the_lock_files_are_exact_pins() -> None:
    for lock in audit.LOCKS:
        assert audit.read_lock(ROOT / lock)


@pytest.mark.parametrize(
    ("version", "affected"),
    [("0.9", False), ("1.0", True), ("1.4.9", True), ("1.5", False), ("2.0", True), ("2.1", True), ("2.2", False)],
)
def test_osv_ranges(version: str, affected: bool) -> None:
    events = [{"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"last_affected": "2.1"}]
    assert audit._in_range(audit.Version(version), events) is affected


def test_the_local_feed_answers_like_osv(tmp_path: Path) -> None:
    record = {
        "id": "PYSEC-9", "modified": "2026-07-01T00:00:00Z", "aliases": ["CVE-9"],
        "affected": [{"package": {"ecosystem": "PyPI", "name": "AioHTTP"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.10.2"}]}]}],
    }
    (tmp_path / "vulns" / "aiohttp").mkdir(parents=True)
    (tmp_path / "vulns" / "aiohttp" / "PYSEC-9.json").write_text(json.dumps(record))
    db = audit.OsvDatabase(tmp_path, {"aiohttp"})
    server, url = audit.serve(db)
    try:
        def ask(version: str) -> dict:
            query = json.dumps({"package": {"name": "aiohttp", "ecosystem": "PyPI"}, "version": version}).encode()
            with urllib.request.urlopen(urllib.request.Request(url, data=query), timeout=5) as answer:  # noqa: S310 - our loopback server
                return json.loads(answer.read())

        vulns = ask("3.9.5")["vulns"]
        assert [v["id"] for v in vulns] == ["PYSEC-9"]
        assert vulns[0]["affected"][0]["package"]["name"] == "aiohttp"  # canonical, as pip-audit compares
        assert ask("3.10.2") == {}
    finally:
        server.shutdown()
