"""SMTP delivery against a real (aiosmtpd) server on 127.0.0.1."""

from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from services import mail
from services.mail import DeliveryError, Mailer, SmtpTarget, build_message
from tests.smtp_server import RecordingHandler, SmtpServer, free_port, running_smtp_server

BRUSSELS = ZoneInfo("Europe/Brussels")


def message(recipient: str = "sofie@ocmw.example", **changes: str) -> EmailMessage:
    fields = {
        "sender": "Domus <domus@ocmw.example>",
        "recipient": recipient,
        "subject": "À faire aujourd'hui : Visite à domicile — 26A1234 (El Idrissi)",
        "body": "Bonjour Sofie,\n\nÉchéance : 15 janvier 2027 — « urgent ».\n",
        "message_id": "<task-42.due@domus>",
        "language": "fr",
    }
    fields.update(changes)
    return build_message(**fields, date=datetime(2026, 11, 23, 9, 0, tzinfo=BRUSSELS))


def fast_mailer(target: SmtpTarget, sleeps: list[float] | None = None, **options) -> Mailer:
    sleep = sleeps.append if sleeps is not None else (lambda seconds: None)
    return Mailer(target, backoff_seconds=0.5, timeout=5, sleep=sleep, **options)


# --- DOMUS_SMTP_URL ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", SmtpTarget("mail.example", 25)),
        ("smtp://relay.example:2525", SmtpTarget("relay.example", 2525)),
        ("smtp://user:pw@relay.example:587?starttls=1",
         SmtpTarget("relay.example", 587, "user", "pw", "starttls")),
        ("smtp+starttls://user:pw@relay.example:587",
         SmtpTarget("relay.example", 587, "user", "pw", "starttls")),
        ("smtps://user:pw@relay.example", SmtpTarget("relay.example", 465, "user", "pw", "ssl")),
        ("smtps://relay.example:4650", SmtpTarget("relay.example", 4650, security="ssl")),
        ("smtp://domus%40ocmw.example:p%40ss%3Aw%2Fo%25rd@relay.example",
         SmtpTarget("relay.example", 25, "domus@ocmw.example", "p@ss:w/o%rd")),
        ("smtp://only-user@relay.example", SmtpTarget("relay.example", 25, "only-user")),
    ],
)
def test_url(url: str, expected: SmtpTarget) -> None:
    assert SmtpTarget.from_url(url) == expected


def test_the_password_stays_out_of_repr() -> None:
    assert "s3cret" not in repr(SmtpTarget.from_url("smtp://user:s3cret@relay.example"))


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://user:s3cret@relay.example", "scheme"),
        ("smtp://user:s3cret@", "host"),
        ("smtp://user:s3cret@:25", "host"),
        ("relay.example", "expected"),
        ("", "expected"),
        ("smtp://user:s3cret@relay.example:port", "port"),
        ("smtp://user:s3cret@relay.example:99999", "port"),
        ("smtp://user:s3/cret@relay.example", "percent-encode"),
        ("smtp://user:s3cret@relay.example?tls=1", "option"),
        ("smtps://user:s3cret@relay.example?starttls=1", "starttls"),
        ("smtp://:s3cret@relay.example", "user name"),
        ("smtp://user:s3cr%C3%A9t@relay.example", "ASCII"),
    ],
)
def test_bad_url(url: str, says: str) -> None:
    with pytest.raises(ValueError) as raised:
        SmtpTarget.from_url(url)
    text = str(raised.value)
    assert text.startswith("DOMUS_SMTP_URL: ")
    assert says in text
    assert "s3" not in text and "cret" not in text


# --- build_message -------------------------------------------------------------------------

def test_build_message_headers() -> None:
    built = message()
    assert built["Message-ID"] == "<task-42.due@domus>"
    assert built["Date"] == "Mon, 23 Nov 2026 09:00:00 +0100"
    assert built["Content-Language"] == "fr"
    assert built.get_content_type() == "text/plain"
    assert built.get_content_charset() == "utf-8"


def test_build_message_wants_an_aware_date() -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_message(sender="a@x", recipient="b@x", subject="s", body="b", message_id="<m@x>",
                      language="nl", date=datetime(2026, 11, 23, 9, 0))


# --- delivery ------------------------------------------------------------------------------

def test_delivery_keeps_utf8_and_the_message_id() -> None:
    with (
        running_smtp_server() as (host, port, received),
        fast_mailer(SmtpTarget(host, port)).connect() as session,
    ):
        session.send(message())
        session.send(message("jan@ocmw.example", message_id="<task-43.due@domus>"))
    assert len(received) == 2
    first = received[0]
    assert first["Subject"] == "À faire aujourd'hui : Visite à domicile — 26A1234 (El Idrissi)"
    assert first["Message-ID"] == "<task-42.due@domus>"
    assert first["To"] == "sofie@ocmw.example"
    assert first["Content-Language"] == "fr"
    assert first.get_content().replace("\r\n", "\n") == (
        "Bonjour Sofie,\n\nÉchéance : 15 janvier 2027 — « urgent ».\n")
    assert received[1]["Message-ID"] == "<task-43.due@domus>"


