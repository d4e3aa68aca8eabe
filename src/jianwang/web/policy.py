"""Every authorisation decision of the service, in one place.

Two layers: `RULES` says which roles may call each route at all (a route missing here is
refused to everyone, and a test fails); the functions below decide per object (a rights
holder's works, an operator's site) and answer 404 where existence must not leak.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..domain import (
    Forbidden,
    Hit,
    Identification,
    NotFound,
    Role,
    Site,
    User,
    Work,
    parse_id,
)

ADMIN = frozenset({Role.ADMIN})
REGULATOR = frozenset({Role.ADMIN, Role.STAFF})
HOLDERS_TOO = frozenset({Role.ADMIN, Role.STAFF, Role.HOLDER})
SIGNED_IN = frozenset(Role)
#: reachable without signing in (sign-in page, static files, the OpenAPI schema)
PUBLIC: frozenset[Role] = frozenset()

#: "METHOD path" → roles allowed to call it (PUBLIC: anyone, signed in or not)
RULES: dict[str, frozenset[Role]] = {
    # ---- API
    "GET /api/v1/me": SIGNED_IN,
    "GET /api/v1/overview": SIGNED_IN,
    "GET /api/v1/works": HOLDERS_TOO,
    "POST /api/v1/works": HOLDERS_TOO,
    "POST /api/v1/imports/works": HOLDERS_TOO,
    "GET /api/v1/works/{work_id}": HOLDERS_TOO,
    "POST /api/v1/works/{work_id}/withdraw": HOLDERS_TOO,
    "GET /api/v1/works/{work_id}/assets": HOLDERS_TOO,
    "GET /api/v1/works/{work_id}/assets/{sha256}": HOLDERS_TOO,
    "GET /api/v1/holders": HOLDERS_TOO,
    "POST /api/v1/holders": REGULATOR,
    "GET /api/v1/sites": SIGNED_IN,
    "POST /api/v1/sites": REGULATOR,
    "POST /api/v1/imports/sites": REGULATOR,
    "GET /api/v1/sites/{site_id}": SIGNED_IN,
    "POST /api/v1/identify": SIGNED_IN,
    "GET /api/v1/users": ADMIN,
    "POST /api/v1/users": ADMIN,
    "PATCH /api/v1/users/{user_id}": ADMIN,
    "GET /api/v1/tokens": SIGNED_IN,
    "POST /api/v1/tokens": SIGNED_IN,
    "DELETE /api/v1/tokens/{token_id}": SIGNED_IN,
    "GET /api/v1/audit": REGULATOR,
    "GET /api/v1/index/stats": REGULATOR,
    "POST /api/v1/index/compact": ADMIN,
    "POST /api/v1/index/rebuild": ADMIN,
    "GET /api/v1/config": ADMIN,
    "GET /api/v1/plans": REGULATOR,
    "GET /api/v1/sites/{site_id}/plan": REGULATOR,
    "PUT /api/v1/sites/{site_id}/plan": REGULATOR,
    "DELETE /api/v1/sites/{site_id}/plan": REGULATOR,
    "POST /api/v1/sites/{site_id}/runs": REGULATOR,
    "GET /api/v1/runs": REGULATOR,
    "POST /api/v1/runs/{run_id}/stop": REGULATOR,
    "GET /api/v1/runs/{run_id}": REGULATOR,
    "GET /api/v1/runs/{run_id}/urls": REGULATOR,
    "GET /api/v1/hits": SIGNED_IN,
    "GET /api/v1/hits/{hit_id}": SIGNED_IN,
    "POST /api/v1/hits/{hit_id}/confirm": REGULATOR,
    "POST /api/v1/hits/{hit_id}/reject": REGULATOR,
    "POST /api/v1/hits/{hit_id}/reopen": REGULATOR,
    "GET /api/v1/captures/{capture_id}": SIGNED_IN,
    "GET /api/v1/captures/{capture_id}/body": SIGNED_IN,
    "GET /api/v1/captures/{capture_id}/screenshot": SIGNED_IN,
    "GET /api/v1/leads": REGULATOR,
    "GET /api/v1/openapi.json": PUBLIC,
    "GET /api/v1/docs": PUBLIC,
    # ---- dashboard
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": SIGNED_IN,
    "GET /lang/{code}": PUBLIC,
    "GET /static": PUBLIC,
    "GET /": SIGNED_IN,
    "GET /works": HOLDERS_TOO,
    "GET /works/new": HOLDERS_TOO,
    "POST /works/new": HOLDERS_TOO,
    "GET /works/{work_id}": HOLDERS_TOO,
    "POST /works/{work_id}/remove": HOLDERS_TOO,
    "GET /sites": SIGNED_IN,
    "GET /sites/{site_id}": SIGNED_IN,
    "GET /identify": SIGNED_IN,
    "POST /identify": SIGNED_IN,
    "GET /monitor": REGULATOR,
    "POST /monitor/{site_id}/run": REGULATOR,
    "GET /runs/{run_id}": REGULATOR,
    "POST /runs/{run_id}/stop": REGULATOR,
    "GET /hits": SIGNED_IN,
    "GET /hits/{hit_id}": SIGNED_IN,
    "POST /hits/{hit_id}/review": REGULATOR,
    "GET /captures/{capture_id}/body": SIGNED_IN,
    "GET /captures/{capture_id}/screenshot": SIGNED_IN,
}


def rule(method: str, path: str) -> frozenset[Role] | None:
    return RULES.get(f"{method} {path}")


def allowed(user: User | None, method: str, path: str) -> bool:
    """Whether `user` (None: not signed in) may call the route at all."""
    roles = rule(method, path)
    if roles is None:
        return False
    if roles is PUBLIC or not roles:
        return True
    return user is not None and user.role in roles


def check_route(user: User, method: str, path: str) -> None:
    if not allowed(user, method, path):
        raise Forbidden(
            f"a {user.role.value} user may not {method} {path}",
            role=user.role.value,
        )


# ---------------------------------------------------------------- objects


def works_owner_scope(user: User) -> str | None:
    """The owner name a user's work lists are limited to (None: every owner)."""
    if user.is_regulator:
        return None
    if user.role == Role.HOLDER and user.holder_name:
        return user.holder_name
    raise Forbidden("only the regulator and rights holders see works")


