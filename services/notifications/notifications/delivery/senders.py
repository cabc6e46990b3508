"""The channels: a signed webhook (httpx), an email alert (aiosmtplib), or
the inbox (the school sees it on its page: delivered at once). A send never
raises: every outcome is classified, and only the category, the status code
and the time taken are kept (never a response body).

- 2xx: delivered.
- 4xx: client_error, not retried (the receiver refused it: a wrong URL, a
  secret it does not know); EXCEPT 408 Request Timeout and 429 Too Many
  Requests, which say "later" and are retried like a 5xx (server_error).
- 3xx: client_error (redirects are not followed: a moved endpoint is a
  directory change, made by an admin).
- 5xx: server_error, retried.
- httpx.TimeoutException, or the whole attempt past `delivery_timeout_seconds`: timeout, retried.
- connection refused, DNS, TLS and other transport errors: connection, retried.
- no URL, no email address or no valid signing secret: no_channel, not retried.
- a destination refused (domain/destinations.py: not https, or a host that is or resolves to a loopback,
  private, link-local... address; judged again at each send, on the addresses the connection then goes to,
  see pinned.py): no_channel too (the directory has no usable address), not retried, so escalated at once;
  logged with the bounded reason (`refused`), never the URL or the address.

Email says ONLY that a new notification waits and where to sign in
(`page_url`): no name, no school, nothing about the child."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
import httpx

from frontdoor_contracts.notifications import Channel, FailureReason
from frontdoor_platform.tracing import traceparent_now

from ..domain import destinations
from ..settings import Settings
from . import signing
from .pinned import DestinationRefused

DELIVERED = "delivered"
RETRYABLE = frozenset({FailureReason.SERVER_ERROR, FailureReason.TIMEOUT, FailureReason.CONNECTION})
# "Later, please": retried like a server error although they are 4xx.
RETRY_LATER_STATUSES = frozenset({408, 429})

log = logging.getLogger("notifications.delivery")

EMAIL_SUBJECT = "Front Door: a new notification is waiting"
EMAIL_TEXT = ("A new notification is waiting for you on Front Door.\n\n"
              "Sign in to read it:\n{page_url}\n\n"
              "This email says nothing more on purpose: the details are only on the page.\n")


@dataclass(frozen=True)
class Target:
    """Where and what to send, read in the claim's transaction."""

    notification_id: str
    channel: str
    body: bytes
    url: str | None = None
    email: str | None = None
    secrets: Sequence[str] = ()
    traceparent: str | None = None  # the trace the notification was made in


@dataclass(frozen=True)
class SendResult:
    outcome: str  # "delivered" or a FailureReason value
    status: int | None = None
    duration_ms: int = 0

    @property
    def delivered(self) -> bool:
        return self.outcome == DELIVERED

    @property
    def retryable(self) -> bool:
        return self.outcome in RETRYABLE


def classify_status(status: int) -> str:
    if 200 <= status < 300:
        return DELIVERED
    if status in RETRY_LATER_STATUSES or status >= 500:
        return FailureReason.SERVER_ERROR.value
    return FailureReason.CLIENT_ERROR.value


def classify_smtp(error: Exception) -> tuple[str, int | None]:
    """SMTP 5xx replies are permanent (client_error), 4xx temporary (server_error)."""
    if isinstance(error, TimeoutError):  # aiosmtplib's SMTPTimeoutError is one
        return FailureReason.TIMEOUT.value, None
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        error = error.recipients[0]
    if isinstance(error, aiosmtplib.SMTPResponseException):
        code = error.code
        return (FailureReason.CLIENT_ERROR.value if code >= 500 else FailureReason.SERVER_ERROR.value), code
    return FailureReason.CONNECTION.value, None  # refused, disconnected, DNS, TLS


def _refused(target: Target, refusal: destinations.Refusal) -> tuple[str, int | None]:
    log.warning("webhook destination refused; not sent",
                extra={"notification_id": target.notification_id, "refused": refusal.value})
    return FailureReason.NO_CHANNEL.value, None


class Senders:
    def __init__(self, client: httpx.AsyncClient, settings: Settings):
        self._client = client
        self._settings = settings

    async def send(self, target: Target, timestamp: int) -> SendResult:
        """One attempt, bounded as a whole by `delivery_timeout_seconds` (httpx and aiosmtplib bound each
        phase or command, so a receiver trickling its answer could hold a send past its lease)."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._settings.delivery_timeout_seconds):
                outcome, status = await self._by_channel(target, timestamp)
        except TimeoutError:
            outcome, status = FailureReason.TIMEOUT.value, None
        return SendResult(outcome, status, round((time.perf_counter() - started) * 1000))

    async def _by_channel(self, target: Target, timestamp: int) -> tuple[str, int | None]:
        if target.channel == Channel.INBOX:
            return DELIVERED, None
        if target.channel == Channel.WEBHOOK:
            return await self._webhook(target, timestamp)
        if target.channel == Channel.EMAIL:
            return await self._email(target)
        return FailureReason.NO_CHANNEL.value, None

    async def _webhook(self, target: Target, timestamp: int) -> tuple[str, int | None]:
        if not target.url or not target.secrets:
            return FailureReason.NO_CHANNEL.value, None
        refused = destinations.url_refusal(target.url, local=self._settings.local_webhooks)
        if refused is not None:
            return _refused(target, refused)
        try:
            signed = signing.headers(target.secrets, target.notification_id, timestamp, target.body)
        except ValueError:  # a stored secret that is not base64: no usable way to sign
            return FailureReason.NO_CHANNEL.value, None
        headers = {"content-type": "application/json", "user-agent": "frontdoor-notifications", **signed}
        if (traceparent := traceparent_now()) is not None:
            headers["traceparent"] = traceparent  # the delivery attempt's span, in the incident's trace
        try:
            response = await self._client.post(target.url, content=target.body, headers=headers,
                                               timeout=self._settings.delivery_timeout_seconds)
        except DestinationRefused as error:  # the host resolved to an address refused now
            return _refused(target, error.refusal)
        except httpx.TimeoutException:
            return FailureReason.TIMEOUT.value, None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            return FailureReason.NO_CHANNEL.value, None
        except httpx.TransportError:  # connection refused, DNS, TLS, the peer hung up
            return FailureReason.CONNECTION.value, None
        return classify_status(response.status_code), response.status_code

    async def _email(self, target: Target) -> tuple[str, int | None]:
        if not target.email:
            return FailureReason.NO_CHANNEL.value, None
        s = self._settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = target.email
        message["Subject"] = EMAIL_SUBJECT
        message.set_content(EMAIL_TEXT.format(page_url=s.page_url))
        try:
            await aiosmtplib.send(message, hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_username,
                                  password=s.smtp_password, start_tls=s.smtp_starttls,
                                  timeout=s.delivery_timeout_seconds)
        except (aiosmtplib.SMTPException, OSError) as error:
            return classify_smtp(error)
        return DELIVERED, None
