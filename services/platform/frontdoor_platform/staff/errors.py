"""Error pages under a `StaffPages` prefix: where the app answers there
with a problem a person can meet (an unknown address, a wrong method, a
request the route cannot read, the database down, a fault of ours), the
person gets an HTML page that says what happened and what to do, with the
same status and headers (e.g. `Retry-After`). The app's own handlers still
run first (their logs, their metrics). The edge's refusals of what no page
sends (an oversized or hostile body: 400, 401, 413) and every answer
outside the prefix stay the app's problem+json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import Response

if TYPE_CHECKING:
    from .pages import StaffPages

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]
# (heading, what to do) by status; any other 5xx is FAULT, any other 4xx is REFUSED
TEXTS: dict[int, tuple[str, str]] = {
    404: ("Page not found", "There is nothing at this address for you. If you typed the web address, check it is "
                            "correct."),
    405: ("This address does not take that request", "Go back to the page and use its links and buttons."),
    503: ("Not available just now", "This page cannot be shown at the moment. Nothing is wrong with your account: "
                                    "please try again in a minute."),
}
SHOWN_AS_PAGES = frozenset({404, 405, 422})  # and every 5xx
REFUSED = ("The request could not be accepted", "Go back to the page, reload it and try again. If it keeps "
                                                "happening, ask for help.")
FAULT = ("Something went wrong", "Something went wrong on our side, not because of anything you did. Please try "
                                 "again in a minute; if it keeps happening, ask for help.")
KEPT_HEADERS = ("retry-after",)


def install_error_pages(app: FastAPI, pages: StaffPages) -> None:
    """Wrap each of the app's exception handlers (once per app): under a prefix of the pages installed, its
    answer becomes an HTML error page."""
    installed: list[StaffPages] | None = getattr(app.state, "staff_error_pages", None)
    if installed is not None:
        installed.append(pages)
        return
    app.state.staff_error_pages = installed = [pages]
    for kind, handler in list(app.exception_handlers.items()):
        if isinstance(kind, type):
            app.add_exception_handler(kind, _wrapped(installed, handler))


def _owner(installed: list[StaffPages], path: str) -> StaffPages | None:
    return next((pages for pages in installed if path == pages.prefix or path.startswith(f"{pages.prefix}/")), None)


def _wrapped(installed: list[StaffPages], handler: Handler) -> Handler:
    async def answer(request: Request, exc: Exception) -> Response:
        given = handler(request, exc)
        response = await given if isinstance(given, Awaitable) else given
        pages = _owner(installed, request.url.path)
        status = response.status_code
        if pages is None or not (status in SHOWN_AS_PAGES or status >= 500) or response.media_type == "text/html":
            return response
        heading, message = TEXTS.get(status, FAULT if status >= 500 else REFUSED)
        page = pages.error(request, status, heading, message)
        for name in KEPT_HEADERS:
            if name in response.headers:
                page.headers[name] = response.headers[name]
        return page

    return answer