def check_work(user: User, work: Work) -> Work:
    """A rights holder reaches only their own works; another's is "not found"."""
    if user.is_regulator:
        return work
    if user.role == Role.HOLDER and work.owner == user.holder_name:
        return work
    raise NotFound(f"no work {work.id}", work_id=work.id)


def registering_owner(user: User, requested: str | None) -> str:
    """Whom a new work belongs to: a rights holder registers only for themselves."""
    if user.role == Role.HOLDER:
        if requested and requested.strip() and requested.strip() != user.holder_name:
            raise Forbidden("a rights holder registers works only in its own name")
        return user.holder_name or ""
    if user.is_regulator:
        if not requested or not requested.strip():
            from ..domain import InvalidInput

            raise InvalidInput("owner is required", field="owner")
        return requested
    raise Forbidden("only the regulator and rights holders register works")


def holders_scope(user: User) -> str | None:
    """The holder id a user's holder list is limited to (None: all)."""
    if user.is_regulator:
        return None
    if user.role == Role.HOLDER:
        return user.holder_id
    raise Forbidden("only the regulator and rights holders see rights holders")


def sites_scope(user: User) -> str | None:
    """A site operator sees only its own site (None: every key website)."""
    if user.role == Role.OPERATOR:
        return user.site_id or "S999999"
    return None


def check_site(user: User, site: Site) -> Site:
    scope = sites_scope(user)
    if scope is not None and site.id != scope:
        raise NotFound(f"no site {site.id}", site_id=site.id)
    return site


def visible_matches(user: User, ident: Identification, owners: dict[str, str]) -> Identification:
    """A rights holder is shown matches with its own works only; the regulator and site
    operators (who check uploads against every protected work) see all. `owners`: work id →
    owner name for the matched works."""
    if user.role != Role.HOLDER:
        return ident
    keep = tuple(m for m in ident.matches if owners.get(m.work_id) == user.holder_name)
    return Identification(ident.input, ident.media, keep)


@dataclass(frozen=True)
class HitScope:
    """What a user's hit lists are limited to: the works of one rights holder (`owner_id`,
    the holder's number) or one key website (`site`); `nothing` for a user tied to neither."""

    owner_id: int | None = None
    site: str | None = None
    nothing: bool = False


def hits_scope(user: User) -> HitScope:
    """Monitoring hits: the regulator sees all; a rights holder those of its own works; a
    site operator those found on its own site (read-only: reviewing is the regulator's)."""
    if user.is_regulator:
        return HitScope()
    if user.role == Role.HOLDER:
        if not user.holder_id:
            return HitScope(nothing=True)
        return HitScope(owner_id=parse_id("holder", user.holder_id))
    if user.role == Role.OPERATOR:
        return HitScope(site=user.site_id) if user.site_id else HitScope(nothing=True)
    raise Forbidden("this role sees no monitoring hits")


def check_hit(user: User, hit: Hit) -> Hit:
    """Another holder's hit, or another site's, is "not found" (existence does not leak)."""
    if user.is_regulator:
        return hit
    if user.role == Role.HOLDER and user.holder_name and hit.owner == user.holder_name:
        return hit
    if user.role == Role.OPERATOR and user.site_id and hit.site_id == user.site_id:
        return hit
    raise NotFound(f"no hit {hit.id}", hit_id=hit.id)


def may_see_hit(user: User, hit: Hit) -> bool:
    try:
        check_hit(user, hit)
    except NotFound:
        return False
    return True


def may_manage_token(user: User, token_user_id: int) -> bool:
    return user.role == Role.ADMIN or token_user_id == user.id


def roles_of(rule_roles: Iterable[Role]) -> list[str]:
    return sorted(r.value for r in rule_roles)
