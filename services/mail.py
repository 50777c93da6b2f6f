"""Sending Domus's e-mails over SMTP (DOMUS_SMTP_URL): one connection, several messages."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

Security = Literal["plain", "starttls", "ssl"]

_SCHEMES: dict[str, Security] = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "ssl"}
_DEFAULT_PORTS: dict[Security, int] = {"plain": 25, "starttls": 25, "ssl": 465}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bad_url(reason: str) -> ValueError:
    return ValueError(f"DOMUS_SMTP_URL: {reason}")


@dataclass(frozen=True)
class SmtpTarget:
    """Where to deliver: an SMTP server and, when it wants one, a login."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: Security = "plain"

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        """`smtp://[user[:pass]@]host[:port][?starttls=1]`, `smtp+starttls://…` or `smtps://…`.

        User and password are percent-decoded; errors never repeat the password."""
        if not url or "://" not in url:
            raise _bad_url("expected smtp://, smtp+starttls:// or smtps://host[:port]")
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise _bad_url(
                f"unknown scheme {scheme!r}; expected smtp, smtp+starttls or smtps"
            )
        security = _SCHEMES[scheme]
        if parts.path not in ("", "/") or parts.fragment:
            raise _bad_url(
                "unexpected text after host:port (percent-encode '/', '@', ':' and '#' "
                "in the user name and password)"
            )
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key != "starttls":
                raise _bad_url(f"unknown option {key!r}; only starttls=1 is understood")
            if value.lower() in _TRUE:
                if security == "ssl":
                    raise _bad_url("starttls=1 makes no sense with smtps:// (already TLS)")
                security = "starttls"
            elif value.lower() not in _FALSE:
                raise _bad_url("starttls must be 1 or 0")
        host = parts.hostname
        if not host:
            raise _bad_url("no host name")
        try:
            port = parts.port
        except ValueError:
            raise _bad_url("the port is not a number between 0 and 65535") from None
        if port == 0:
            raise _bad_url("the port must be between 1 and 65535")
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if password is not None and not username:
            raise _bad_url("a password without a user name")
        if not (username or "").isascii() or not (password or "").isascii():
            raise _bad_url("the user name and password must be ASCII (smtplib sends no other)")
        return cls(
            host=host,
            port=port or _DEFAULT_PORTS[security],
            username=username,
            password=password,
            security=security,
        )

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class DeliveryError(Exception):
    """A message was not delivered. `permanent`: the server refused it for good (5xx), so
    sending it again will not help; otherwise (connection trouble, 4xx) try again later."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


class MailSession:
    """One open SMTP connection; a context manager that quits when left."""

    def __init__(self, smtp: smtplib.SMTP, target: SmtpTarget) -> None:
        self._smtp = smtp
        self._target = target

    def send(self, message: EmailMessage) -> None:
        """Send one message to its To recipient(s); DeliveryError when it is not accepted."""
        where = str(self._target)
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise _refused(error.recipients, where) from error
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            raise DeliveryError(
                f"{where} refused the message: {_reply(error.smtp_code, error.smtp_error)}",
                permanent=error.smtp_code >= 500,
            ) from error
        except smtplib.SMTPServerDisconnected as error:
            raise DeliveryError(f"{where} closed the connection: {error}",
                                permanent=False) from error
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(
                f"{where} answered {_reply(error.smtp_code, error.smtp_error)}",
                permanent=error.smtp_code >= 500,
            ) from error
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"sending through {where} failed: {error!r}",
                                permanent=False) from error
        if refused:  # some of several recipients: Domus sends one recipient per message
            raise _refused(refused, where)

    def close(self) -> None:
        """Quit politely; never raises."""
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self._smtp.quit()
        with contextlib.suppress(OSError):
            self._smtp.close()  # after a failed quit

    def __enter__(self) -> MailSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _refused(recipients: dict[str, tuple[int, bytes]], where: str) -> DeliveryError:
    replies = "; ".join(f"{rcpt}: {_reply(code, text)}" for rcpt, (code, text) in
                        recipients.items())
    permanent = bool(recipients) and all(code >= 500 for code, _ in recipients.values())
    return DeliveryError(f"{where} refused the recipient: {replies}", permanent=permanent)


class Mailer:
    """Opens SMTP sessions to `target`, retrying the connection with doubling pauses."""

    def __init__(
        self,
        target: SmtpTarget,
        *,
        attempts: int = 3,
        backoff_seconds: float = 1.0,
        timeout: float = 10.0,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.target = target
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.timeout = timeout
        self._sleep = sleep

    def connect(self) -> MailSession:
        """An open, logged-in session; DeliveryError(permanent=False) when the server
        cannot be reached in `attempts` tries or refuses the login."""
        last: BaseException | None = None
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                return MailSession(self._open(), self.target)
            except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as error:
                # the server answers but will not take us as configured: retrying won't help
                raise DeliveryError(
                    f"SMTP server {self.target} refused the session: {error}", permanent=False
                ) from error
            except (smtplib.SMTPException, OSError) as error:
                last = error
        raise DeliveryError(
            f"SMTP server {self.target} unreachable after {self.attempts} attempt(s): "
            f"{type(last).__name__}: {last}",
            permanent=False,
        ) from last

    def _open(self) -> smtplib.SMTP:
        target = self.target
        smtp: smtplib.SMTP
        if target.security == "ssl":
            smtp = smtplib.SMTP_SSL(target.host, target.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if target.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if target.username:
                smtp.login(target.username, target.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


def build_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    message_id: str,
    language: str,
    date: datetime,
) -> EmailMessage:
    """A text/plain UTF-8 e-mail; `message_id` is used as given (e.g. "<abc@domus>") and
    `date` must be timezone-aware."""
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("build_message: date must be timezone-aware")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message.set_content(body, subtype="plain", charset="utf-8", cte="quoted-printable")
    message["Content-Language"] = language  # after set_content, which drops Content-* headers
    return message
