#!/usr/bin/env python3
"""SMTP sink: the mail server privacyIDEA's e-mail token (or mfagate) sends to.

usage: smtp_sink.py [--starttls CERT KEY | --tls CERT KEY] [--auth USER:PASS]
                    [--reject-rcpt ADDRESS]... [--host ADDR] PORT OUTFILE
needs: aiosmtpd. scripts/start-privacyidea.sh installs it into privacyIDEA's venv,
       so run it with "$MFAGATE_PI_VENV/bin/python" (default DIR/venv/bin/python);
       scripts/install-test-deps.sh installs it into the test venv (.venv).

Listens on 127.0.0.1:PORT (0: a free port; see --host). Without options: plain SMTP, no TLS,
no AUTH, any sender and recipient accepted (250). Options:

  --starttls CERT KEY   offer STARTTLS with this certificate chain and key (PEM)
                        and require it before MAIL FROM (530 otherwise)
  --tls CERT KEY        implicit TLS (SMTPS): TLS from the first byte
  --auth USER:PASS      require AUTH (PLAIN or LOGIN) before MAIL FROM; offered and
                        accepted only over TLS; other credentials get 535
  --reject-rcpt ADDR    answer RCPT TO:<ADDR> with 550 (repeatable)
  --host ADDR           listen on this loopback address instead of 127.0.0.1

Each message is appended to OUTFILE as one JSON line, flushed before the 250 goes
out:

  {"time": 1700000000.123, "peer": "127.0.0.1", "mail_from": "pi@...",
   "to": ["dave@example.test"],                      (the envelope's RCPT TO)
   "subject": "...", "header_to": "...",             (decoded headers)
   "body": "<text of the first text/* part, transfer-decoded>",
   "html": "<the first text/html part, decoded; empty if none>",
   "headers": [["From", "..."], ["To", "..."], ...], (every header, in order, decoded)
   "tls": true,                                      (the message came over TLS)
   "auth": "mfa",                                    (the AUTH login, or null)
   "raw": "<the whole message as received>"}

Once listening it prints one line on stdout: {"listening": PORT} (the real port,
also for PORT 0). Stops on SIGTERM/SIGINT.
"""
import argparse
import asyncio
import email
import email.policy
import json
import logging
import signal
import ssl
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def content_of(part):
    try:
        return part.get_content()
    except (LookupError, ValueError):
        return (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")


def text_of(msg):
    part = next((p for p in msg.walk() if p.get_content_maintype() == "text"), None)
    return "" if part is None else content_of(part)


def html_of(msg):
    part = next((p for p in msg.walk() if p.get_content_type() == "text/html"), None)
    return "" if part is None else content_of(part)


def headers_of(msg):
    out = []
    for name, value in msg.raw_items():
        try:
            value = str(msg.policy.header_fetch_parse(name, value))  # unfolded, decoded
        except Exception:  # a malformed header: keep it as received
            pass
        out.append([name, value])
    return out


class Handler:
    def __init__(self, outfile, reject):
        self.outfile = outfile
        self.reject = {a.lower() for a in reject}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        login = getattr(session, "auth_data", None)
        if isinstance(login, LoginPassword):
            login = login.login.decode("utf-8", errors="replace")
        rec = {"time": round(time.time(), 3), "peer": (session.peer or ["?"])[0],
               "mail_from": envelope.mail_from, "to": list(envelope.rcpt_tos),
               "subject": str(msg.get("Subject", "")), "header_to": str(msg.get("To", "")),
               "body": text_of(msg), "html": html_of(msg), "headers": headers_of(msg),
               "tls": server.transport.get_extra_info("ssl_object") is not None, "auth": login if session.authenticated else None,
               "raw": raw.decode("utf-8", errors="replace")}
        with open(self.outfile, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
            f.flush()
        return "250 OK"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user
              and auth_data.password == password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
    return check


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve(args):
    loop = asyncio.get_running_loop()
    handler = Handler(args.outfile, args.reject_rcpt)
    opts = {"hostname": "smtp-sink.test", "decode_data": False, "enable_SMTPUTF8": True}
    server_ssl = None
    if args.starttls:
        opts.update(tls_context=tls_context(*args.starttls), require_starttls=True)
    if args.tls:
        server_ssl = tls_context(*args.tls)
    if args.auth:
        # SMTPS needs auth_require_tls=False (see below), which aiosmtpd warns about
        warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        user, _, password = args.auth.partition(":")
        opts.update(authenticator=authenticator(user.encode(), password.encode()),
                    auth_required=True,
                    # aiosmtpd counts only STARTTLS as TLS; SMTPS is TLS from the start
                    auth_require_tls=server_ssl is None)
    # no "hostname" lookup (getfqdn can stall without DNS); 8-bit and UTF-8 accepted
    srv = await loop.create_server(lambda: SMTP(handler, **opts),
                                   host=args.host, port=args.port, ssl=server_ssl)
    stopped = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    print(json.dumps({"listening": srv.sockets[0].getsockname()[1]}), flush=True)
    await stopped.wait()
    srv.close()


def main():
    p = argparse.ArgumentParser(description="SMTP sink that writes each message as a JSON line")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    tls.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth", metavar="USER:PASS")
    p.add_argument("--reject-rcpt", action="append", default=[], metavar="ADDRESS")
    p.add_argument("--host", default="127.0.0.1", metavar="ADDR")
    p.add_argument("port", type=int, metavar="PORT")
    p.add_argument("outfile", metavar="OUTFILE")
    args = p.parse_args()
    if args.auth and not (args.starttls or args.tls):
        p.error("--auth needs --starttls or --tls (AUTH is only offered over TLS)")
    if args.auth and ":" not in args.auth:
        p.error("--auth takes USER:PASS")
    open(args.outfile, "a").close()  # exists (empty) from the start
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
