"""A real platform service for tests: a home with the demo data set and accounts, the real
FastAPI app, bearer tokens per role, and signed-in dashboard clients."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.api.server import free_port, start_server, stop_server
from fastapi.testclient import TestClient

from jianwang import Jianwang
from jianwang.demo import load_service_demo
from jianwang.web import create_app

__all__ = ["free_port", "start_server", "stop_server"]

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "src" / "jianwang" / "demo" / "pages"
ROLES = ("admin", "staff", "holder", "other_holder", "operator")
#: demo account behind each test role
ACCOUNT = {
    "admin": "admin",
    "staff": "inspector",
    "holder": "tang",
    "other_holder": "scripture",
    "operator": "novelsite",
}


@dataclass
class Service:
    jw: Jianwang
    client: TestClient
    passwords: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def work_of(self, owner: str) -> str:
        works, _ = self.jw.registry.list_works(owner=owner, limit=1)
        return works[0].id


def open_service(home: Path, database_url: str | None = None) -> Service:
    jw = Jianwang.open(home=home, database_url=database_url)
    creds = load_service_demo(jw)
    passwords = {u: p for u, p, _ in creds}
    svc = Service(jw, TestClient(create_app(jw)), passwords)
    for role, username in ACCOUNT.items():
        user = jw.accounts.find_user(username)
        svc.tokens[role] = jw.accounts.create_token(user.id, f"test {role}")[1]
    return svc


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "no CSRF field in the page"
    return m.group(1)


def dashboard_client(svc: Service, role: str | None) -> tuple[TestClient, str]:
    """A fresh browser-like client, signed in as `role` (None: anonymous), and its CSRF
    token."""
    client = TestClient(svc.client.app, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    if role is not None:
        username = ACCOUNT[role]
        r = client.post(
            "/login",
            data={
                "username": username,
                "password": svc.passwords[username],
                "csrf": token,
                "next": "/",
            },
        )
        assert r.status_code == 303, r.text[:500]
        token = csrf_of(client.get("/").text)
    return client, token
