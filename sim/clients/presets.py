"""Client presets: the connection-pool defaults of real HTTP clients and proxies, with their sources.

Each preset is the ``pool`` keys it sets (see ``spec.PoolSpec``); keys it leaves out keep the
PoolSpec default (``null``: no limit). Sources are in the README's Clients section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ClientPreset:
    """A named client: the pool values it sets, what it is, and where the values come from."""

    name: str
    description: str
    values: dict[str, Any] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def fields(self) -> dict[str, Any]:
        """The ``pool`` mapping this preset stands for."""
        return {"preset": self.name, **self.values}


def _registry(*presets: ClientPreset) -> dict[str, ClientPreset]:
    return {p.name: p for p in presets}


CLIENT_PRESETS = _registry(
    ClientPreset(
        "none",
        "no keep-alive: a new connection per request, closed after it by the workload's close side",
        {"keep_alive": False},
    ),
    ClientPreset(
        "go",
        "Go net/http DefaultTransport: 2 idle per host (DefaultMaxIdleConnsPerHost), 100 idle in all, "
        "idle 90 s, no limit on open connections",
        {"max_idle_per_host": 2, "max_idle_total": 100, "idle_timeout": 90.0},
        (
            "golang/go src/net/http/transport.go: DefaultMaxIdleConnsPerHost = 2, DefaultTransport MaxIdleConns 100, "
            "IdleConnTimeout 90 s; MaxConnsPerHost 0 = unlimited; idle connections reused most recent first",
        ),
    ),
    ClientPreset(
        "python-requests",
        "requests.Session (HTTPAdapter): keeps 10 idle per host (pool_maxsize), opens more when busy and "
        "discards them (pool_block=False), no idle timeout",
        {"max_idle_per_host": 10},
        (
            "psf/requests src/requests/adapters.py: DEFAULT_POOLSIZE = 10, DEFAULT_POOLBLOCK = False, "
            "DEFAULT_RETRIES = 0; urllib3 keeps idle connections in a LIFO queue",
        ),
    ),
    ClientPreset(
        "urllib3",
        "urllib3 PoolManager / HTTPConnectionPool: keeps 1 idle per host (maxsize=1), block=False "
        "('Connection pool is full, discarding connection')",
        {"max_idle_per_host": 1},
        ("urllib3 src/urllib3/connectionpool.py: HTTPConnectionPool(maxsize=1, block=False)",),
    ),
    ClientPreset(
        "node",
        "Node.js http.globalAgent since Node 19: keepAlive true, socket timeout 5 s, 256 free sockets, "
        "no limit on sockets, lifo",
        {"max_idle_per_host": 256, "idle_timeout": 5.0},
        (
            "nodejs/node#43522 (globalAgent keepAlive, timeout 5000 ms, Node 19); Node http.Agent docs: "
            "maxFreeSockets 256, maxSockets Infinity, scheduling 'lifo'",
        ),
    ),
    ClientPreset(
        "node-agent",
        "Node.js new http.Agent(): keepAlive false, a connection per request",
        {"keep_alive": False},
        ("Node http.Agent docs: new Agent() defaults keepAlive: false",),
    ),
    ClientPreset(
        "java-httpclient",
        "java.net.http.HttpClient (JDK 20+): no limit on pooled connections, keep-alive 30 s",
        {"idle_timeout": 30.0},
        (
            "openjdk/jdk#11285 (JDK-8297030): jdk.httpclient.keepalive.timeout 1200 s -> 30 s since JDK 20; "
            "jdk.httpclient.connectionPoolSize 0 = unlimited",
        ),
    ),
    ClientPreset(
        "okhttp",
        "OkHttp ConnectionPool: 5 idle connections in all, kept 5 min",
        {"max_idle_total": 5, "idle_timeout": 300.0},
        ("OkHttp docs, ConnectionPool(): maxIdleConnections 5, keepAliveDuration 5 minutes",),
    ),
    ClientPreset(
        "apache-httpclient4",
        "Apache HttpClient 4.x PoolingHttpClientConnectionManager: 2 connections per route, requests wait "
        "for one without a timeout, kept until the server closes them",
        {"max_per_host": 2, "when_full": "wait", "max_idle_per_host": 2},
        (
            "Apache HttpClient 4 ConnPerRouteBean: DEFAULT_MAX_CONNECTIONS_PER_ROUTE = 2 (20 in total, not "
            "modelled across hosts); connection request timeout 0 = wait forever",
        ),
    ),
    ClientPreset(
        "nginx-upstream",
        "nginx proxy_pass without an upstream keepalive: HTTP/1.0 to the upstream, a connection per request",
        {"keep_alive": False},
        (
            "nginx docs, ngx_http_upstream_module keepalive and ngx_http_proxy_module proxy_http_version "
            "(1.0 by default up to 1.29.6); internetarchive/openlibrary#13680",
        ),
    ),
    ClientPreset(
        "nginx-upstream-keepalive",
        "nginx upstream with 'keepalive 32', proxy_http_version 1.1: 32 idle per upstream, "
        "keepalive_requests 1000, keepalive_timeout 60 s, keepalive_time 1 h",
        {"max_idle_per_host": 32, "idle_timeout": 60.0, "max_requests": 1000, "max_lifetime": 3600.0},
        (
            "nginx docs, ngx_http_upstream_module: keepalive_requests 1000 since 1.19.10, keepalive_timeout 60 s, "
            "keepalive_time 1 h; nginx 1.29.7 commit 4fbe4b6 (keep-alive by default to explicit upstreams; "
            "32 cached connections per a third-party reading, unverified)",
        ),
    ),
    ClientPreset(
        "envoy",
        "Envoy cluster defaults: at most 1,024 connections (circuit breaker), requests wait up to the 15 s "
        "route timeout, idle 1 h",
        {"max_per_host": 1024, "when_full": "wait", "wait_timeout": 15.0, "idle_timeout": 3600.0},
        (
            "envoyproxy.io circuit_breaker.proto: max_connections 1024, max_pending_requests 1024; "
            "HTTP protocol options idle_timeout 1 h; route timeout 15 s",
        ),
    ),
)
"""Client presets by name, in the order ``portsim presets --clients`` lists them."""
