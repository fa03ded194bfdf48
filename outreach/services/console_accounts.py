"""Console access: accounts with argon2 password hashes, single-use links, sessions, lockout.

Used by the web console (outreach/console), the CLI (`outreach staff console`) and the bot (`/console`).

- A staff member gets console access with `outreach staff console STAFF_ID --login L`: that prints a
  single-use activation link (valid 72 h) where they choose their password.
- Login: login + password (argon2id, `argon2-cffi`), or a single-use link sent to their Telegram
  (valid 10 min). After LOCK_AFTER failed passwords in a row the account is locked LOCK_FOR; the
  login page says so without telling whether the login exists.
- Sessions live in the database (revocable, a disabled staff member is out at once): the cookie
  holds a random id, the table its SHA-256 and the CSRF token of that session.
Only hashes of links and session ids are stored; nothing here is logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, update
from sqlmodel import col, select

from db.engine import UnitOfWork
from db.models import AuditLog, ConsoleAccount, ConsoleSession, ConsoleToken, Staff
from outreach import i18n, outbox
from outreach.clock import Clock

LOCK_AFTER = 5
LOCK_FOR = dt.timedelta(minutes=15)
SESSION_IDLE = dt.timedelta(hours=2)
SESSION_MAX = dt.timedelta(hours=12)
ACTIVATION_LIFETIME = dt.timedelta(hours=72)
LOGIN_LINK_LIFETIME = dt.timedelta(minutes=10)
LOGIN_LINK_INTERVAL = dt.timedelta(minutes=1)  # at most one Telegram link a minute per account
MIN_PASSWORD = 12
LOGIN_LINK_TEXT = i18n.staff("Votre lien pour ouvrir la console (10 minutes, une seule fois) :\n{lien}")  # on Telegram
LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(ValueError):
    """A request the console refuses; the message is French and shown as is."""


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def normalise_login(login: str) -> str:
    return login.strip().lower()


@dataclass(frozen=True)
class LoginResult:
    staff_id: int | None
    locked_until: dt.datetime | None = None


# ---------------------------------------------------------------- granting access


def grant(uow: UnitOfWork, clock: Clock, staff_id: int, login: str, *, actor: str = "cli") -> str:
    """Give console access (or a new activation link): returns the raw single-use activation token."""
    login = normalise_login(login)
    if not LOGIN_PATTERN.match(login):
        raise AccountError("identifiant : 2 à 64 caractères, lettres minuscules, chiffres, . _ @ -")
    session = uow.session
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise AccountError(f"pas de membre de l'équipe actif n° {staff_id} (voir : outreach staff list)")
    taken = session.exec(select(ConsoleAccount).where(ConsoleAccount.login == login)).first()
    if taken is not None and taken.staff_id != staff_id:
        raise AccountError(f"l'identifiant {login!r} est déjà pris")
    now = clock.now()
    account = session.get(ConsoleAccount, staff_id)
    if account is None:
        account = ConsoleAccount(staff_id=staff_id, login=login, created_at=now)
    account.login = login
    session.add(account)
    session.exec(  # an older activation link stops working
        delete(ConsoleToken).where(col(ConsoleToken.staff_id) == staff_id, col(ConsoleToken.purpose) == "activate")
    )
    token = _new_token(uow, staff_id, "activate", now, ACTIVATION_LIFETIME)
    session.add(AuditLog(at=now, actor=actor, action="console_access", subject=f"staff:{staff_id}"))
    uow.commit()
    return token


def set_password(uow: UnitOfWork, staff_id: int, password: str) -> None:
    check_password_strength(password)
    account = uow.session.get(ConsoleAccount, staff_id)
    if account is None:
        raise AccountError("pas d'accès à la console pour ce compte")
    account.password_hash = _hasher.hash(password)
    account.failed_logins = 0
    account.locked_until = None
    uow.session.add(account)
    uow.commit()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"le mot de passe doit faire au moins {MIN_PASSWORD} caractères")
    if len(password) > 256:
        raise AccountError("le mot de passe est trop long (256 caractères au plus)")
    if password.strip().lower() in {"motdepasse123", "azertyuiop12", "123456789012"}:
        raise AccountError("ce mot de passe est trop courant")


def activation_account(uow: UnitOfWork, clock: Clock, token: str) -> ConsoleAccount | None:
    """The account an activation link opens (None when the link is unknown, used or too old)."""
    row = _live_token(uow, clock, token, "activate")
    return uow.session.get(ConsoleAccount, row.staff_id) if row is not None else None


def activate(uow: UnitOfWork, clock: Clock, token: str, password: str) -> int | None:
    """Choose the password with an activation link: returns the staff id, None for a dead link."""
    check_password_strength(password)
    row = _live_token(uow, clock, token, "activate")
    if row is None or not _spend(uow, clock, row):
        return None
    set_password(uow, row.staff_id, password)
    return row.staff_id


# ---------------------------------------------------------------- logging in


def check_login(uow: UnitOfWork, clock: Clock, login: str, password: str) -> LoginResult:
    """Password login with lockout. An unknown login costs the same hashing time as a known one."""
    now = clock.now()
    session = uow.session
    account = session.exec(select(ConsoleAccount).where(ConsoleAccount.login == normalise_login(login))).first()
    staff = session.get(Staff, account.staff_id) if account is not None else None
    if account is None or staff is None or not staff.active or account.password_hash is None:
        _verify(_DUMMY_HASH, password)
        return LoginResult(None)
    if account.locked_until is not None and account.locked_until > now:
        _verify(_DUMMY_HASH, password)  # as long as any other refusal: the time tells nothing either
        return LoginResult(None, locked_until=account.locked_until)
    staff_id = account.staff_id
    if _verify(account.password_hash, password):
        # the lock is decided by the database, not by what this request read before hashing: a right password
        # racing wrong guesses that lock the account does not get in
        opened = session.execute(
            update(ConsoleAccount)
            .where(
                col(ConsoleAccount.staff_id) == staff_id,
                (col(ConsoleAccount.locked_until).is_(None)) | (col(ConsoleAccount.locked_until) <= now),
            )
            .values(failed_logins=0, locked_until=None, last_login_at=now)
        )
        if _hasher.check_needs_rehash(account.password_hash):
            session.execute(
                update(ConsoleAccount)
                .where(col(ConsoleAccount.staff_id) == staff_id)
                .values(password_hash=_hasher.hash(password))
            )
        uow.commit()
        if opened.rowcount == 0:
            session.expire_all()
            locked = session.get(ConsoleAccount, staff_id)
            return LoginResult(None, locked_until=locked.locked_until if locked else None)
        return LoginResult(staff_id)
    # a wrong password: one atomic increment (parallel guesses each count), the lock follows the count
    session.execute(
        update(ConsoleAccount)
        .where(col(ConsoleAccount.staff_id) == staff_id)
        .values(failed_logins=ConsoleAccount.failed_logins + 1)  # type: ignore[operator]
    )
    locking = session.execute(
        update(ConsoleAccount)
        .where(col(ConsoleAccount.staff_id) == staff_id, col(ConsoleAccount.failed_logins) >= LOCK_AFTER)
        .values(failed_logins=0, locked_until=now + LOCK_FOR)
    )
    locked_until = None
    if locking.rowcount:
        locked_until = now + LOCK_FOR
        session.add(AuditLog(at=now, actor="system", action="console_lockout", subject=f"staff:{staff_id}"))
    uow.commit()
    return LoginResult(None, locked_until=locked_until)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def login_link_for_staff(uow: UnitOfWork, clock: Clock, staff_id: int) -> tuple[Staff, str] | None:
    """A single-use login link for a staff member known by id, to send on their Telegram (the bot's /console).

    None when there is no such active account with a Telegram chat, or a link was made less than a
    minute ago."""
    made = _login_link(uow, clock, staff_id)
    if made is not None:
        uow.commit()
    return made


def send_login_link(uow: UnitOfWork, clock: Clock, login: str, *, console_url: str) -> bool:
    """"Recevoir un lien sur Telegram": a single-use login link queued in the outbox for the staff member
    with this login, in one transaction. False when nothing was sent (see login_link_for_staff); the login
    page answers the same either way, so nobody learns whether a login exists."""
    made = _login_link(uow, clock, _staff_id_of_login(uow, login))
    if made is None:
        return False
    staff, token = made
    assert staff.chat_id is not None  # noqa: S101 - narrows the type, not a check
    now = clock.now()
    link = f"{console_url}/connexion/lien/{token}"
    outbox.enqueue(
        uow, key=f"console-link:{_digest(token)[:16]}", chat_id=staff.chat_id, kind="console_link", staff_id=staff.id,
        payload={"text": LOGIN_LINK_TEXT.format(lien=link)},
        due_at=now, expires_at=now + LOGIN_LINK_LIFETIME, now=now,
    )
    uow.commit()
    return True


def _staff_id_of_login(uow: UnitOfWork, login: str) -> int | None:
    account = uow.session.exec(select(ConsoleAccount).where(ConsoleAccount.login == normalise_login(login))).first()
    return account.staff_id if account is not None else None


def _login_link(uow: UnitOfWork, clock: Clock, staff_id: int | None) -> tuple[Staff, str] | None:
    """A new login token for an active staff member with a Telegram chat and console access (no commit)."""
    if staff_id is None:
        return None
    session = uow.session
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active or staff.chat_id is None or session.get(ConsoleAccount, staff_id) is None:
        return None
    now = clock.now()
    recent = session.exec(
        select(ConsoleToken).where(
            col(ConsoleToken.staff_id) == staff_id,
            col(ConsoleToken.purpose) == "login",
            col(ConsoleToken.created_at) > now - LOGIN_LINK_INTERVAL,
        )
    ).first()
    if recent is not None:
        return None
    return staff, _new_token(uow, staff_id, "login", now, LOGIN_LINK_LIFETIME)


def redeem_login_link(uow: UnitOfWork, clock: Clock, token: str) -> int | None:
    row = _live_token(uow, clock, token, "login")
    if row is None or not _spend(uow, clock, row):
        return None
    staff = uow.session.get(Staff, row.staff_id)
    return row.staff_id if staff is not None and staff.active else None


def _new_token(uow: UnitOfWork, staff_id: int, purpose: str, now: dt.datetime, lifetime: dt.timedelta) -> str:
    raw = secrets.token_urlsafe(32)
    uow.session.add(
        ConsoleToken(token_hash=_digest(raw), staff_id=staff_id, purpose=purpose, created_at=now,
                     expires_at=now + lifetime)
    )
    return raw


def _live_token(uow: UnitOfWork, clock: Clock, raw: str, purpose: str) -> ConsoleToken | None:
    if not raw or len(raw) > 128:
        return None
    row = uow.session.get(ConsoleToken, _digest(raw))
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= clock.now():
        return None
    return row


def _spend(uow: UnitOfWork, clock: Clock, row: ConsoleToken) -> bool:
    """Mark a link used; False when someone else used it at the same moment."""
    table = ConsoleToken.__table__  # type: ignore[attr-defined]
    spent = uow.session.execute(
        update(table).where(table.c.token_hash == row.token_hash, table.c.used_at.is_(None)).values(used_at=clock.now())
    ).rowcount
    uow.commit()
    return bool(spent)


# ---------------------------------------------------------------- sessions


def open_session(uow: UnitOfWork, clock: Clock, staff_id: int) -> tuple[str, str]:
    """A new session: returns (raw cookie value, CSRF token)."""
    now = clock.now()
    raw, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session = uow.session
    session.exec(delete(ConsoleSession).where(col(ConsoleSession.expires_at) < now))  # tidy old ones
    session.add(
        ConsoleSession(id_hash=_digest(raw), staff_id=staff_id, csrf_token=csrf, created_at=now,
                       expires_at=now + SESSION_MAX, last_seen_at=now)
    )
    session.add(AuditLog(at=now, actor=f"staff:{staff_id}", action="console_login"))
    uow.commit()
    return raw, csrf


def session_of(uow: UnitOfWork, clock: Clock, raw: str | None) -> tuple[Staff, ConsoleSession] | None:
    """The staff member behind a cookie, or None (unknown, expired, idle too long, staff disabled)."""
    if not raw or len(raw) > 128:
        return None
    session = uow.session
    row = session.get(ConsoleSession, _digest(raw))
    now = clock.now()
    if row is None or row.expires_at <= now or row.last_seen_at + SESSION_IDLE <= now:
        return None
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        return None
    if now - row.last_seen_at > dt.timedelta(minutes=1):  # one write a minute at most
        row.last_seen_at = now
        session.add(row)
        uow.commit()
    return staff, row


def close_session(uow: UnitOfWork, raw: str | None) -> None:
    if raw:
        uow.session.exec(delete(ConsoleSession).where(col(ConsoleSession.id_hash) == _digest(raw)))
        uow.commit()


def drop_sessions_of(uow: UnitOfWork, staff_id: int) -> None:
    """End every console session of a staff member, in the caller's transaction (no commit)."""
    uow.session.exec(delete(ConsoleSession).where(col(ConsoleSession.staff_id) == staff_id))


def account_of(uow: UnitOfWork, staff_id: int) -> ConsoleAccount | None:
    return uow.session.get(ConsoleAccount, staff_id)
