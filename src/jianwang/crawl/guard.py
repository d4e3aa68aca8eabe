"""The address guard: which hosts the monitor may connect to.

Every host name is resolved and every address it resolves to is checked; private, loopback,
link-local (cloud metadata at 169.254.169.254 included), multicast, reserved and other
non-global addresses are refused unless a configured network allows them. The fetcher then
connects to the address that was checked (no second lookup a DNS rebinding could change).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..domain import JianwangError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: well-known metadata endpoints, refused even when a configured network would cover them
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254")
)


class Refused(JianwangError):
    """A URL the monitor must not fetch (a forbidden address, scheme or port)."""

    code = "refused"


def parse_networks(text: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """'127.0.0.1/32, 10.1.0.0/16' -> networks; a bad entry is an error naming it."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise JianwangError(f"not an IP network: {item!r}") from None
    return tuple(out)


def _forbidden_kind(ip: IPAddress) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _forbidden_kind(ip.ipv4_mapped)
    if ip in METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Guard:
    allow: tuple[IPNetwork, ...] = ()
    ports: frozenset[int] | None = None  # None: any port
    resolver: Resolver = system_resolver

    def check_ip(self, ip: IPAddress, host: str) -> None:
        if ip in METADATA:
            raise Refused(f"refused {host}: {ip} is a cloud metadata address")
        if any(ip in net for net in self.allow if net.version == ip.version):
            return
        kind = _forbidden_kind(ip)
        if kind:
            raise Refused(f"refused {host}: {ip} is {kind}")

    def resolve(self, host: str, port: int) -> str:
        """The address to connect to for `host`, after checking every address it has."""
        if self.ports is not None and port not in self.ports:
            raise Refused(f"refused {host}:{port}: port not allowed")
        bare = host.strip("[]")
        try:
            literal: IPAddress | None = ipaddress.ip_address(bare)
        except ValueError:
            literal = None
        if literal is not None:
            self.check_ip(literal, host)
            return str(literal)
        try:
            addresses = self.resolver(bare, port)
        except (OSError, UnicodeError) as exc:
            raise Unresolved(f"cannot resolve {host}: {exc}") from None
        if not addresses:
            raise Unresolved(f"cannot resolve {host}: no addresses")
        parsed = [ipaddress.ip_address(a.split("%")[0]) for a in addresses]
        for ip in parsed:  # every address, so a name mixing public and private ones fails
            self.check_ip(ip, host)
        return str(parsed[0])


class Unresolved(JianwangError):
    code = "unresolved"
