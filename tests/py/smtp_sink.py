#!/usr/bin/env python3
"""SMTP sink: the mail server privacyIDEA's e-mail token (or mfagate) sends to.

usage: smtp_sink.py PORT OUTFILE
needs: aiosmtpd. scripts/start-privacyidea.sh installs it into privacyIDEA's venv,
       so run it with "$MFAGATE_PI_VENV/bin/python" (default DIR/venv/bin/python).

Listens on 127.0.0.1:PORT (0: a free port): plain SMTP, no TLS, no AUTH, any
sender and recipient accepted (250). Each message is appended to OUTFILE as one
JSON line, flushed before the 250 goes out:

  {"time": 1700000000.123, "peer": "127.0.0.1", "mail_from": "pi@...",
   "to": ["dave@example.test"],                      (the envelope's RCPT TO)
   "subject": "...", "header_to": "...",             (decoded headers)
   "body": "<text of the first text/* part, transfer-decoded>",
   "raw": "<the whole message as received>"}

Once listening it prints one line on stdout: {"listening": PORT} (the real port,
also for PORT 0). Stops on SIGTERM/SIGINT.
"""
import asyncio
import email
import email.policy
import json
import signal
import sys
import time

from aiosmtpd.smtp import SMTP


def text_of(msg):
    part = next((p for p in msg.walk() if p.get_content_maintype() == "text"), None)
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, ValueError):
        return (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")


class Handler:
    def __init__(self, outfile):
        self.outfile = outfile

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        rec = {"time": round(time.time(), 3), "peer": (session.peer or ["?"])[0],
               "mail_from": envelope.mail_from, "to": list(envelope.rcpt_tos),
               "subject": str(msg.get("Subject", "")), "header_to": str(msg.get("To", "")),
               "body": text_of(msg), "raw": raw.decode("utf-8", errors="replace")}
        with open(self.outfile, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
            f.flush()
        return "250 OK"


async def serve(port, outfile):
    loop = asyncio.get_running_loop()
    handler = Handler(outfile)
    # no "hostname" lookup (getfqdn can stall without DNS); 8-bit and UTF-8 accepted
    srv = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp-sink.test", decode_data=False, enable_SMTPUTF8=True),
        host="127.0.0.1", port=port)
    stopped = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    print(json.dumps({"listening": srv.sockets[0].getsockname()[1]}), flush=True)
    await stopped.wait()
    srv.close()


def main():
    if len(sys.argv) != 3 or not sys.argv[1].isdigit():
        sys.exit(f"usage: {sys.argv[0]} PORT OUTFILE")
    open(sys.argv[2], "a").close()  # exists (empty) from the start
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2]))


if __name__ == "__main__":
    main()
