#!/usr/bin/env python3
"""RADIUS test client for mfagate's integration tests (run as a subprocess).

usage: radius_client.py --server HOST:PORT --secret SECRET --user NAME --password PW
                        [--state HEX] [--no-ma] [--enforce-ma] [--status-server]
                        [--timeout SECONDS] [--retries N]

Sends one Access-Request (PAP) or, with --status-server, one Status-Server
(RFC 5997), and prints exactly one JSON line on stdout:

  {"code": "Access-Accept"|"Access-Reject"|"Access-Challenge"|<int>,
   "reply_message": str|null, "state": hex|null,
   "has_ma": bool, "ma_first": bool, "ma_valid": bool}

Special codes (exit status 0 too):
  "timeout"                        no (matching) reply within timeout*retries
  "bad-response-authenticator"     a reply whose Response Authenticator is wrong
  "missing-message-authenticator"  --enforce-ma and the reply has no MA
  "bad-message-authenticator"      --enforce-ma and the reply's MA is invalid
The two MA codes keep the other fields and add "reply_code", the reply's own code.
Any other error (bad arguments, malformed reply, ...): message on stderr, exit 2.

Packets are built, sent and checked here, byte for byte, after RFC 2865
(layout, PAP hiding §5.2, Response Authenticator §3) and RFC 3579 §3.2
(Message-Authenticator), so that the checks see exactly what the server sent.
pyrad is used for the attribute dictionary (tests/py/pyrad.dict).
"""
import argparse
import hashlib
import hmac
import json
import logging
import os
import socket
import struct
import sys
import time

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT = 1, 2, 3
ACCESS_CHALLENGE, STATUS_SERVER = 11, 12
CODE_NAMES = {ACCESS_ACCEPT: "Access-Accept", ACCESS_REJECT: "Access-Reject",
              ACCESS_CHALLENGE: "Access-Challenge"}
MAX_PACKET = 4096  # RFC 2865 §3


class ClientError(Exception):
    pass


