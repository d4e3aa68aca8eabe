"""Accounts service on SQLite and PostgreSQL: users, sign-in throttling, tokens, audit; and
migration 0002 applies, downgrades and applies again on both."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import inspect

from jianwang import Jianwang
from jianwang.domain import Duplicate, InvalidInput, NotFound, Role, Throttled, Unauthenticated


def test_users_sign_in_and_roles(jw: Jianwang) -> None:
    a = jw.accounts
    admin = a.add_user("root", "a long password", "admin")
    assert admin.role == Role.ADMIN and admin.is_regulator
    holder = a.add_user("pub", "another password", "holder", holder="Some Press")
    assert holder.holder_id == "H000001" and holder.holder_name == "Some Press"
    assert a.authenticate("pub", "another password").id == holder.id
    with pytest.raises(Unauthenticated):
        a.authenticate("pub", "wrong password")
    with pytest.raises(Unauthenticated):
        a.authenticate("nobody", "another password")
    with pytest.raises(Duplicate):
        a.add_user("pub", "whatever long", "staff")
    with pytest.raises(InvalidInput, match="at least"):
        a.add_user("shorty", "short", "staff")
    with pytest.raises(InvalidInput, match="key website"):
        a.add_user("op", "a long password", "operator")
    with pytest.raises(NotFound):
        a.add_user("op", "a long password", "operator", site="S000009")
    with pytest.raises(InvalidInput, match="role"):
        a.add_user("x1", "a long password", "superuser")
    a.set_active(holder.id, False, actor=admin, via="cli")
    with pytest.raises(Unauthenticated):
        a.authenticate("pub", "another password")
    users, total = a.list_users(sort="-username")
    assert total == 2 and [u.username for u in users] == ["root", "pub"]


def test_sign_in_is_throttled(jw: Jianwang) -> None:
    from jianwang.services.accounts import Accounts

    a = Accounts(jw.sessions, max_failures=3, lockout_seconds=1)
    a.add_user("target", "the right password", "staff")
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            a.authenticate("target", "guess")
    with pytest.raises(Throttled) as exc:
        a.authenticate("target", "the right password")  # even the right one, while locked
    assert 1 <= exc.value.details["retry_after"] <= 2
    time.sleep(1.1)
    assert a.authenticate("target", "the right password").username == "target"
    entries, _ = a.audit_log(action="user.locked")
    assert [e.target for e in entries] == ["target"]


def test_tokens(jw: Jianwang) -> None:
    a = jw.accounts
    user = a.add_user("bot", "a long password", "staff")
    token, secret = a.create_token(user.id, "ci")
    assert secret.startswith("jw_") and token.prefix == secret[:10]
    assert a.user_for_token(secret).id == user.id
    with pytest.raises(Unauthenticated):
        a.user_for_token(secret + "x")
    tokens, total = a.list_tokens(user.id)
    assert total == 1 and tokens[0].last_used_at is not None
    a.revoke_token(token.id, via="cli")
    with pytest.raises(Unauthenticated):
        a.user_for_token(secret)
    with pytest.raises(NotFound):
        a.revoke_token(token.id)
    assert a.list_tokens(user.id)[1] == 0 and a.list_tokens(user.id, include_revoked=True)[1] == 1
    actions = [e.action for e in a.audit_log(sort="id")[0]]
    assert actions == ["user.create", "token.create", "token.revoke"]


def test_migration_0002_upgrades_and_downgrades(jw: Jianwang) -> None:
    from alembic import command

    from jianwang.store.db import alembic_config

    tables = set(inspect(jw.db).get_table_names())
    assert {"users", "api_tokens", "audit"} <= tables
    cfg = alembic_config(jw.db)
    command.downgrade(cfg, "0001")
    assert not {"users", "api_tokens", "audit"} & set(inspect(jw.db).get_table_names())
    command.upgrade(cfg, "head")
    assert {"users", "api_tokens", "audit"} <= set(inspect(jw.db).get_table_names())
    assert jw.accounts.add_user("after", "a long password", "staff").id == 1
