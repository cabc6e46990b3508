"""Every request counted, timed and logged, the same way in every service.

`frontdoor_<service>_http_requests_total{route,method,status_class}` and
`frontdoor_<service>_http_request_duration_seconds{route,method}`: the
route is the template the router matched (`/v1/contacts/{contact_id}`), or
`unmatched`, so labels stay bounded whatever path is asked for. Each request
also writes one JSON access-log line: method, route template, status and
duration, with the trace id the formatter adds; never the path itself (it
may hold an id), the query, a header or the client's address. The ops
routes are counted but not logged (a scraper calls them every few seconds).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("frontdoor.access")
QUIET = frozenset({"/healthz", "/readyz", "/metrics"})


def route_of(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._record(scope, status[0], time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        route, method = route_of(scope), str(scope.get("method", ""))
        metrics = getattr(getattr(scope.get("app"), "state", None), "metrics", None)
        if metrics is not None:  # set by the lifespan; a request before it (none in practice) goes uncounted
            metrics.http_requests.labels(route, method, f"{status // 100}xx").inc()
            metrics.http_request_seconds.labels(route, method).observe(seconds)
        if route not in QUIET:
            log.info("request", extra={"method": method, "route": route, "status": status,
                                       "duration_ms": round(seconds * 1000, 1)})