def load_attribute_codes():
    """Attribute numbers from pyrad.dict (next to this file), via pyrad."""
    # pyrad warns (on stderr) about the FreeRADIUS dictionary entries it skips,
    # e.g. Vendor-Specific of type "vsa": expected, not worth a line per run.
    logging.getLogger("pyrad").setLevel(logging.ERROR)
    from pyrad.dictionary import Dictionary
    d = Dictionary(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyrad.dict"))
    names = ["User-Name", "User-Password", "Reply-Message", "State", "Message-Authenticator"]
    return {n: d.attributes[n].code for n in names}


def attr(typ, value):
    if len(value) > 253:
        raise ClientError(f"attribute {typ} too long ({len(value)} octets, max 253)")
    return struct.pack("!BB", typ, len(value) + 2) + value


def hide_password(password, secret, authenticator):
    """User-Password hiding, RFC 2865 §5.2."""
    padded = password + b"\0" * (-len(password) % 16) if password else b"\0" * 16
    out, last = b"", authenticator
    for i in range(0, len(padded), 16):
        key = hashlib.md5(secret + last).digest()
        last = bytes(a ^ b for a, b in zip(padded[i:i + 16], key))
        out += last
    return out


def build_request(code, ident, authenticator, attrs, secret, with_ma, ma_code):
    """Request packet; the Message-Authenticator, if any, is the first attribute
    (as BlastRADIUS-hardened clients send it) and is HMAC-MD5 keyed with the
    secret over the packet with the MA value zeroed (RFC 3579 §3.2)."""
    body = b"".join(attrs)
    if with_ma:
        body = attr(ma_code, b"\0" * 16) + body
    length = 20 + len(body)
    if length > MAX_PACKET:
        raise ClientError(f"request too long ({length} octets)")
    pkt = struct.pack("!BBH", code, ident, length) + authenticator + body
    if with_ma:
        mac = hmac.new(secret, pkt, hashlib.md5).digest()
        pkt = pkt[:22] + mac + pkt[38:]
    return pkt


def parse_attributes(data):
    """[(offset, type, value)] of a reply (data already cut to its Length)."""
    out, pos = [], 20
    while pos < len(data):
        if pos + 2 > len(data) or data[pos + 1] < 2 or pos + data[pos + 1] > len(data):
            raise ClientError(f"malformed reply: bad attribute at offset {pos}: {data.hex()}")
        ln = data[pos + 1]
        out.append((pos, data[pos], data[pos + 2:pos + ln]))
        pos += ln
    return out


def check_reply(data, req_auth, secret, codes, enforce_ma):
    length = struct.unpack("!H", data[2:4])[0]
    if length < 20 or length > len(data) or length > MAX_PACKET:
        raise ClientError(f"malformed reply: Length {length}, {len(data)} octets received")
    data = data[:length]  # octets after Length are padding (RFC 2865 §3)

    # Response Authenticator: MD5(Code+ID+Length+RequestAuth+Attributes+Secret)
    expect = hashlib.md5(data[:4] + req_auth + data[20:] + secret).digest()
    if not hmac.compare_digest(expect, data[4:20]):
        return {"code": "bad-response-authenticator"}

    attrs = parse_attributes(data)
    ma_code = codes["Message-Authenticator"]
    mas = [(off, val) for off, typ, val in attrs if typ == ma_code]
    has_ma = bool(mas)
    ma_first = bool(attrs) and attrs[0][1] == ma_code
    ma_valid = False
    if len(mas) == 1 and len(mas[0][1]) == 16:
        # HMAC-MD5 over the reply with the MA value zeroed and the *request*
        # authenticator in the Authenticator field (RFC 3579 §3.2).
        off = mas[0][0]
        signed = data[:4] + req_auth + data[20:off + 2] + b"\0" * 16 + data[off + 18:]
        mac = hmac.new(secret, signed, hashlib.md5).digest()
        ma_valid = hmac.compare_digest(mac, mas[0][1])

    msgs = [val for _, typ, val in attrs if typ == codes["Reply-Message"]]
    states = [val for _, typ, val in attrs if typ == codes["State"]]
    result = {
        "code": CODE_NAMES.get(data[0], data[0]),
        # several Reply-Messages are one text split into pieces: join them
        "reply_message": b"".join(msgs).decode("utf-8", "replace") if msgs else None,
        "state": states[0].hex() if states else None,
        "has_ma": has_ma,
        "ma_first": ma_first,
        "ma_valid": ma_valid,
    }
    if enforce_ma and not (has_ma and ma_valid):
        result["reply_code"] = result["code"]
        result["code"] = "bad-message-authenticator" if has_ma else "missing-message-authenticator"
    return result


def parse_server(s):
    host, sep, port = s.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ClientError(f"--server must be HOST:PORT, got {s!r}")
    return host.strip("[]"), int(port)


def exchange(server, pkt, ident, timeout, attempts):
    """Send pkt up to `attempts` times (the same packet, so the same
    authenticator), waiting `timeout` s after each; return the first reply
    with our Identifier, or None."""
    host, port = parse_server(server)
    family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect(addr)  # only datagrams from the server's address/port
        for _ in range(max(1, attempts)):
            sock.send(pkt)
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    data = sock.recv(65535)
                except socket.timeout:
                    break
                except ConnectionRefusedError:  # ICMP port unreachable: no server (yet)
                    time.sleep(min(left, 0.05))
                    continue
                if len(data) >= 20 and data[1] == ident:
                    return data
                # runt or reply to another Identifier: ignore, keep waiting
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", required=True, help="HOST:PORT, e.g. 127.0.0.1:1812")
    p.add_argument("--secret", required=True)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--state", help="State attribute to send, as hex")
    p.add_argument("--no-ma", action="store_true", help="send no Message-Authenticator")
    p.add_argument("--enforce-ma", action="store_true",
                   help="a reply without a valid Message-Authenticator is an error")
    p.add_argument("--status-server", action="store_true",
                   help="send a Status-Server instead of an Access-Request")
    p.add_argument("--timeout", type=float, default=2.0, help="seconds per attempt (default 2)")
    p.add_argument("--retries", type=int, default=1,
                   help="attempts in all, as pyrad counts them (default 1)")
    a = p.parse_args()
    if not a.status_server and (a.user is None or a.password is None):
        p.error("--user and --password are required (unless --status-server)")

    try:
        codes = load_attribute_codes()
        secret = a.secret.encode()
        req_auth = os.urandom(16)
        ident = os.urandom(1)[0]
        attrs = []
        if a.status_server:
            code = STATUS_SERVER
        else:
            code = ACCESS_REQUEST
            attrs.append(attr(codes["User-Name"], a.user.encode()))
            pw = a.password.encode()
            if len(pw) > 240:  # what fits in one attribute once padded
                raise ClientError("--password longer than 240 octets")
            attrs.append(attr(codes["User-Password"], hide_password(pw, secret, req_auth)))
            if a.state is not None:
                h = a.state[2:] if a.state.lower().startswith("0x") else a.state
                try:
                    attrs.append(attr(codes["State"], bytes.fromhex(h)))
                except ValueError:
                    raise ClientError(f"--state is not hex: {a.state!r}") from None
        pkt = build_request(code, ident, req_auth, attrs, secret, not a.no_ma,
                            codes["Message-Authenticator"])
        data = exchange(a.server, pkt, ident, a.timeout, a.retries)
        result = {"code": "timeout"} if data is None else \
            check_reply(data, req_auth, secret, codes, a.enforce_ma)
    except Exception as e:  # noqa: BLE001 - any failure is exit 2 for the caller
        print(f"radius_client.py: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
