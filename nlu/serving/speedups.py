"""Work Rasa 3.6 does on every turn that can be done once (found with py-spy under load, issue 15):

- the action server's answer is validated with `jsonschema.validate`, which checks the schema itself and
  builds a validator on every call (~15 % of Rasa's CPU per turn): the validator is built once;
- its SQL tracker store on SQLite commits each turn with a full fsync (`synchronous=FULL`, rollback journal:
  ~14 %): write-ahead log and `synchronous=NORMAL`, which survive a crash of any process (SIGKILL included) and
  may lose the last turns only if the machine itself loses power.

`install()` runs in the Rasa process before the server starts (nlu/serving/__main__.py)."""

from __future__ import annotations

from typing import Any

DOCS = "https://rasa.com/docs/rasa/custom-actions"


def _cached_action_validation() -> None:
    from jsonschema import ValidationError, validators
    from rasa.core.actions.action import RemoteAction

    spec = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(spec)
    validator_class.check_schema(spec)
    validator = validator_class(spec)

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
        except ValidationError as error:  # the same message as Rasa's own
            error.message += (
                ". Failed to validate Action server response from API, make sure your response from the Action "
                f"endpoint is valid. For more information about the format visit {DOCS}"
            )
            raise
        return True

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


def _sqlite_write_ahead_log() -> None:
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        if isinstance(connection, sqlite3.Connection):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()


def install() -> None:
    _cached_action_validation()
    _sqlite_write_ahead_log()
