"""Finding 2 of the trust review: Rasa and the action server listened on OUTREACH_HOST (the webhook's
interface) with no token. They listen on loopback unless given their own interface, and share a token
that is on no command line."""

from __future__ import annotations

from outreach.config import Settings
from outreach.logs import redact
from outreach.supervisor import plan


def _children(**settings: object) -> dict[str, object]:
    return {child.name: child for child in plan(Settings(**settings))}  # type: ignore[arg-type]


def _flag(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_rasa_and_actions_stay_on_loopback_when_the_webhook_faces_the_internet() -> None:
    children = _children(host="0.0.0.0", telegram_bot_token="123456:ABCdef_ghi")  # noqa: S104 - the case under test
    assert _flag(children["rasa"].argv, "--interface") == "127.0.0.1"  # type: ignore[attr-defined]
    assert _flag(children["actions"].argv, "--host") == "127.0.0.1"  # type: ignore[attr-defined]


def test_their_own_interface_when_configured() -> None:
    children = _children(rasa_host="10.0.0.5", actions_host="10.0.0.6", telegram_bot_token="123456:ABCdef_ghi")
    assert _flag(children["rasa"].argv, "--interface") == "10.0.0.5"  # type: ignore[attr-defined]
    assert _flag(children["actions"].argv, "--host") == "10.0.0.6"  # type: ignore[attr-defined]


def test_one_token_per_run_shared_by_the_three_processes_and_on_no_command_line() -> None:
    first, second = _children(), _children()
    token = first["rasa"].env["OUTREACH_RASA_TOKEN"]  # type: ignore[attr-defined]
    assert len(token) >= 32
    assert token != second["rasa"].env["OUTREACH_RASA_TOKEN"]  # type: ignore[attr-defined]
    for name in ("rasa", "actions", "service"):
        child = first[name]
        assert child.env["OUTREACH_RASA_TOKEN"] == token  # type: ignore[attr-defined]
        assert not any(token in arg for arg in child.argv)  # type: ignore[attr-defined]


def test_a_configured_token_is_used() -> None:
    children = _children(rasa_token="x" * 40)
    assert children["service"].env["OUTREACH_RASA_TOKEN"] == "x" * 40  # type: ignore[attr-defined]


def test_the_token_never_reaches_a_log_line() -> None:
    line = "GET http://127.0.0.1:5005/conversations/ab/tracker?token=s3cr3t-T0k3n_xyz&x=1 Authorization: Bearer s3cr3t"
    cleaned = redact(line)
    assert "s3cr3t" not in cleaned and "token=<token>&x=1" in cleaned
