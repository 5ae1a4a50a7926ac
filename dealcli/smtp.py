"""Sending e-mail through the repository's SMTP server: its settings (dealcli.yaml `smtp:`), the
login, composing a message and handing it to the server. Used by `dealcli reply` and `deal email`
(intake/reply.py) and by `dealcli remind` (remind.py), so both send the same way.

Settings (no password in the repository, ever):
  smtp: {host: mail.example.com, port: 587, from: "Sales <sales@example.com>",
         security: auto|starttls|ssl|none, user: LOGIN, password_file: PATH, cafile: PATH}
The password is $DEALCLI_SMTP_PASSWORD, else the first line of `password_file` (a file outside
the repository); the login is $DEALCLI_SMTP_USER, else `user`."""

from __future__ import annotations

import os
from pathlib import Path

from dealcli.errors import NotFound, TempFail
from dealcli.session import Session
from dealcli import i18n

SECURITY = ("auto", "starttls", "ssl", "none")
DEFAULT_PORT = {"auto": 587, "starttls": 587, "ssl": 465, "none": 25}
TIMEOUT = 30


# -- settings -------------------------------------------------------------------------------------
def settings(s: Session) -> dict:
    """`smtp:` of dealcli.yaml, checked; NotFound (3, not configured) without host or from."""
    value = s.repo.config.get("smtp") or {}
    if not isinstance(value, dict) or not value.get("host") or not value.get("from"):
        raise NotFound(i18n._("no SMTP server: set smtp.host and smtp.from in dealcli.yaml (see docs/intake.md, "
                       "Answering back)"))
    if "password" in value:
        raise NotFound(i18n._("smtp.password in dealcli.yaml: a password is never kept in the "
                              "repository; delete it and "
                       "set $DEALCLI_SMTP_PASSWORD or smtp.password_file (a file outside the repository)"))
    security = str(value.get("security") or "auto")
    if security not in SECURITY:
        raise NotFound(i18n._("smtp.security of dealcli.yaml is {security!r}: expected {join_security}").format(
            security=security, join_security=', '.join(SECURITY)))
    return {**value, "security": security, "port": int(value.get("port") or DEFAULT_PORT[security])}


def credentials(s: Session, conf: dict) -> tuple[str, str] | None:
    """(login, password), or None: the server needs no login."""
    user = os.environ.get("DEALCLI_SMTP_USER") or conf.get("user")
    password = os.environ.get("DEALCLI_SMTP_PASSWORD")
    if password is None and conf.get("password_file"):
        path = Path(str(conf["password_file"])).expanduser()
        root = s.repo.root.resolve()
        if path.resolve() == root or root in path.resolve().parents:
            raise NotFound(i18n._("smtp.password_file {path} is inside the repository: keep the password outside it "
                           "(a file of your own, or $DEALCLI_SMTP_PASSWORD)").format(path=path))
        try:
            password = path.read_text(encoding="utf-8").splitlines()[0].strip() if path.stat().st_size else ""
        except OSError as exc:
            raise NotFound(i18n._("smtp.password_file {path}: {exc_strerror}").format(
                path=path, exc_strerror=exc.strerror)) from None
    if not user:
        return None
    if not password:
        raise NotFound(i18n._("smtp.user is set but no password: set $DEALCLI_SMTP_PASSWORD or smtp.password_file"))
    return str(user), password


# -- the message ------------------------------------------------------------------------------------
def compose(conf: dict, to: list[str], subject: str, body: str, now, in_reply_to: str | None = None,
            references: list[str] | None = None):
    """The message from `conf["from"]` to `to`, dated `now`, with a Message-ID of its own."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid, parseaddr

    sender = str(conf["from"])
    domain = parseaddr(sender)[1].rpartition("@")[2] or "dealcli.invalid"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=domain)
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    msg.set_content(body)
    return msg


def send(conf: dict, creds, msg) -> None:
    """Hand the message to the server: STARTTLS when offered (auto) or always (starttls), TLS
    from the start (ssl), never (none); TempFail (75, nothing stored) when it is not taken."""
    import smtplib
    import ssl

    security, host, port = conf["security"], str(conf["host"]), int(conf["port"])
    context = ssl.create_default_context(cafile=conf.get("cafile") or None)
    try:
        server: smtplib.SMTP
        if security == "ssl":
            server = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context)
        else:
            server = smtplib.SMTP(host, port, timeout=TIMEOUT)
        with server:
            server.ehlo()
            if security in ("auto", "starttls") and server.has_extn("starttls"):
                server.starttls(context=context)
                server.ehlo()
            elif security == "starttls":
                raise TempFail(i18n._("SMTP server {host}:{port} does not offer STARTTLS (smtp.security: starttls): "
                               "nothing was sent or stored").format(host=host, port=port))
            if creds:
                server.login(*creds)
            server.send_message(msg)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        why = getattr(exc, "smtp_error", None)
        why = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(exc) or type(exc).__name__
        raise TempFail(i18n._("SMTP server {host}:{port}: {why}: nothing was sent or stored").format(
            host=host, port=port, why=why)) from None
