"""What the custom actions run with: settings, the database engine and the clock of the process that
serves them (built by the composition root; swapped per test by the test harness)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from outreach.clock import Clock
from outreach.config import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    clock: Clock

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)


_current: list[Runtime] = []


def use(runtime: Runtime) -> None:
    """Serve the actions with this runtime from now on."""
    _current[:] = [runtime]


def configured() -> bool:
    return bool(_current)


def current() -> Runtime:
    if not _current:
        raise RuntimeError("the action server has no runtime (actions.runtime.use was not called)")
    return _current[0]
