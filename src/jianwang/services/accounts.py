"""Accounts workflow: users and their roles, sign-in with throttling, API tokens, rights
holders as organisations, and the audit table of every change made through an interface.

Passwords are hashed with Argon2id (argon2-cffi); API tokens are random 256-bit secrets of
which only the SHA-256 is stored. Nothing here knows about HTTP.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ..domain import (
    ApiToken,
    AuditEntry,
    Conflict,
    Duplicate,
    InvalidInput,
    NotFound,
    RightsHolder,
    Role,
    Throttled,
    Unauthenticated,
    User,
    format_id,
    parse_id,
)
from ..store.models import AuditRow, HolderRow, SiteRow, TokenRow, UserRow

_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,100}$")
MIN_PASSWORD = 8
TOKEN_PREFIX = "jw_"
#: last-use times of tokens are written at most this often (seconds)
_TOUCH_EVERY = 60.0

_hasher = PasswordHasher()
# verified against when the username is unknown, so that timing does not tell which exist
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were written in UTC."""
    if t is not None and t.tzinfo is None:
        return t.replace(tzinfo=UTC)
    return t


class Accounts:
    def __init__(
        self, sessions: sessionmaker[Session], max_failures: int = 5, lockout_seconds: int = 300
    ):
        self.sessions = sessions
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds

    # ------------------------------------------------------------ users

    def add_user(
        self,
        username: str,
        password: str,
        role: Role | str,
        holder: str | None = None,
        site: str | None = None,
        display_name: str = "",
        actor: User | None = None,
        via: str = "cli",
    ) -> User:
        """Create a user. A holder user names its rights holder (id like H000001, or a name:
        created when new); an operator user names its key website (id like S000001)."""
        username = username.strip()
        if not _USERNAME_RE.match(username):
            raise InvalidInput("a username is 2-100 letters, digits or . _ @ -", field="username")
        if len(password) < MIN_PASSWORD:
            raise InvalidInput(
                f"a password needs at least {MIN_PASSWORD} characters", field="password"
            )
        r = _role(role)
        with self.sessions.begin() as s:
            if s.scalar(select(UserRow).where(UserRow.username == username)) is not None:
                raise Duplicate(f"user {username!r} already exists", username=username)
            holder_id = site_id = None
            if r == Role.HOLDER:
                if not holder or not holder.strip():
                    raise InvalidInput("a holder user needs a rights holder", field="holder")
                holder_id = _holder_row(s, holder, create=True).id
            elif holder:
                raise InvalidInput("only holder users belong to a rights holder", field="holder")
            if r == Role.OPERATOR:
                if not site or not site.strip():
                    raise InvalidInput("an operator user needs a key website", field="site")
                sid = parse_id("site", site)
                if s.get(SiteRow, sid) is None:
                    raise NotFound(f"no site {format_id('site', sid)}", site=site)
                site_id = sid
            elif site:
                raise InvalidInput("only operator users belong to a key website", field="site")
            row = UserRow(
                username=username,
                display_name=display_name.strip() or username,
                password_hash=_hasher.hash(password),
                role=r.value,
                holder_id=holder_id,
                site_id=site_id,
                active=True,
                failed_logins=0,
            )
            s.add(row)
            s.flush()
            user = self._to_user(s, row)
            _record(s, actor, via, "user.create", username, {"role": r.value})
            return user

    def get_user(self, user_id: int) -> User:
        with self.sessions() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFound(f"no user {user_id}", user_id=user_id)
            return self._to_user(s, row)

    def find_user(self, key: str) -> User:
        """By username, or by numeric id."""
        with self.sessions() as s:
            row = s.scalar(select(UserRow).where(UserRow.username == key.strip()))
            if row is None and key.strip().isdigit():
                row = s.get(UserRow, int(key))
            if row is None:
                raise NotFound(f"no user {key!r}", user=key)
            return self._to_user(s, row)

    def list_users(
        self,
        role: str | None = None,
        query: str | None = None,
        active: bool | None = None,
        sort: str = "id",
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[User], int]:
        stmt = select(UserRow)
        if role:
            stmt = stmt.where(UserRow.role == _role(role).value)
        if query:
            stmt = stmt.where(UserRow.username.contains(query, autoescape=True))
        if active is not None:
            stmt = stmt.where(UserRow.active == active)
        col = _sort_column(
            sort,
            {"id": UserRow.id, "username": UserRow.username, "created": UserRow.created_at},
        )
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = s.scalars(stmt.order_by(col, UserRow.id).limit(limit).offset(offset)).all()
            return [self._to_user(s, r) for r in rows], int(total)

    def set_active(
        self, user_id: int, active: bool, actor: User | None = None, via: str = "cli"
    ) -> User:
        """Disable (or enable again) a user; a disabled user's sessions and tokens stop
        working at once. An administrator cannot disable themselves."""
        if actor is not None and actor.id == user_id and not active:
            raise Conflict("you cannot disable your own account", user_id=user_id)
        with self.sessions.begin() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFound(f"no user {user_id}", user_id=user_id)
            row.active = active
            if active:
                row.failed_logins, row.locked_until = 0, None
            _record(s, actor, via, "user.enable" if active else "user.disable", row.username, {})
            return self._to_user(s, row)

    def authenticate(self, username: str, password: str, via: str = "dashboard") -> User:
        """The user, or Unauthenticated (one message whether the name or the password was
        wrong) or Throttled (after `max_failures` failures in a row, for `lockout_seconds`)."""
        wrong = Unauthenticated("wrong username or password")
        with self.sessions.begin() as s:
            row = s.scalar(select(UserRow).where(UserRow.username == username.strip()))
            if row is None:
                _verify(_DUMMY_HASH, password)
                raise wrong
            now = _now()
            locked = _aware(row.locked_until)
            if locked is not None and locked > now:
                wait = int((locked - now).total_seconds()) + 1
                raise Throttled(
                    f"too many failed sign-ins; try again in {wait} s", retry_after=wait
                )
            if not _verify(row.password_hash, password) or not row.active:
                row.failed_logins += 1
                if row.failed_logins >= self.max_failures:
                    row.locked_until = now + timedelta(seconds=self.lockout_seconds)
                    row.failed_logins = 0
                    _record(s, None, via, "user.locked", row.username, {})
                # committed with the failure count: raising inside begin() would roll back
                user_failed = True
            else:
                row.failed_logins, row.locked_until = 0, None
                if _hasher.check_needs_rehash(row.password_hash):
                    row.password_hash = _hasher.hash(password)
                user_failed = False
            user = self._to_user(s, row)
        if user_failed:
            raise wrong
        return user

    def set_password(self, user_id: int, password: str, actor: User | None, via: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
        with self.sessions.begin() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFound(f"no user {user_id}")
            row.password_hash = _hasher.hash(password)
            _record(s, actor, via, "user.password", row.username, {})

    def _to_user(self, s: Session, row: UserRow) -> User:
        holder = s.get(HolderRow, row.holder_id) if row.holder_id else None
        site = s.get(SiteRow, row.site_id) if row.site_id else None
        return User(
            id=row.id,
            username=row.username,
            display_name=row.display_name,
            role=Role(row.role),
            holder_id=format_id("holder", holder.id) if holder else None,
            holder_name=holder.name if holder else None,
            site_id=format_id("site", site.id) if site else None,
            site_name=site.name if site else None,
            active=row.active,
            created_at=_aware(row.created_at),
        )

    # ------------------------------------------------------------ tokens

    def create_token(
        self, user_id: int, name: str = "", actor: User | None = None, via: str = "cli"
    ) -> tuple[ApiToken, str]:
        """A new bearer token for the user: (its record, the secret, shown only now)."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.sessions.begin() as s:
            user = s.get(UserRow, user_id)
            if user is None:
                raise NotFound(f"no user {user_id}", user_id=user_id)
            row = TokenRow(
                user_id=user_id,
                name=name.strip()[:200],
                prefix=secret[:10],
                token_sha256=_sha256(secret),
            )
            s.add(row)
            s.flush()
            _record(s, actor, via, "token.create", f"token {row.id}", {"user": user.username})
            return _to_token(row, user.username), secret

    def list_tokens(
        self,
        user_id: int | None = None,
        include_revoked: bool = False,
        limit: int = 100,
        offset: int = 0,
        sort: str = "id",
    ) -> tuple[list[ApiToken], int]:
        stmt = select(TokenRow, UserRow.username).join(UserRow, TokenRow.user_id == UserRow.id)
        if user_id is not None:
            stmt = stmt.where(TokenRow.user_id == user_id)
        if not include_revoked:
            stmt = stmt.where(TokenRow.revoked_at.is_(None))
        col = _sort_column(
            sort, {"id": TokenRow.id, "name": TokenRow.name, "created": TokenRow.created_at}
        )
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = s.execute(stmt.order_by(col, TokenRow.id).limit(limit).offset(offset)).all()
            return [_to_token(t, u) for t, u in rows], int(total)

    def get_token(self, token_id: int) -> ApiToken:
        with self.sessions() as s:
            row = s.get(TokenRow, token_id)
            if row is None:
                raise NotFound(f"no token {token_id}", token_id=token_id)
            user = s.get(UserRow, row.user_id)
            return _to_token(row, user.username if user else "")

    def revoke_token(self, token_id: int, actor: User | None = None, via: str = "cli") -> ApiToken:
        with self.sessions.begin() as s:
            row = s.get(TokenRow, token_id)
            if row is None or row.revoked_at is not None:
                raise NotFound(f"no active token {token_id}", token_id=token_id)
            row.revoked_at = _now()
            user = s.get(UserRow, row.user_id)
            _record(s, actor, via, "token.revoke", f"token {row.id}", {})
            return _to_token(row, user.username if user else "")

    def user_for_token(self, secret: str) -> User:
        """The active user behind a bearer token, or Unauthenticated."""
        bad = Unauthenticated("invalid or revoked token")
        if not secret.startswith(TOKEN_PREFIX):
            raise bad
        with self.sessions() as s:
            row = s.scalar(select(TokenRow).where(TokenRow.token_sha256 == _sha256(secret)))
            if row is None or row.revoked_at is not None:
                raise bad
            user = s.get(UserRow, row.user_id)
            if user is None or not user.active:
                raise bad
            now = _now()
            last = _aware(row.last_used_at)
            if last is None or (now - last).total_seconds() > _TOUCH_EVERY:
                row.last_used_at = now
                s.commit()
            return self._to_user(s, user)

    # ------------------------------------------------------------ rights holders

    def add_holder(self, name: str, actor: User | None = None, via: str = "cli") -> RightsHolder:
        name = name.strip()
        if not name:
            raise InvalidInput("a rights holder needs a name", field="name")
        with self.sessions.begin() as s:
            if s.scalar(select(HolderRow).where(HolderRow.name == name)) is not None:
                raise Duplicate(f"rights holder {name!r} already exists", name=name)
            row = HolderRow(name=name)
            s.add(row)
            s.flush()
            hid = format_id("holder", row.id)
            _record(s, actor, via, "holder.create", hid, {"name": name})
            return RightsHolder(hid, name)

    def list_holders(
        self,
        query: str | None = None,
        only: str | None = None,
        sort: str = "id",
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[RightsHolder], int]:
        stmt = select(HolderRow)
        if query:
            stmt = stmt.where(HolderRow.name.contains(query, autoescape=True))
        if only is not None:
            stmt = stmt.where(HolderRow.id == parse_id("holder", only))
        col = _sort_column(sort, {"id": HolderRow.id, "name": HolderRow.name})
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = s.scalars(stmt.order_by(col, HolderRow.id).limit(limit).offset(offset)).all()
            return [RightsHolder(format_id("holder", r.id), r.name) for r in rows], int(total)

    # ------------------------------------------------------------ audit

    def record(
        self,
        actor: User | None,
        via: str,
        action: str,
        target: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        """Write one audit entry (for changes made by other services)."""
        with self.sessions.begin() as s:
            _record(s, actor, via, action, target, details or {})

    def audit_log(
        self,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        sort: str = "-id",
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[AuditEntry], int]:
        stmt = select(AuditRow)
        if actor:
            stmt = stmt.where(AuditRow.actor == actor)
        if action:
            stmt = stmt.where(AuditRow.action == action)
        if target:
            stmt = stmt.where(AuditRow.target == target)
        col = _sort_column(sort, {"id": AuditRow.id, "at": AuditRow.at, "action": AuditRow.action})
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = s.scalars(stmt.order_by(col, AuditRow.id).limit(limit).offset(offset)).all()
            return [
                AuditEntry(
                    r.id,
                    _aware(r.at) or r.at,
                    r.actor,
                    r.via,
                    r.action,
                    r.target,
                    dict(r.details or {}),
                )
                for r in rows
            ], int(total)

    def has_users(self) -> bool:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(UserRow)) != 0


# ---------------------------------------------------------------- helpers


def _role(value: Role | str) -> Role:
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        options = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {value!r}; one of: {options}", field="role") from None


def _holder_row(s: Session, key: str, create: bool) -> HolderRow:
    key = key.strip()
    if re.fullmatch(r"[Hh]\d+", key):
        row = s.get(HolderRow, parse_id("holder", key))
        if row is None:
            raise NotFound(f"no rights holder {key}", holder=key)
        return row
    found = s.scalar(select(HolderRow).where(HolderRow.name == key))
    if found is not None:
        return found
    if not create:
        raise NotFound(f"no rights holder {key!r}", holder=key)
    row = HolderRow(name=key)
    s.add(row)
    s.flush()
    return row


def _sort_column(sort: str, columns: dict[str, Any]) -> Any:
    desc = sort.startswith("-")
    col = columns.get(sort.lstrip("-"))
    if col is None:
        raise InvalidInput(
            f"cannot sort by {sort!r}; one of: {', '.join(columns)} (prefix - for descending)",
            field="sort",
        )
    return col.desc() if desc else col


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _to_token(row: TokenRow, username: str) -> ApiToken:
    return ApiToken(
        id=row.id,
        user_id=row.user_id,
        username=username,
        name=row.name,
        prefix=row.prefix,
        created_at=_aware(row.created_at),
        last_used_at=_aware(row.last_used_at),
        revoked_at=_aware(row.revoked_at),
    )


def _record(
    s: Session, actor: User | None, via: str, action: str, target: str, details: dict[str, Any]
) -> None:
    s.add(
        AuditRow(
            user_id=actor.id if actor else None,
            actor=actor.username if actor else via,
            via=via,
            action=action,
            target=target,
            details=details,
        )
    )
