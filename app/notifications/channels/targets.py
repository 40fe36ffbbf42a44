"""Where webhooks may go: public addresses only, unless the settings allow more (SSRF).

A webhook URL is chosen by an admin but fetched by the server, from inside the network:
without a guard it reaches the cloud metadata service, the database, the admin panel
of anything on localhost. So the host is resolved and every address it resolves to
must be public. This is checked when an endpoint is saved and again before every send,
because DNS answers change; the send then connects to the address that was checked
(the original host still goes in `Host` and in TLS SNI, so certificates are verified as
usual), leaving no window for a second, different answer (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import httpx

from app.config import Settings

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT_SECONDS = 5.0
_NAT64 = IPv6Network("64:ff9b::/96")


class TargetError(Exception):
    """The URL cannot be used as a webhook target; the message says why."""


class TargetRefused(TargetError):
    """The target is not allowed, and will not be until the URL or the settings change."""


class TargetUnresolved(TargetError):
    """The host does not resolve right now (DNS may recover)."""


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """Which non-public targets are allowed anyway (none by default)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()
    allow_private: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> TargetPolicy:
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in settings.webhook_allowed_hosts:
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(_normal_host(entry))
        return cls(frozenset(hosts), tuple(networks), settings.webhook_allow_private_targets)

    def permits_host(self, host: str) -> bool:
        return self.allow_private or _normal_host(host) in self.hosts

    def permits_address(self, address: Address) -> bool:
        return (
            self.allow_private
            or non_public_kind(address) is None
            or any(address in network for network in self.networks)
        )


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send: the URL to connect to, and the original host when it was pinned."""

    url: httpx.URL
    host_header: str | None = None
    sni_hostname: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.host_header is None else {"host": self.host_header}

    @property
    def extensions(self) -> dict[str, str]:
        return {} if self.sni_hostname is None else {"sni_hostname": self.sni_hostname}


def url_problem(url: str) -> str | None:
    """What is wrong with the shape of a webhook URL, or None (no DNS involved)."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        return f"is not a valid URL ({exc})"
    if parsed.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parsed.host:
        return "must name a host"
    if parsed.userinfo:
        return "must not contain credentials; the payload is signed with the endpoint secret"
    if parsed.fragment:
        return "must not contain a #fragment (it is never sent)"
    return None


def non_public_kind(address: Address) -> str | None:
    """Why `address` is not a public internet address ("loopback", ...), or None."""
    if isinstance(address, IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            kind = non_public_kind(embedded)
            if kind is not None or address.ipv4_mapped is not None:
                return kind
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    )
    for kind, applies in checks:
        if applies:
            return kind
    return None if address.is_global else "non-public"


async def vet_target(url: str, policy: TargetPolicy) -> Target:
    """Check that `url` may be sent to now; return where to connect.

    Raises TargetRefused for a URL that is not allowed, TargetUnresolved when its host
    does not resolve.
    """
    problem = url_problem(url)
    if problem is not None:
        raise TargetRefused(f"The URL {problem}.")
    parsed = httpx.URL(url)
    host = parsed.host
    if policy.permits_host(host):
        return Target(parsed)
    literal = _literal_address(host)
    addresses = [literal] if literal is not None else await _resolve(host, parsed.port)
    for address in addresses:
        if not policy.permits_address(address):
            kind = non_public_kind(address)
            via = "" if literal is not None else f" resolves to {address}, which"
            raise TargetRefused(
                f"{host}{via} is a {kind} address; webhooks may only target public "
                "addresses (an operator can allow more with HELPDESK_WEBHOOK_ALLOWED_HOSTS)."
            )
    if literal is not None:
        return Target(parsed)
    pinned = addresses[0]
    return Target(
        parsed.copy_with(host=str(pinned)),
        host_header=parsed.netloc.decode("ascii"),
        sni_hostname=parsed.raw_host.decode("ascii") if parsed.scheme == "https" else None,
    )


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def _resolve(host: str, port: int | None) -> list[Address]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await loop.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        raise TargetUnresolved(f"{host} does not resolve ({exc or 'timed out'}).") from None
    addresses: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # IPv6 link-local answers carry a scope ("fe80::1%eth0"): the address is before it.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetUnresolved(f"{host} does not resolve to any address.")
    return addresses
