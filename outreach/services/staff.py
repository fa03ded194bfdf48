"""Staff accounts: single-use expiring invites, onboarding by `/start <code>`, availability, disabling."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from db.engine import UnitOfWork
from db.models import AuditLog, Quartier, Staff, StaffInvite, StaffRole, Territory
from outreach import options
from outreach.clock import Clock

INVITE_LIFETIME = dt.timedelta(days=7)
CODE_PREFIX = "st-"  # /start payloads of invites look like st-XXXX (Telegram allows [A-Za-z0-9_-], ≤ 64)


@dataclass(frozen=True)
class IssuedInvite:
    """A new invite as its maker sees it once: the code itself is never stored (only its SHA-256)."""

    code: str
    role: StaffRole
    territory_id: str | None
    expires_at: dt.datetime


def invite_digest(code: str) -> str:
    """What the database keeps of an invite code (codes carry 120 random bits: a plain SHA-256 is enough)."""
    return hashlib.sha256(code.encode()).hexdigest()


class InviteError(ValueError):
    """The invite cannot be made (unknown territory or quartier…)."""


@dataclass(frozen=True)
class StaffView:
    id: int
    first_name: str
    role: StaffRole
    territory_id: str | None
    quartier_ids: tuple[str, ...]
    available: bool
    chat_id: int | None
    languages: tuple[str, ...] = ()  # spoken besides French (ISO 639-1 codes)


def _view(staff: Staff) -> StaffView:
    assert staff.id is not None  # noqa: S101 - narrows the type, not a check
    return StaffView(
        id=staff.id,
        first_name=staff.first_name,
        role=StaffRole(staff.role),
        territory_id=staff.territory_id,
        quartier_ids=tuple(staff.quartier_ids or ()),
        available=staff.available,
        chat_id=staff.chat_id,
        languages=tuple(staff.languages or ()),
    )


LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def spoken_languages(languages: list[str] | None) -> list[str]:
    """Languages a staff member speaks besides French, as ISO 639-1 codes ("ar", "en", "tr"…), sorted, no French."""
    codes = set()
    for given in languages or []:
        for part in str(given).replace(";", ",").split(","):
            code = part.strip().lower()
            if not code or code == "fr":
                continue
            if not LANGUAGE_CODE.match(code):
                raise InviteError(f"unknown language code {part.strip()!r} (two letters: ar, en, tr, pt…)")
            codes.add(code)
    return sorted(codes)


def set_languages(uow: UnitOfWork, clock: Clock, staff_id: int, languages: list[str], *, actor: str) -> bool:
    """The languages a staff member speaks (the console's Équipe page, `outreach staff languages`)."""
    staff = uow.session.get(Staff, staff_id)
    if staff is None:
        return False
    staff.languages = spoken_languages(languages)
    uow.session.add(staff)
    uow.session.add(AuditLog(at=clock.now(), actor=actor, action="staff_languages", subject=f"staff:{staff_id}"))
    uow.commit()
    return True


def create_invite(
    uow: UnitOfWork,
    clock: Clock,
    *,
    role: StaffRole,
    territory_id: str | None,
    first_name: str,
    quartier_ids: list[str] | None = None,
    languages: list[str] | None = None,
) -> IssuedInvite:
    """A new single-use code, valid INVITE_LIFETIME."""
    if role != StaffRole.admin and territory_id is None:
        raise InviteError("a relay or a coordinator belongs to a territory (--territory)")
    if territory_id is not None and uow.session.get(Territory, territory_id) is None:
        raise InviteError(f"unknown territory {territory_id!r}")
    for quartier_id in quartier_ids or []:
        quartier = uow.session.get(Quartier, quartier_id)
        if quartier is None or quartier.territory_id != territory_id:
            raise InviteError(f"unknown quartier {quartier_id!r} for territory {territory_id!r}")
    name = options.plain_text(first_name)[:64]  # no invisible or right-to-left override characters
    if not name:
        raise InviteError("the first name is needed (--name)")
    spoken = spoken_languages(languages)
    now = clock.now()
    code = CODE_PREFIX + secrets.token_urlsafe(15)
    invite = StaffInvite(
        code_hash=invite_digest(code),
        role=role,
        territory_id=territory_id,
        first_name=name,
        quartier_ids=list(quartier_ids or []),
        languages=spoken,
        created_at=now,
        expires_at=now + INVITE_LIFETIME,
    )
    uow.session.add(invite)
    uow.session.add(AuditLog(at=now, actor="cli", action="staff_invite", subject=f"invite:{role}:{territory_id}"))
    uow.commit()
    return IssuedInvite(code=code, role=role, territory_id=territory_id, expires_at=invite.expires_at)


def redeem_invite(uow: UnitOfWork, clock: Clock, code: str, *, telegram_user_id: int, chat_id: int) -> StaffView | None:
    """Turn this Telegram account into staff. None when the code is unknown, used or expired.

    The claim is one guarded UPDATE, so two accounts racing with the same code cannot both win."""
    now = clock.now()
    if not code or len(code) > 64:
        return None
    invite = uow.session.get(StaffInvite, invite_digest(code))
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    claimed = uow.session.execute(
        update(StaffInvite)
        .where(col(StaffInvite.code_hash) == invite.code_hash, col(StaffInvite.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        uow.rollback()
        return None
    staff = uow.session.exec(select(Staff).where(Staff.telegram_user_id == telegram_user_id)).first()
    if staff is None:  # an account prepared beforehand (seed-demo, a coordinator) waiting for its Telegram
        staff = uow.session.exec(
            select(Staff)
            .where(
                Staff.first_name == invite.first_name,
                Staff.role == invite.role,
                Staff.territory_id == invite.territory_id,
                col(Staff.telegram_user_id).is_(None),
            )
            .order_by(col(Staff.id))
        ).first()
    if staff is None:
        staff = Staff(telegram_user_id=telegram_user_id, first_name=invite.first_name, role=invite.role, created_at=now)
    staff.telegram_user_id = telegram_user_id
    staff.chat_id = chat_id
    staff.first_name = invite.first_name
    staff.role = invite.role
    staff.territory_id = invite.territory_id
    staff.quartier_ids = list(invite.quartier_ids)
    staff.languages = list(invite.languages or [])
    staff.active, staff.disabled_at = True, None
    uow.session.add(staff)
    uow.session.flush()
    invite.staff_id = staff.id
    uow.session.add(invite)
    uow.session.add(AuditLog(at=now, actor=f"staff:{staff.id}", action="staff_onboarded", subject=f"staff:{staff.id}"))
    uow.commit()
    return _view(staff)


def find(uow: UnitOfWork, telegram_user_id: int) -> StaffView | None:
    """The active staff account behind a Telegram account (a disabled account is no staff at all)."""
    staff = uow.session.exec(
        select(Staff).where(Staff.telegram_user_id == telegram_user_id, col(Staff.active).is_(True))
    ).first()
    return _view(staff) if staff else None


_STAFF = Staff.__table__  # type: ignore[attr-defined]
_ACCOUNT_STATE = sa_select(_STAFF.c.active).where(_STAFF.c.telegram_user_id == bindparam("telegram_user_id")).limit(1)


def account_state(uow: UnitOfWork, telegram_user_id: int) -> str | None:
    """ "active" or "disabled" for a staff account on that Telegram account, None for anyone else."""
    # asked for every update (a filter of the handlers): one column, a statement built once (uow.run)
    active = uow.run(_ACCOUNT_STATE, {"telegram_user_id": telegram_user_id}).scalar()
    if active is None:
        return None
    return "active" if active else "disabled"


def get(uow: UnitOfWork, staff_id: int) -> StaffView | None:
    staff = uow.session.get(Staff, staff_id)
    return _view(staff) if staff and staff.active else None


def set_available(uow: UnitOfWork, clock: Clock, staff_id: int, available: bool) -> StaffView | None:
    staff = uow.session.get(Staff, staff_id)
    if staff is None or not staff.active:
        return None
    staff.available = available
    uow.session.add(staff)
    uow.session.add(
        AuditLog(at=clock.now(), actor=f"staff:{staff_id}", action="available" if available else "unavailable")
    )
    uow.commit()
    return _view(staff)


def disable(uow: UnitOfWork, clock: Clock, staff_id: int) -> bool:
    """The account loses access at once (every handler looks the account up on each update)."""
    staff = uow.session.get(Staff, staff_id)
    if staff is None:
        return False
    staff.active, staff.available, staff.disabled_at = False, False, clock.now()
    uow.session.add(staff)
    uow.session.add(AuditLog(at=clock.now(), actor="cli", action="staff_disabled", subject=f"staff:{staff_id}"))
    uow.commit()
    return True


def relays_of(uow: UnitOfWork, territory_id: str | None, *, available_only: bool = True) -> list[StaffView]:
    """The adultes-relais of a territory who can receive cases (on Telegram, active, available)."""
    query = select(Staff).where(
        Staff.territory_id == territory_id,
        Staff.role == StaffRole.relay,
        col(Staff.active).is_(True),
        col(Staff.chat_id).is_not(None),
    )
    if available_only:
        query = query.where(col(Staff.available).is_(True))
    return [_view(s) for s in uow.session.exec(query.order_by(col(Staff.id))).all()]


def coordinators_of(uow: UnitOfWork, territory_id: str | None) -> list[StaffView]:
    query = select(Staff).where(
        Staff.territory_id == territory_id,
        Staff.role == StaffRole.coordinator,
        col(Staff.active).is_(True),
        col(Staff.chat_id).is_not(None),
    )
    return [_view(s) for s in uow.session.exec(query.order_by(col(Staff.id))).all()]


def list_all(uow: UnitOfWork) -> list[Staff]:
    return list(uow.session.exec(select(Staff).order_by(col(Staff.id))).all())
