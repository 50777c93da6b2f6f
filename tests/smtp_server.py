"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd): it records what it receives, can
refuse recipients or data with a given reply, and can be stopped and started on one port."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class RecordingHandler:
    """Keeps each accepted message (parsed, `email.policy.default`) and its envelope
    recipients. `rcpt_reply` / `data_reply` (e.g. "550 no such user") refuse instead."""

    def __init__(self, *, rcpt_reply: str | None = None, data_reply: str | None = None) -> None:
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.messages: list[EmailMessage] = []
        self.rcpt_tos: list[list[str]] = []
        self.mail_froms: list[str] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        self.rcpt_tos.append(list(envelope.rcpt_tos))
        self.mail_froms.append(envelope.mail_from)
        return "250 Message accepted for delivery"


class SmtpServer:
    """An SMTP server on a fixed port that can be started, stopped and started again."""

    def __init__(self, port: int | None = None, handler: Any = None, *, host: str = HOST,
                 **server_options: Any) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.handler = handler if handler is not None else RecordingHandler()
        self.server_options = server_options
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return getattr(self.handler, "messages", [])

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        if self._controller is None:
            controller = Controller(self.handler, hostname=self.host, port=self.port,
                                    **self.server_options)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def running_smtp_server(
    handler: Any = None, **server_options: Any
) -> Iterator[tuple[str, int, list[EmailMessage]]]:
    """(host, port, messages) of a server that runs for the `with` block."""
    with SmtpServer(handler=handler, **server_options) as server:
        yield server.host, server.port, server.messages