def test_envelope_recipients_are_recorded() -> None:
    handler = RecordingHandler()
    with (
        running_smtp_server(handler) as (host, port, _),
        fast_mailer(SmtpTarget(host, port)).connect() as session,
    ):
        session.send(message())
    assert handler.rcpt_tos == [["sofie@ocmw.example"]]
    assert handler.mail_froms == ["domus@ocmw.example"]


def test_login() -> None:
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"p@ss w:rd", handled=False)

    options = {"authenticator": authenticator, "auth_require_tls": False}
    with running_smtp_server(**options) as (host, port, received):
        url = f"smtp://domus:p%40ss%20w%3Ard@{host}:{port}"
        with fast_mailer(SmtpTarget.from_url(url)).connect() as session:
            session.send(message())
        sleeps: list[float] = []
        wrong = SmtpTarget(host, port, "domus", "wrong")
        with pytest.raises(DeliveryError) as raised:
            fast_mailer(wrong, sleeps).connect()
    assert len(received) == 1
    assert logins[0] == (b"domus", b"p@ss w:rd")
    assert raised.value.permanent is False
    assert sleeps == []  # a refused login is not retried
    assert "wrong" not in str(raised.value)


def test_connection_refused_is_retried_then_temporary(monkeypatch: pytest.MonkeyPatch) -> None:
    tries: list[tuple[str, int]] = []

    class CountingSMTP(smtplib.SMTP):
        def __init__(self, host: str, port: int, **kwargs) -> None:
            tries.append((host, port))
            super().__init__(host, port, **kwargs)

    monkeypatch.setattr(mail.smtplib, "SMTP", CountingSMTP)
    port = free_port()
    sleeps: list[float] = []
    with pytest.raises(DeliveryError) as raised:
        fast_mailer(SmtpTarget("127.0.0.1", port), sleeps, attempts=3).connect()
    assert raised.value.permanent is False
    assert f"127.0.0.1:{port}" in str(raised.value)
    assert "ConnectionRefusedError" in str(raised.value)
    assert len(tries) == 3
    assert sleeps == [0.5, 1.0]


def test_smtp_down_then_up_on_the_same_port() -> None:
    server = SmtpServer()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            server.start()

    try:
        mailer = Mailer(SmtpTarget(server.host, server.port), attempts=4, backoff_seconds=0.1,
                        sleep=sleep)
        with mailer.connect() as session:
            session.send(message())
        server.stop()
        with pytest.raises(DeliveryError):
            fast_mailer(SmtpTarget(server.host, server.port), attempts=1).connect()
        server.start()
        with fast_mailer(SmtpTarget(server.host, server.port)).connect() as session:
            session.send(message(message_id="<again@domus>"))
    finally:
        server.stop()
    assert sleeps == [0.1, 0.2]
    assert [m["Message-ID"] for m in server.messages] == ["<task-42.due@domus>",
                                                           "<again@domus>"]


@pytest.mark.parametrize(
    ("handler", "permanent"),
    [
        (RecordingHandler(rcpt_reply="550 5.1.1 no such user"), True),
        (RecordingHandler(rcpt_reply="451 4.3.0 try again later"), False),
        (RecordingHandler(data_reply="554 5.6.0 message refused"), True),
        (RecordingHandler(data_reply="452 4.3.1 out of storage"), False),
    ],
)
def test_refusals(handler: RecordingHandler, permanent: bool) -> None:
    with (
        running_smtp_server(handler) as (host, port, received),
        fast_mailer(SmtpTarget(host, port)).connect() as session,
    ):
        with pytest.raises(DeliveryError) as raised:
            session.send(message())
        assert raised.value.permanent is permanent
        reply = handler.rcpt_reply or handler.data_reply
        assert reply is not None and reply.split()[0] in str(raised.value)
        # the session survives a refusal and can send the next message
        handler.rcpt_reply = handler.data_reply = None
        session.send(message(message_id="<next@domus>"))
    assert [m["Message-ID"] for m in received] == ["<next@domus>"]


def test_a_dropped_connection_is_temporary() -> None:
    with running_smtp_server() as (host, port, _):
        session = fast_mailer(SmtpTarget(host, port)).connect()
        session._smtp.close()  # the connection is gone under the session
        with pytest.raises(DeliveryError) as raised:
            session.send(message())
        assert raised.value.permanent is False
        session.close()  # and closing it again does not raise
