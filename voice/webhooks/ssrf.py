"""The SSRF guard: a partner URL may only reach public addresses.

The host is resolved and every address it resolves to must be public: not private, loopback,
link-local, multicast, reserved or unspecified, for IPv4 and IPv6 alike (an IPv4-mapped IPv6
address is judged as the IPv4 address it carries). Only ``VOICE_WEBHOOK_ALLOWED_NETWORKS``
(CIDRs or host names, for tests and development) lets others through. The sender connects to
the address checked here, never resolving again, so DNS cannot be re-pointed between the check
and the connection (rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Resolves (host, port) to IP address strings; tests inject their own.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class UrlRefused(ValueError):
    """The URL may not be used for a webhook. The message names the rule, not the address."""


@dataclass(frozen=True)
class Target:
    """Where to connect: the checked address, and the name to present (Host, TLS SNI)."""

    scheme: str
    host: str
    port: int
    address: str
    path: str

    def connect_url(self) -> str:
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


def check_url_form(url: str, *, allow_http: bool) -> tuple[str, str, int, str]:
    """The URL's scheme, host, port and path+query, or ``UrlRefused``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused("the URL is malformed") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UrlRefused("a webhook URL must be https")
    if scheme == "http" and not allow_http:
        raise UrlRefused("a webhook URL must be https outside development")
    if not parts.hostname:
        raise UrlRefused("the URL has no host")
    if parts.username or parts.password:
        raise UrlRefused("the URL may not carry credentials")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80), path


def _effective(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: IPAddress) -> bool:
    address = _effective(address)
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


@dataclass(frozen=True)
class AllowList:
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    hosts: frozenset[str]

    @classmethod
    def parse(cls, entries: Sequence[str]) -> AllowList:
        networks = []
        hosts = set()
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                hosts.add(entry.strip().lower())
        return cls(tuple(networks), frozenset(hosts))

    def admits(self, host: str, address: IPAddress) -> bool:
        if host in self.hosts:
            return True
        candidates = {address, _effective(address)}
        return any(a in n for a in candidates for n in self.networks if a.version == n.version)


async def resolve_target(
    url: str,
    *,
    allow_http: bool,
    allowed: AllowList,
    resolver: Resolver = system_resolver,
) -> Target:
    """Check ``url`` and resolve it to the one address the sender will connect to."""
    scheme, host, port, path = check_url_form(url, allow_http=allow_http)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        found = [str(literal)]
    else:
        try:
            found = await resolver(host, port)
        except OSError as exc:
            raise LookupError("the host name did not resolve") from exc
    if not found:
        raise LookupError("the host name did not resolve")
    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    # Every address must pass, not just the first: a resolver may hand them out in any order.
    for address in addresses:
        if not is_public(address) and not allowed.admits(host, address):
            raise UrlRefused("the URL resolves to a private or reserved address")
    return Target(scheme, host.strip("[]"), port, str(_effective(addresses[0])), path)
