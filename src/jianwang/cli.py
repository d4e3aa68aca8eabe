"""`jianwang` command line: a thin layer over `jianwang.Jianwang` (Typer + Rich)."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .app import Jianwang
from .domain import Identification, InvalidInput, JianwangError, MediaType, Site, Work, WorkType
from .services.registry import ImportReport, WorkInput
from .services.sites import SiteInput

app = typer.Typer(
    help="Jianwang: register protected works, recognise copies, and act on them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
works_app = typer.Typer(
    help="Register, list, show and remove protected works.", no_args_is_help=True
)
sites_app = typer.Typer(help="Key websites under supervision.", no_args_is_help=True)
holders_app = typer.Typer(help="Rights holders.", no_args_is_help=True)
index_app = typer.Typer(help="Fingerprint index maintenance.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts of the platform service.", no_args_is_help=True)
tokens_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)
monitor_app = typer.Typer(
    help="Monitor key websites: crawl plans, runs, the schedule, leads.", no_args_is_help=True
)
hits_app = typer.Typer(
    help="Copies the monitor found: list, show, confirm, reject, reopen.", no_args_is_help=True
)
captures_app = typer.Typer(help="Evidence captures: show and verify.", no_args_is_help=True)
app.add_typer(works_app, name="works")
app.add_typer(sites_app, name="sites")
app.add_typer(holders_app, name="holders")
app.add_typer(index_app, name="index")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(monitor_app, name="monitor")
app.add_typer(hits_app, name="hits")
app.add_typer(captures_app, name="captures")

out = Console(soft_wrap=True)
err = Console(stderr=True)


def _error(message: str) -> None:
    """One line on stderr, never wrapped or styled."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


class _State:
    home: Path | None = None


_state = _State()


@app.callback()
def _main(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Data home (default: $JIANWANG_HOME or a per-user directory).",
            show_default=False,
        ),
    ] = None,
) -> None:
    _state.home = home


@contextmanager
def _platform() -> Iterator[Jianwang]:
    jw = Jianwang.open(home=_state.home)
    try:
        yield jw
    finally:
        jw.close()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(_jsonable(value), ensure_ascii=False) + "\n")
    sys.stdout.flush()


@contextmanager
def _resumable() -> Iterator[None]:
    """Ctrl-C ends a resumable command with a hint and exit code 130 (Typer would otherwise
    swallow the interrupt silently)."""
    try:
        yield
    except KeyboardInterrupt:
        err.print("interrupted; re-run the same command to resume", markup=False)
        raise typer.Exit(130) from None


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


# ---------------------------------------------------------------- works


def _work_dict(w: Work) -> dict[str, Any]:
    d = asdict(w)
    d["assets"] = [asdict(a) for a in w.assets]
    return _jsonable(d)


def _parse_pairs(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise InvalidInput(f"identifier {p!r} is not KEY=VALUE")
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@works_app.command("add")
def works_add(
    files: Annotated[list[Path], typer.Argument(help="Reference files of the work.")],
    type: Annotated[
        str,
        typer.Option(
            "--type", help="film, tv, music, literature, game, animation, software or image."
        ),
    ],
    title: Annotated[str, typer.Option("--title")],
    owner: Annotated[str, typer.Option("--owner", help="Rights holder (created if new).")],
    isbn: Annotated[str | None, typer.Option("--isbn")] = None,
    identifier: Annotated[
        list[str] | None, typer.Option("--identifier", "-i", help="Other identifier, KEY=VALUE.")
    ] = None,
    release_date: Annotated[str | None, typer.Option("--release-date", help="YYYY-MM-DD")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a work with its reference files and print its id."""
    ids = _parse_pairs(identifier or [])
    if isbn:
        ids["isbn"] = isbn
    with _platform() as jw, jw.writer():
        work = jw.registry.add_work(WorkInput(files, type, title, owner, ids, release_date))
    from .fingerprint.base import for_media

    for asset in work.assets:
        if asset.media == MediaType.VIDEO and work.type == WorkType.MUSIC:
            err.print(
                f"note: {asset.filename}: a music work is registered by its sound; the "
                "pictures are stored but not fingerprinted",
                markup=False,
                highlight=False,
            )
        elif not for_media(asset.media):
            err.print(
                f"note: {asset.filename} is stored, but no identification method reads "
                f"{asset.media.value} yet, so identify will not find copies of it",
                markup=False,
                highlight=False,
            )
    if as_json:
        _print_json(_work_dict(work))
    else:
        out.print(work.id)


@works_app.command("list")
def works_list(
    type: Annotated[str | None, typer.Option("--type")] = None,
    owner: Annotated[str | None, typer.Option("--owner")] = None,
    status: Annotated[str, typer.Option("--status", help="active, removed or all")] = "active",
    search: Annotated[str | None, typer.Option("--search", help="Title contains.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    sort: Annotated[
        str,
        typer.Option(
            "--sort", help="id, title, type, created, release_date; prefix - for descending"
        ),
    ] = "id",
    as_json: JsonOpt = False,
) -> None:
    """List registered works."""
    with _platform() as jw:
        works, total = jw.registry.list_works(type, owner, status, search, limit, offset, sort)
    if as_json:
        _print_json({"total": total, "items": [_work_dict(w) for w in works]})
        return
    table = Table(title=f"{len(works)} of {total} works")
    for col in ("id", "type", "title", "owner", "release", "files", "status"):
        table.add_column(col)
    for w in works:
        table.add_row(
            w.id,
            w.type.value,
            w.title,
            w.owner,
            str(w.release_date or ""),
            str(len(w.assets)),
            w.status.value,
        )
    out.print(table)


@works_app.command("show")
def works_show(work_id: str, as_json: JsonOpt = False) -> None:
    """Show one work and its reference files."""
    with _platform() as jw:
        w = jw.registry.get_work(work_id)
    if as_json:
        _print_json(_work_dict(w))
        return
    out.print(f"[bold]{w.id}[/] {w.title} ({w.type.value}, {w.status.value})")
    out.print(f"owner: {w.owner}")
    if w.release_date:
        out.print(f"released: {w.release_date}")
    for k, v in w.identifiers.items():
        out.print(f"{k}: {v}")
    for a in w.assets:
        out.print(f"  {a.filename}  {a.media.value}  {a.size} B  sha256:{a.sha256}")


@works_app.command("remove")
def works_remove(work_id: str, as_json: JsonOpt = False) -> None:
    """Withdraw a work: identification never returns it again (the record is kept)."""
    with _platform() as jw, jw.writer():
        w = jw.registry.remove_work(work_id)
    if as_json:
        _print_json(_work_dict(w))
    else:
        out.print(f"removed {w.id} {w.title}")


def _report(report: ImportReport, as_json: bool, noun: str) -> None:
    if as_json:
        _print_json(report.to_json())
    else:
        out.print(
            f"{len(report.added)} {noun} added, {len(report.skipped)} already there, "
            f"{len(report.failed)} failed"
        )
        for line, msg in report.failed:
            err.print(f"line {line}: {msg}", markup=False, highlight=False)
    if report.failed:
        raise typer.Exit(1)


@works_app.command("import")
def works_import(
    manifest: Annotated[
        Path, typer.Argument(help="CSV: file,type,title,owner[,release_date,isbn,…]")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Register works in bulk. Re-running skips what is already registered (resumable)."""
    with _resumable(), _platform() as jw, jw.writer(), _progress("importing works") as progress:
        report = jw.registry.import_manifest(manifest, progress)
    _report(report, as_json, "works")


# ---------------------------------------------------------------- sites


def _site_dict(s: Site) -> dict[str, Any]:
    return _jsonable(asdict(s))


@sites_app.command("add")
def sites_add(
    name: Annotated[str, typer.Option("--name")],
    domain: Annotated[list[str], typer.Option("--domain", help="Repeat for several domains.")],
    category: Annotated[
        str,
        typer.Option(
            "--category", help="video, music, literature, network-disk, game, software or other"
        ),
    ],
    tier: Annotated[str, typer.Option("--tier", help="national or provincial")] = "national",
    province: Annotated[str | None, typer.Option("--province")] = None,
    contact: Annotated[str | None, typer.Option("--contact")] = None,
    channel: Annotated[
        str | None,
        typer.Option("--channel", help="Notice channel (e-mail, URL of a complaint form, …)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a key website under supervision."""
    with _platform() as jw:
        site = jw.sites.add(SiteInput(name, domain, category, tier, province, contact, channel))
    if as_json:
        _print_json(_site_dict(site))
    else:
        out.print(site.id)


@sites_app.command("list")
def sites_list(
    category: Annotated[str | None, typer.Option("--category")] = None,
    tier: Annotated[str | None, typer.Option("--tier")] = None,
    province: Annotated[str | None, typer.Option("--province")] = None,
    search: Annotated[str | None, typer.Option("--search")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List key websites."""
    with _platform() as jw:
        sites, total = jw.sites.list(category, tier, province, search, limit, offset)
    if as_json:
        _print_json({"total": total, "items": [_site_dict(s) for s in sites]})
        return
    table = Table(title=f"{len(sites)} of {total} sites")
    for col in ("id", "name", "domains", "category", "tier", "province", "channel"):
        table.add_column(col)
    for s in sites:
        table.add_row(
            s.id,
            s.name,
            " ".join(s.domains),
            s.category.value,
            s.tier.value,
            s.province or "",
            s.notice_channel or "",
        )
    out.print(table)


@sites_app.command("show")
def sites_show(site_id: str, as_json: JsonOpt = False) -> None:
    """Show one key website."""
    with _platform() as jw:
        s = jw.sites.get(site_id)
    if as_json:
        _print_json(_site_dict(s))
    else:
        for k, v in _site_dict(s).items():
            out.print(f"{k}: {v}")


@sites_app.command("import")
def sites_import(
    csv_file: Annotated[
        Path,
        typer.Argument(help="CSV: name,domains,category,tier[,province,contact,notice_channel]"),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Register key websites in bulk; sites already registered (by name) are skipped."""
    with _platform() as jw, _progress("importing sites") as progress:
        report = jw.sites.import_csv(csv_file, progress)
    _report(report, as_json, "sites")


@holders_app.command("list")
def holders_list(as_json: JsonOpt = False) -> None:
    """List rights holders."""
    with _platform() as jw:
        holders = jw.registry.holders()
    if as_json:
        _print_json({"total": len(holders), "items": [asdict(h) for h in holders]})
        return
    for h in holders:
        out.print(f"{h.id}  {h.name}")


# ---------------------------------------------------------------- identify


def _read_input(name: str, limit: int) -> bytes:
    if name == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        path = Path(name)
        try:
            if path.is_dir():
                raise InvalidInput(f"{name}: is a directory")
            size = path.stat().st_size
            if size > limit:
                raise InvalidInput(
                    f"{name}: {size / 1e6:.1f} MB is over the limit of {limit / 1e6:.1f} MB "
                    "(JIANWANG_MAX_INPUT_BYTES)"
                )
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"{name}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InvalidInput(f"{name}: over the limit of {limit / 1e6:.1f} MB")
    return data


def _identify(jw: Jianwang, name: str) -> Identification:
    """Files by path (an archive is unpacked as it is read); standard input by its bytes."""
    if name == "-":
        return jw.identify(_read_input(name, jw.settings.max_input_bytes), name)
    path = Path(name)
    try:
        if path.is_dir():
            raise InvalidInput(f"{name}: is a directory")
        return jw.identify_path(path, name)
    except OSError as exc:
        raise InvalidInput(f"{name}: {exc.strerror or exc}") from None


def _print_identification(ident: Identification) -> None:
    if not ident.matches:
        out.print(f"{ident.input}: no match ({ident.media.value})")
        return
    timed = ident.media in (MediaType.AUDIO, MediaType.VIDEO)
    for m in ident.matches:
        unit = _clock if timed else _chars
        spans = ", ".join(
            f"{unit(s.query[0])}–{unit(s.query[1])} ~ {unit(s.reference[0])}–{unit(s.reference[1])}"
            for s in m.segments[:4]
        )
        more = f" (+{len(m.segments) - 4} more)" if len(m.segments) > 4 else ""
        color = "red" if m.verdict.value == "match" else "yellow"
        change = ""
        if "speed" in m.evidence and "pitch" in m.evidence:
            change = (
                f"; speed x{m.evidence['speed']:.3f}, pitch x{m.evidence['pitch']:.3f}"
                f" ({12 * math.log2(max(m.evidence['pitch'], 1e-6)):+.1f} semitones)"
            )
        elif "speed" in m.evidence:
            change = f"; speed x{m.evidence['speed']:.3f}"
        if m.evidence.get("mirrored"):
            change += "; mirrored"
        if "+" in m.method:
            change += f"; found by {m.method.replace('+', ' and ')}"
        if ident.media == MediaType.IMAGE and m.segments:
            spans = f"still at {_clock(m.segments[0].reference[0])} of the work"
        elif not m.segments and m.method.startswith("file"):
            spans = _file_evidence(m.evidence)
        elif not m.segments:
            spans = "the whole picture"
        if m.member is not None:
            change += f"; in {m.member}"
        out.print(
            f"{ident.input}: [{color}]{m.verdict.value}[/] {m.work_id} {m.title!r} "
            f"score {m.score:.2f}; copy ~ work: {spans}{more}{change}"
        )


def _file_evidence(ev: dict[str, float]) -> str:
    if ev.get("exact"):
        parts = ["identical file"]
    else:
        parts = [f"{ev.get('coverage', 0.0):.0%} of its chunks"]
        if "tlsh" in ev:
            parts.append(f"TLSH distance {ev['tlsh']:g}")
        if "section_tlsh" in ev:
            parts.append(f"code TLSH distance {ev['section_tlsh']:g}")
        if "rebuild" in ev:
            parts.append(f"rebuild similarity {ev['rebuild']:.2f}")
    if "files" in ev:
        share = f" ({ev['share']:.0%} of its files)" if "share" in ev else ""
        parts.append(f"{ev['files']:g} files found{share}")
    return ", ".join(parts)


def _chars(x: float) -> str:
    return f"{x:g}"


def _clock(seconds: float) -> str:
    """Seconds as m:ss.s (h:mm:ss.s from an hour)."""
    m, s = divmod(max(seconds, 0.0), 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m}:{s:04.1f}"


@app.command()
def identify(
    inputs: Annotated[list[str], typer.Argument(help="Files, or - for standard input.")],
    as_json: JsonOpt = False,
) -> None:
    """Is this a copy of a registered work? Which one, and which parts?

    With --json: one JSON object per input per line. Exit code 0 whether or not anything
    matched; 1 if any input could not be read or decoded (one line on stderr each)."""
    failed = 0
    with _platform() as jw:
        for name in inputs:
            try:
                ident = _identify(jw, name)
            except JianwangError as exc:
                msg = exc.message if exc.message.startswith(name) else f"{name}: {exc.message}"
                _error(msg)
                failed += 1
                continue
            if as_json:
                _print_json(ident.to_json())
            else:
                _print_identification(ident)
    if failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------- index and misc


@index_app.command("stats")
def index_stats(as_json: JsonOpt = False) -> None:
    """Entries, segments and bytes of each method's index."""
    from .fingerprint.base import methods

    with _platform() as jw:
        stats = {
            f"{m.name}-v{m.version}": jw.indexes.for_method(m).stats() for m in methods().values()
        }
    if as_json:
        _print_json(stats)
    else:
        for k, v in stats.items():
            out.print(f"{k}: " + ", ".join(f"{a} {b}" for a, b in v.items()))


@index_app.command("compact")
def index_compact() -> None:
    """Merge segments and purge removed works from the index files."""
    from .fingerprint.base import methods

    with _platform() as jw, jw.writer():
        for m in methods().values():
            index = jw.indexes.for_method(m)
            with index.writing():
                index.compact()
    out.print("compacted")


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Re-fingerprint every registered asset with the current method versions."""
    with _platform() as jw, jw.writer():
        n = jw.registry.rebuild_index()
    out.print(f"{n} reference documents indexed")


@app.command("config")
def config_show(as_json: JsonOpt = False) -> None:
    """Every setting, its environment variable, default and current value."""
    from .config import Settings, describe

    current = Settings.from_env(_state.home)
    rows = [
        (var, default, str(getattr(current, var[len("JIANWANG_") :].lower())), doc)
        for var, default, doc in describe()
    ]
    if as_json:
        _print_json(
            [dict(zip(("variable", "default", "value", "meaning"), r, strict=True)) for r in rows]
        )
        return
    for var, default, value, doc in rows:
        out.print(f"{var}={value}  (default {default}) — {doc}", markup=False)


@app.command()
def demo(
    as_json: JsonOpt = False,
) -> None:
    """Register the bundled real corpus and identify the bundled pirate pages against it."""
    from .demo import run_demo

    with _platform() as jw, jw.writer():
        run_demo(jw, out, as_json)


# ---------------------------------------------------------------- service, users, tokens


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    with_demo: Annotated[
        bool,
        typer.Option(
            "--demo/--empty",
            help="--demo loads the demonstration data set and accounts into an empty home.",
        ),
    ] = False,
) -> None:
    """Run the platform service: the REST API under /api/v1 and the dashboard (uvicorn)."""
    import uvicorn

    from .web import create_app

    jw = Jianwang.open(home=_state.home)
    try:
        if with_demo:
            from .demo import DEMO_ACCOUNTS_FILE, load_service_demo

            with jw.writer():
                credentials = load_service_demo(jw)
            out.print(
                f"demo data in {jw.settings.home} (sign-ins also in "
                f"{jw.settings.home / DEMO_ACCOUNTS_FILE})",
                markup=False,
            )
            for username, password, role in credentials:
                out.print(f"  sign in as {username} / {password}  ({role})", markup=False)
        elif not jw.accounts.has_users():
            out.print(
                "no accounts yet: add the first administrator with "
                "`jianwang users add NAME --role admin`",
                markup=False,
            )
        shown = f"[{host}]" if ":" in host else host
        out.print(
            f"Jianwang is at http://{shown}:{port}/  (API: http://{shown}:{port}/api/v1/docs)"
        )
        uvicorn.run(create_app(jw), host=host, port=port, log_level="warning")
    finally:
        jw.close()


def _user_dict(u: Any) -> dict[str, Any]:
    return _jsonable(asdict(u))


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option("--role", help="admin, staff, holder or operator")],
    holder: Annotated[
        str | None, typer.Option("--holder", help="holder users: rights holder id or name")
    ] = None,
    site: Annotated[str | None, typer.Option("--site", help="operator users: site id")] = None,
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a user (prompts for the password unless --password-stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _platform() as jw:
        user = jw.accounts.add_user(username, password, role, holder, site, name, via="cli")
    if as_json:
        _print_json(_user_dict(user))
    else:
        out.print(f"{user.id} {user.username} ({user.role.value})", markup=False)


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """List users."""
    with _platform() as jw:
        users, total = jw.accounts.list_users(limit=10000)
    if as_json:
        _print_json({"total": total, "items": [_user_dict(u) for u in users]})
        return
    table = Table(title=f"{total} users")
    for col in ("id", "username", "role", "organisation", "active"):
        table.add_column(col)
    for u in users:
        org = u.holder_name or u.site_name or ""
        table.add_row(str(u.id), u.username, u.role.value, org, "yes" if u.active else "no")
    out.print(table)


@users_app.command("disable")
def users_disable(username: str, as_json: JsonOpt = False) -> None:
    """Disable a user: sign-in, sessions and API tokens stop working at once."""
    with _platform() as jw:
        user = jw.accounts.set_active(jw.accounts.find_user(username).id, False, via="cli")
    if as_json:
        _print_json(_user_dict(user))
    else:
        out.print(f"disabled {user.username}", markup=False)


@tokens_app.command("create")
def tokens_create(
    username: str,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create an API bearer token for a user; the token is printed once."""
    with _platform() as jw:
        token, secret = jw.accounts.create_token(
            jw.accounts.find_user(username).id, name, via="cli"
        )
    if as_json:
        _print_json({**_jsonable(asdict(token)), "token": secret})
    else:
        out.print(secret, markup=False)
        err.print(f"token {token.id} for {token.username}; it is not shown again", markup=False)


@tokens_app.command("list")
def tokens_list(as_json: JsonOpt = False) -> None:
    """List active API tokens (never the secrets)."""
    with _platform() as jw:
        tokens, total = jw.accounts.list_tokens(limit=10000)
    if as_json:
        _print_json({"total": total, "items": [_jsonable(asdict(t)) for t in tokens]})
        return
    for t in tokens:
        out.print(f"{t.id}  {t.username}  {t.prefix}…  {t.name}", markup=False)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke an API token by its id."""
    with _platform() as jw:
        token = jw.accounts.revoke_token(token_id, via="cli")
    out.print(f"revoked token {token.id} of {token.username}", markup=False)


# ---------------------------------------------------------------- monitoring


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _plan_dict(p: Any) -> dict[str, Any]:
    return _jsonable(asdict(p))


def _print_plan(p: Any) -> None:
    for k, v in _plan_dict(p).items():
        if isinstance(v, list):
            v = "\n  ".join(["", *v]) if v else "-"
        out.print(f"{k}: {v}", markup=False, highlight=False)


@monitor_app.command("plan")
def monitor_plan(
    site: Annotated[str, typer.Argument(help="Site id (S000001) or name.")],
    seed: Annotated[list[str] | None, typer.Option("--seed", help="Start URL; repeat.")] = None,
    sitemap: Annotated[
        list[str] | None, typer.Option("--sitemap", help="Sitemap URL; repeat.")
    ] = None,
    search: Annotated[
        list[str] | None,
        typer.Option(
            "--search",
            help="Search URL template with {title}, filled with protected works' titles; repeat.",
        ),
    ] = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="Regex a followed page must match.")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Regex of URLs never fetched.")
    ] = None,
    max_depth: Annotated[int | None, typer.Option("--max-depth", min=0, max=50)] = None,
    max_pages: Annotated[
        int | None, typer.Option("--max-pages", min=1, help="Page budget of one run.")
    ] = None,
    recrawl: Annotated[
        int | None, typer.Option("--recrawl", min=1, help="Minutes between runs (schedule).")
    ] = None,
    delay: Annotated[
        float | None,
        typer.Option(
            "--delay",
            min=0,
            help="Seconds between requests to one host (robots.txt's "
            "Crawl-delay wins when longer).",
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, max=16, help="Requests at once per host.")
    ] = None,
    user_agent: Annotated[str | None, typer.Option("--user-agent")] = None,
    robots: Annotated[
        bool | None,
        typer.Option("--obey-robots/--ignore-robots", help="Obey robots.txt (the default)."),
    ] = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a site's crawl plan, or create/change it with the options given (a repeated option
    replaces that whole list)."""
    changes = {
        "seeds": seed,
        "sitemaps": sitemap,
        "search_templates": search,
        "include": include,
        "exclude": exclude,
        "max_depth": max_depth,
        "max_pages": max_pages,
        "recrawl_minutes": recrawl,
        "crawl_delay": delay,
        "concurrency": concurrency,
        "user_agent": user_agent,
        "obey_robots": robots,
        "enabled": enabled,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    with _platform() as jw:
        site_id = jw.sites.get(site).id
        if changes:
            plan = jw.monitor.set_plan(site_id, **changes)
            jw.accounts.record(None, "cli", "plan.set", site_id, _jsonable(changes))
        else:
            plan = jw.monitor.get_plan(site_id)
    if as_json:
        _print_json(_plan_dict(plan))
    else:
        _print_plan(plan)


@monitor_app.command("plans")
def monitor_plans(as_json: JsonOpt = False) -> None:
    """List crawl plans with their last and next runs."""
    with _platform() as jw:
        plans = jw.monitor.list_plans()
    if as_json:
        _print_json([_plan_dict(p) for p in plans])
        return
    table = Table(title=f"{len(plans)} crawl plans")
    for col in (
        "site",
        "name",
        "seeds",
        "pages",
        "depth",
        "delay",
        "per host",
        "enabled",
        "last run",
        "next due",
    ):
        table.add_column(col)
    for p in plans:
        table.add_row(
            p.site_id,
            p.site_name,
            str(len(p.seeds) + len(p.sitemaps) + len(p.search_templates)),
            str(p.max_pages),
            str(p.max_depth),
            f"{p.crawl_delay:g} s",
            str(p.concurrency),
            "yes" if p.enabled else "no",
            p.last_run_at.strftime("%Y-%m-%d %H:%M") if p.last_run_at else "-",
            p.next_due_at.strftime("%Y-%m-%d %H:%M") if p.next_due_at else "-",
        )
    out.print(table)


@contextmanager
def _run_progress(quiet: bool) -> Iterator[Callable[[Any], None]]:
    from rich.progress import TimeElapsedColumn

    if quiet:
        yield lambda p: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} pages"),
        TextColumn("{task.fields[bytes]}"),
        TextColumn("[green]{task.fields[hits]} hits"),
        TextColumn("{task.fields[leads]} leads"),
        TextColumn("[red]{task.fields[errors]} errors"),
        TextColumn("{task.fields[skipped]} skipped"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(p: Any) -> None:
            if p.run_id not in tasks:
                tasks[p.run_id] = bar.add_task(
                    f"{p.site} ({p.run_id})",
                    total=None,
                    bytes="",
                    hits=0,
                    leads=0,
                    errors=0,
                    skipped=0,
                )
            bar.update(
                tasks[p.run_id],
                completed=p.pages,
                bytes=_human_bytes(p.fetched_bytes),
                hits=p.hits,
                leads=p.leads,
                errors=p.errors,
                skipped=p.skipped,
            )

        yield update


def _run_dict(r: Any) -> dict[str, Any]:
    return _jsonable(asdict(r))


def _print_run_summary(r: Any) -> None:
    secs = ((r.finished_at or datetime.now(r.started_at.tzinfo)) - r.started_at).total_seconds()
    out.print(
        f"{r.id} {r.site_name} ({r.site_id}): {r.state.value}, {r.pages} pages, "
        f"{_human_bytes(r.fetched_bytes)}, {r.hits} new hits, {r.leads} new leads, "
        f"{r.errors} errors, {r.skipped} skipped, {r.queued} queued, {_clock(secs)}"
        + (f", resumed {r.resumed}×" if r.resumed else ""),
        markup=False,
        highlight=False,
    )
    counts = r.summary.get("counts", {})
    examples = r.summary.get("examples", {})
    for key in sorted(counts):
        if key.startswith(("error.", "skipped.")):
            sample = examples.get(key, [""])[0]
            out.print(f"  {key}: {counts[key]}  e.g. {sample}", markup=False, highlight=False)
    if r.summary.get("message"):
        out.print(f"  {r.summary['message']}", markup=False, highlight=False)


@monitor_app.command("run")
def monitor_run(
    site: Annotated[
        str | None, typer.Option("--site", help="Only this site (default: every enabled plan).")
    ] = None,
    max_pages: Annotated[
        int | None, typer.Option("--max-pages", min=1, help="Page budget of this run.")
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start over instead of resuming an unfinished run.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Crawl key websites now: fetch, capture, identify, record hits. An interrupted run
    (Ctrl-C, a crash, the page budget) is resumed by running the same command again."""
    failed = 0
    runs = []
    with _resumable(), _platform() as jw:
        sites = (
            [jw.sites.get(site).id]
            if site
            else [p.site_id for p in jw.monitor.list_plans() if p.enabled]
        )
        if not sites:
            raise InvalidInput("no enabled crawl plans: add one with `jianwang monitor plan`")
        with _run_progress(as_json) as progress:
            for sid in sites:
                try:
                    runs.append(
                        jw.monitor.run(sid, max_pages=max_pages, progress=progress, fresh=fresh)
                    )
                except JianwangError as exc:
                    if site:
                        raise
                    failed += 1
                    _error(f"{sid}: {exc.message}")
    if as_json:
        _print_json([_run_dict(r) for r in runs])
    else:
        for r in runs:
            _print_run_summary(r)
    if failed:
        raise typer.Exit(1)


@monitor_app.command("runs")
def monitor_runs(
    site: Annotated[str | None, typer.Option("--site")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Recent runs, newest first."""
    with _platform() as jw:
        runs = jw.monitor.runs(site, limit)
    if as_json:
        _print_json([_run_dict(r) for r in runs])
        return
    table = Table(title=f"{len(runs)} runs")
    for col in (
        "run",
        "site",
        "state",
        "started",
        "pages",
        "bytes",
        "hits",
        "leads",
        "errors",
        "skipped",
        "queued",
    ):
        table.add_column(col)
    for r in runs:
        table.add_row(
            r.id,
            r.site_name,
            r.state.value,
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            str(r.pages),
            _human_bytes(r.fetched_bytes),
            str(r.hits),
            str(r.leads),
            str(r.errors),
            str(r.skipped),
            str(r.queued),
        )
    out.print(table)


@monitor_app.command("show")
def monitor_show(
    run_id: str,
    state: Annotated[
        str | None,
        typer.Option(
            "--urls",
            help="Also list the run's URLs in this state: failed, skipped, queued or done.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """One run: its counters, errors and skips by kind, and optionally its URLs."""
    with _platform() as jw:
        r = jw.monitor.get_run(run_id)
        urls = jw.monitor.run_urls(run_id, state, limit=1000) if state else []
    if as_json:
        _print_json({**_run_dict(r), "urls": urls} if state else _run_dict(r))
        return
    _print_run_summary(r)
    for u in urls:
        out.print(
            f"  {u['state']:8} {u['status'] or '-':>4} {u['kind']:8} {u['url']}"
            + (f"  ({u['error']})" if u["error"] else ""),
            markup=False,
            highlight=False,
        )


@monitor_app.command("schedule")
def monitor_schedule(
    once: Annotated[bool, typer.Option("--once", help="Run what is due now, then stop.")] = False,
    poll: Annotated[
        int, typer.Option("--poll", min=1, help="Seconds between looks at the schedule.")
    ] = 60,
) -> None:
    """Run due plans on their recrawl intervals until stopped (Ctrl-C stops after the current
    URL; an unfinished run resumes next time). One site's failure never stops the others."""
    import threading
    import time as _time

    stop = threading.Event()
    with _platform() as jw:

        def failed(plan: Any, exc: Exception) -> None:
            _error(f"{plan.site_id} {plan.site_name}: {exc}")

        try:
            while not stop.is_set():
                with _run_progress(False) as progress:
                    runs = jw.monitor.run_due(progress=progress, stop=stop, on_error=failed)
                for r in runs:
                    _print_run_summary(r)
                if once:
                    break
                _time.sleep(poll)
        except KeyboardInterrupt:
            err.print("schedule stopped; unfinished runs resume next time")


@monitor_app.command("leads")
def monitor_leads(
    site: Annotated[str | None, typer.Option("--site")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Network-disk share links (with extraction codes) seen on key websites."""
    with _platform() as jw:
        leads = jw.monitor.leads(site)
    if as_json:
        _print_json([_jsonable(asdict(x)) for x in leads])
        return
    table = Table(title=f"{len(leads)} leads")
    for col in ("site", "provider", "link", "code", "page", "capture"):
        table.add_column(col)
    for x in leads:
        table.add_row(x.site_id, x.provider, x.url, x.code or "-", x.page_url, x.capture_id)
    out.print(table)


def _hit_dict(h: Any) -> dict[str, Any]:
    return _jsonable(asdict(h))


@hits_app.command("list")
def hits_list(
    state: Annotated[str | None, typer.Option("--state", help="new, confirmed or rejected")] = None,
    site: Annotated[str | None, typer.Option("--site")] = None,
    work: Annotated[str | None, typer.Option("--work")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Hits, newest first."""
    if state and state not in ("new", "confirmed", "rejected"):
        raise InvalidInput(f"unknown state {state!r}: new, confirmed or rejected")
    with _platform() as jw:
        hits = jw.monitor.hits(state, site, work, limit=limit, offset=offset)
        total = jw.monitor.count_hits(state, site, work)
    if as_json:
        _print_json({"total": total, "items": [_hit_dict(h) for h in hits]})
        return
    table = Table(title=f"{len(hits)} of {total} hits")
    for col in ("hit", "state", "work", "site", "media", "score", "url", "seen", "flags"):
        table.add_column(col)
    for h in hits:
        flags = " ".join(
            f for f, on in (("re-upload", h.reupload), ("removed", h.removed_at)) if on
        )
        table.add_row(
            h.id,
            h.state.value,
            f"{h.work_id} {h.title}",
            h.site_name or "-",
            h.media,
            f"{h.score:.2f}",
            h.url,
            str(h.seen_count),
            flags,
        )
    out.print(table)


def _print_hit(h: Any, cap: Any) -> None:
    out.print(f"{h.id}  {h.state.value}" + ("  RE-UPLOAD" if h.reupload else ""), markup=False)
    rows = [
        ("work", f"{h.work_id} {h.title} ({h.owner})"),
        ("site", f"{h.site_id} {h.site_name}"),
        ("url", h.url),
        ("found on", h.found_on or "-"),
        ("media", h.media + (f" (member {h.member})" if h.member else "")),
        ("score", f"{h.score:.3f} ({h.verdict}, {h.method})"),
        ("first seen", h.first_seen_at.isoformat()),
        ("last seen", f"{h.last_seen_at.isoformat()} ({h.seen_count}×)"),
        ("removed", h.removed_at.isoformat() if h.removed_at else "-"),
        ("reviewed", f"{h.reviewer}: {h.reason or ''}" if h.reviewer else "-"),
    ]
    for g in h.segments:
        unit = "chars" if h.media == "text" else "s"
        rows.append(
            (
                "segment",
                f"copy {g.query[0]:g}–{g.query[1]:g} {unit} ↔ work "
                f"{g.reference[0]:g}–{g.reference[1]:g} {unit}",
            )
        )
    rows += [
        ("capture", f"{cap.id} at {cap.fetched_at.isoformat()} from {cap.ip}, HTTP {cap.status}"),
        ("final url", cap.final_url),
        (
            "body",
            f"{cap.body_size} bytes, SHA-256 {cap.body_sha256}"
            + (" (first part)" if cap.truncated else ""),
        ),
        ("screenshot", cap.screenshot_sha256 or "-"),
    ]
    for hop in cap.redirects:
        rows.append(("redirect", f"{hop.get('status')} {hop.get('url')} → {hop.get('location')}"))
    for k, v in rows:
        out.print(f"{k:>10}: {v}", markup=False, highlight=False)
    for e in h.events:
        out.print(
            f"{'event':>10}: {e.at.isoformat()} {e.actor} {e.action}"
            + (f" ({e.reason})" if e.reason else ""),
            markup=False,
            highlight=False,
        )


@hits_app.command("show")
def hits_show(hit_id: str, as_json: JsonOpt = False) -> None:
    """One hit with its evidence capture and history."""
    with _platform() as jw:
        h = jw.monitor.get_hit(hit_id)
        cap = jw.monitor.get_capture(h.last_capture_id)
    if as_json:
        _print_json({**_hit_dict(h), "capture": _jsonable(asdict(cap))})
    else:
        _print_hit(h, cap)


def _reviewer(by: str | None) -> str:
    import getpass

    if by:
        return by
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _review(hit_id: str, action: str, reason: str | None, by: str | None, as_json: bool) -> None:
    with _platform() as jw:
        who = _reviewer(by)
        h = jw.monitor.review(hit_id, action, who, reason)
        jw.accounts.record(
            None, "cli", f"hit.{action}", h.id, {"reviewer": who, "reason": reason or ""}
        )
    if as_json:
        _print_json(_hit_dict(h))
    else:
        out.print(f"{h.id} {h.state.value}", markup=False)


ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why (kept with the hit).")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Reviewer name (default: cli:<user>).")]


@hits_app.command("confirm")
def hits_confirm(
    hit_id: str, reason: ReasonOpt = None, by: ByOpt = None, as_json: JsonOpt = False
) -> None:
    """Confirm a hit: it is a copy of the work."""
    _review(hit_id, "confirm", reason, by, as_json)


@hits_app.command("reject")
def hits_reject(
    hit_id: str,
    reason: Annotated[str, typer.Option("--reason")],
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject a hit (needs a reason: licensed, quotation, wrong match, …)."""
    _review(hit_id, "reject", reason, by, as_json)


@hits_app.command("reopen")
def hits_reopen(hit_id: str, by: ByOpt = None, as_json: JsonOpt = False) -> None:
    """Send a reviewed hit back to `new`."""
    _review(hit_id, "reopen", None, by, as_json)


@captures_app.command("show")
def captures_show(capture_id: str, as_json: JsonOpt = False) -> None:
    """An evidence capture: URL, redirects, time, IP, status, headers, body hash."""
    with _platform() as jw:
        cap = jw.monitor.get_capture(capture_id)
        ok = jw.monitor.verify_capture(capture_id)
    if as_json:
        _print_json({**_jsonable(asdict(cap)), "verified": ok})
        return
    for k, v in _jsonable(asdict(cap)).items():
        if k == "headers":
            for name, value in v:
                out.print(f"  {name}: {value}", markup=False, highlight=False)
            continue
        out.print(f"{k}: {v}", markup=False, highlight=False)
    out.print(f"verified: {'yes' if ok else 'NO - the stored body does not match its hash'}")


@captures_app.command("verify")
def captures_verify(capture_id: str) -> None:
    """Check that a capture's stored body still has its recorded SHA-256 (exit 1 if not)."""
    with _platform() as jw:
        ok = jw.monitor.verify_capture(capture_id)
        cap = jw.monitor.get_capture(capture_id)
    if not ok:
        raise InvalidInput(f"capture {cap.id}: the stored body does not match {cap.body_sha256}")
    out.print(f"{cap.id}: body matches SHA-256 {cap.body_sha256}", markup=False)


def main() -> None:
    """Entry point: user errors end as one line on stderr and exit code 1."""
    try:
        app(prog_name="jianwang")
    except JianwangError as exc:
        _error(exc.message)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted; re-run the same command to resume")
        sys.exit(130)
    except Exception as exc:  # the last line of defence for a CLI
        if os.environ.get("JIANWANG_DEBUG"):
            raise
        err.print(
            f"internal error: {type(exc).__name__}: {exc} (set JIANWANG_DEBUG=1 for the traceback)",
            markup=False,
            highlight=False,
        )
        sys.exit(70)


if __name__ == "__main__":
    main()
