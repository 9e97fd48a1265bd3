#!/usr/bin/env python3
"""RADIUS test client for MS-CHAPv2, MS-CHAP, CHAP and PAP (run as a subprocess).

usage: mschap_client.py --server HOST:PORT --secret SECRET --user NAME
                        [--password PW] [--method mschapv2|mschap|chap|pap|none]
                        [--nas-type rdg|N] [--proxy-state HEX ...] [--state HEX]
                        [--attr NAME=VALUE ...] [--no-ma] [--enforce-ma]
                        [--source ADDR] [--timeout SECONDS] [--retries N]
       mschap_client.py --self-test

Sends one Access-Request and prints exactly one JSON line on stdout:

  {"code": "Access-Accept"|"Access-Reject"|"Access-Challenge"|<int>,
   "has_ma": bool, "ma_first": bool, "ma_valid": bool,
   "attrs": [[name, value], ...],   every reply attribute, in wire order
   "proxy_states": [hex, ...],      the reply's Proxy-States, in order
   "class": hex|null, "filter_id": str|null, "reply_message": str|null,
   "state": hex|null, "tunnel_password": str|null,
   "mschap2_success_ok": bool|null, "mschap_error": str|null,
   "mppe_keys_ok": bool|null, "mppe_send_key": hex|null, "mppe_recv_key": hex|null}

attrs: a standard attribute's value is decoded after its dictionary type
(tests/py/mschap_client.dict): string -> text (hex if not UTF-8), integer/date
-> int, ipaddr -> dotted quad, octets and anything encrypted -> hex; a tagged
one (RFC 2868) is named "Name:TAG" (e.g. "Tunnel-Type:1"). A Vendor-Specific's
value is [vendor-id, vendor-type, hex] and its name the dictionary's
("MS-CHAP2-Success", "MS-MPPE-Send-Key", "Cisco-AVPair", ...) or
"Vendor-Specific"; an unknown standard attribute is "Attr-N" with hex.
class / filter_id / reply_message / state: the first Class (hex) and Filter-Id,
the Reply-Messages joined, the first State (hex). tunnel_password: the first
Tunnel-Password decrypted (RFC 2868 §3.5) with --secret and the request's
authenticator, null if none, "<undecodable>" if its inner length is wrong.

MS-CHAP fields (null unless the method is mschapv2 / mschap):
  mschap2_success_ok  (mschapv2) MS-CHAP2-Success has our Ident and the "S="
                      Authenticator Response that RFC 2759 §8.7 gives for the
                      password; null without MS-CHAP2-Success
  mschap_error        the text of MS-CHAP-Error after its Ident ("E=691 R=0 ...")
  mppe_keys_ok        (mschapv2) MS-MPPE-Send-Key and -Recv-Key, decrypted per
                      RFC 2548 §2.4.2/2.4.3 with --secret and the authenticator of
                      the request sent, equal the keys derived here per RFC 3079
                      §3.3/3.4 (128-bit start keys). The RADIUS reply speaks for
                      the NAS (the "server" side of RFC 3079): MS-MPPE-Send-Key is
                      the server's send key, GetAsymmetricStartKey(MasterKey, 16,
                      IsSend=TRUE, IsServer=TRUE) (Magic3), which is the client's
                      *receive* key; MS-MPPE-Recv-Key is the server's receive key
                      (Magic2) = the client's send key.
                      (mschap, v1) MS-CHAP-MPPE-Keys (RFC 2548 §2.4.1, hidden like
                      a User-Password) is 8 octets of the LM hash (or 8 zero
                      octets: FreeRADIUS 3 has no LM hash for a Cleartext-Password),
                      then the NT hash's hash (what FreeRADIUS and NPS send, not
                      the NT hash RFC 2548 §2.4.1 names): both are compared.
                      null when the reply has none of these keys.
  mppe_send_key / mppe_recv_key  (mschapv2) the decrypted keys, hex (to see
                      why a compare failed); with mschap, "mschap_mppe_keys" has
                      the 24 decrypted octets of MS-CHAP-MPPE-Keys instead.

Methods: mschapv2 (MS-CHAP-Challenge + MS-CHAP2-Response, RFC 2548/2759; the
ChallengeHash uses the User-Name less any "DOMAIN\\" prefix, as RFC 2759 §4 and
FreeRADIUS's with_ntdomain_hack do), mschap (v1, MS-CHAP-Challenge +
MS-CHAP-Response with the NT-Response only, RFC 2433), chap (CHAP-Challenge +
CHAP-Password, RFC 2865 §2.2), pap (User-Password, RFC 2865 §5.2), none (no
password attribute at all: RD Gateway's authorization-only request).
--nas-type rdg adds MS-Network-Access-Server-Type = Terminal-Server-Gateway (1);
a number sends that value. --attr NAME=VALUE adds any attribute of the dictionary
(integer: a number or a VALUE name; ipaddr: dotted quad; octets: 0xHEX or text),
--proxy-state HEX adds Proxy-States (last, in the order given), --state HEX a State.
--source ADDR sends from that local address (e.g. 127.0.0.2, a second client).

Every request carries a Message-Authenticator as its first attribute (unless
--no-ma). Special codes (exit status 0 too), as tests/py/radius_client.py:
  "timeout"                        no (matching) reply within timeout*retries
  "bad-response-authenticator"     a reply whose Response Authenticator is wrong
  "missing-message-authenticator"  --enforce-ma and the reply has no MA
  "bad-message-authenticator"      --enforce-ma and the reply's MA is invalid
The two MA codes keep the other fields and add "reply_code", the reply's own code.
Exit 0 for any RADIUS outcome; 2 for bad arguments or a malformed reply
(message on stderr).

--self-test checks the crypto here against RFC 2759 §9.2 (NtPasswordHash,
ChallengeHash, NT-Response, PasswordHashHash, AuthenticatorResponse) and RFC 3079
§3.5.3 (MasterKey, SendStartKey128, SendSessionKey128; RFC 3079 prints no
receive key, so the receive start key is checked as the other side's send key)
and §3.5.1 (the 40-bit keys), plus the RFC 2548/2868 hiding round trip; prints
one JSON line {"self_test": "ok"|"fail", "checks": {...}}, exit 0 only if all pass.

Packets are built, sent and checked here byte for byte (RFC 2865 §3/§5.2,
RFC 3579 §3.2); pyrad is used for the attribute dictionary only.
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

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT, ACCESS_CHALLENGE = 1, 2, 3, 11
CODE_NAMES = {ACCESS_ACCEPT: "Access-Accept", ACCESS_REJECT: "Access-Reject",
              ACCESS_CHALLENGE: "Access-Challenge"}
MAX_PACKET = 4096  # RFC 2865 §3
MICROSOFT = 311
# RFC 2865 / 2869 / RFC 2868 attribute types used here (also in the dictionary)
USER_NAME, USER_PASSWORD, CHAP_PASSWORD, FILTER_ID, REPLY_MESSAGE = 1, 2, 3, 11, 18
STATE, CLASS, VENDOR_SPECIFIC, PROXY_STATE, CHAP_CHALLENGE = 24, 25, 26, 33, 60
TUNNEL_PASSWORD, MESSAGE_AUTHENTICATOR = 69, 80
# Microsoft VSA types (RFC 2548)
MS_CHAP_RESPONSE, MS_CHAP_ERROR, MS_CHAP_CHALLENGE, MS_CHAP_MPPE_KEYS = 1, 2, 11, 12
MS_MPPE_SEND_KEY, MS_MPPE_RECV_KEY, MS_CHAP2_RESPONSE, MS_CHAP2_SUCCESS = 16, 17, 25, 26
MS_NETWORK_ACCESS_SERVER_TYPE = 47
NAS_TYPES = {"rdg": 1}  # Terminal-Server-Gateway


class ClientError(Exception):
    pass


# --- MS-CHAP / MPPE crypto (RFC 2759, RFC 3079, RFC 2433) -----------------------

def md4(data):
    from Crypto.Hash import MD4  # pycryptodome: OpenSSL 3's hashlib has no MD4
    return MD4.new(data).digest()


def des_encrypt(key7, block8):
    """DesEncrypt(Clear, Key) of RFC 2759 §8.6: the 7-octet key spread over 8
    octets (parity bits left 0: DES ignores them)."""
    from Crypto.Cipher import DES
    b = int.from_bytes(key7, "big")
    key8 = bytes(((b >> (49 - 7 * i)) & 0x7F) << 1 for i in range(8))
    return DES.new(key8, DES.MODE_ECB).encrypt(block8)


def nt_password_hash(password):
    """RFC 2759 §8.3: MD4 of the password in UTF-16LE ("Unicode")."""
    return md4(password.encode("utf-16-le"))


def hash_nt_password_hash(password_hash):
    """RFC 2759 §8.4."""
    return md4(password_hash)


def challenge_hash(peer_challenge, authenticator_challenge, user_name):
    """RFC 2759 §8.2: first 8 octets of SHA1(PeerChallenge + AuthChallenge + UserName)."""
    return hashlib.sha1(peer_challenge + authenticator_challenge + user_name).digest()[:8]


def challenge_response(challenge8, password_hash):
    """RFC 2759 §8.5: three DES encryptions of the challenge under the hash padded to 21."""
    z = password_hash + b"\0" * 5
    return b"".join(des_encrypt(z[i:i + 7], challenge8) for i in (0, 7, 14))


def generate_nt_response(auth_challenge, peer_challenge, user_name, password):
    """RFC 2759 §8.1."""
    return challenge_response(challenge_hash(peer_challenge, auth_challenge, user_name),
                              nt_password_hash(password))


def generate_authenticator_response(password, nt_response, peer_challenge,
                                    auth_challenge, user_name):
    """RFC 2759 §8.7: "S=" + 40 upper-case hex digits."""
    magic1 = b"Magic server to client signing constant"
    magic2 = b"Pad to make it do more than one iteration"
    phh = hash_nt_password_hash(nt_password_hash(password))
    digest = hashlib.sha1(phh + nt_response + magic1).digest()
    chal = challenge_hash(peer_challenge, auth_challenge, user_name)
    return "S=" + hashlib.sha1(digest + chal + magic2).digest().hex().upper()


SHS_PAD1, SHS_PAD2 = b"\0" * 40, b"\xf2" * 40


def get_master_key(password_hash_hash, nt_response):
    """RFC 3079 §3.4 GetMasterKey."""
    return hashlib.sha1(password_hash_hash + nt_response +
                        b"This is the MPPE Master Key").digest()[:16]


def get_asymmetric_start_key(master_key, key_len, is_send, is_server):
    """RFC 3079 §3.4 GetAsymmetricStartKey: Magic2 is the client's send key and
    the server's receive key, Magic3 the client's receive key and the server's
    send key."""
    magic2 = (b"On the client side, this is the send key; "
              b"on the server side, it is the receive key.")
    magic3 = (b"On the client side, this is the receive key; "
              b"on the server side, it is the send key.")
    s = (magic3 if is_server else magic2) if is_send else (magic2 if is_server else magic3)
    return hashlib.sha1(master_key + SHS_PAD1 + s + SHS_PAD2).digest()[:key_len]


def get_new_key_from_sha(start_key, session_key, key_len):
    """RFC 3079 §3.3 GetNewKeyFromSHA (the session key from the start key)."""
    return hashlib.sha1(start_key[:key_len] + SHS_PAD1 + session_key[:key_len] +
                        SHS_PAD2).digest()[:key_len]


def lm_password_hash(password):
    """RFC 2433 §A.2 LmPasswordHash (for MS-CHAP-MPPE-Keys' LM part): the
    upper-cased OEM password, 14 octets, DES-encrypting "KGS!@#$%" twice."""
    pw = password.upper().encode("latin-1", "replace")[:14].ljust(14, b"\0")
    return des_encrypt(pw[:7], b"KGS!@#$%") + des_encrypt(pw[7:], b"KGS!@#$%")


def strip_domain(user):
    """The user name RFC 2759 hashes: without a "DOMAIN\\" prefix."""
    return user.rsplit("\\", 1)[-1]


# --- RADIUS hiding (RFC 2865 §5.2, RFC 2548 §2.4.2, RFC 2868 §3.5) ------------

def hide_password(password, secret, authenticator):
    """User-Password hiding, RFC 2865 §5.2."""
    padded = password + b"\0" * (-len(password) % 16) if password else b"\0" * 16
    out, last = b"", authenticator
    for i in range(0, len(padded), 16):
        key = hashlib.md5(secret + last).digest()
        last = bytes(a ^ b for a, b in zip(padded[i:i + 16], key))
        out += last
    return out


def unhide_password(hidden, secret, authenticator):
    """Reverse of hide_password (MS-CHAP-MPPE-Keys is hidden the same way)."""
    out, last = b"", authenticator
    for i in range(0, len(hidden), 16):
        key = hashlib.md5(secret + last).digest()
        out += bytes(a ^ b for a, b in zip(hidden[i:i + 16], key))
        last = hidden[i:i + 16]
    return out


def salt_decrypt(value, secret, authenticator):
    """Salt + String of RFC 2548 §2.4.2 (MS-MPPE-Send/Recv-Key) and RFC 2868
    §3.5 (Tunnel-Password, after its tag): b(1) = MD5(S + R + A),
    b(i) = MD5(S + c(i-1)); the plaintext starts with the key's length.
    Returns the key, or None if the lengths do not fit."""
    if len(value) < 18 or (len(value) - 2) % 16:
        return None
    salt, c = value[:2], value[2:]
    out, last = b"", authenticator + salt
    for i in range(0, len(c), 16):
        key = hashlib.md5(secret + last).digest()
        out += bytes(a ^ b for a, b in zip(c[i:i + 16], key))
        last = c[i:i + 16]
    n = out[0]
    return out[1:1 + n] if n <= len(out) - 1 else None


def salt_encrypt(key, secret, authenticator, salt):
    """The inverse of salt_decrypt (used by the self-test only)."""
    p = bytes([len(key)]) + key
    p += b"\0" * (-len(p) % 16)
    out, last = b"", authenticator + salt
    for i in range(0, len(p), 16):
        b = hashlib.md5(secret + last).digest()
        last = bytes(x ^ y for x, y in zip(p[i:i + 16], b))
        out += last
    return salt + out


# --- packets -----------------------------------------------------------------

def attr(typ, value):
    if len(value) > 253:
        raise ClientError(f"attribute {typ} too long ({len(value)} octets, max 253)")
    return struct.pack("!BB", typ, len(value) + 2) + value


def vsa(vendor, typ, value):
    if len(value) > 247:
        raise ClientError(f"vendor attribute {vendor}/{typ} too long")
    return attr(VENDOR_SPECIFIC, struct.pack("!IBB", vendor, typ, len(value) + 2) + value)


def load_dictionary():
    """pyrad's view of mschap_client.dict (next to this file)."""
    # pyrad warns (on stderr) about the FreeRADIUS dictionary entries it skips:
    # expected, not worth a line per run.
    logging.getLogger("pyrad").setLevel(logging.ERROR)
    from pyrad.dictionary import Dictionary
    return Dictionary(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                   "mschap_client.dict"))


def encode_attr_arg(d, spec):
    """--attr NAME=VALUE -> the encoded attribute, after the dictionary."""
    name, sep, text = spec.partition("=")
    name = name.strip()
    if not sep or name not in d.attributes:
        raise ClientError(f"--attr {spec!r}: NAME=VALUE with a dictionary attribute name")
    a = d.attributes[name]
    if a.has_tag or a.encrypt or a.is_sub_attribute:
        raise ClientError(f"--attr {name}: tagged/encrypted/TLV attributes are not supported")
    if a.type in ("integer", "date"):
        if text in a.values.forward:
            raw = a.values.forward[text]
        else:
            try:
                raw = struct.pack("!I", int(text, 0))
            except (ValueError, struct.error):
                raise ClientError(f"--attr {name}: not a number or value name: {text!r}") from None
    elif a.type == "ipaddr":
        try:
            raw = socket.inet_aton(text)
        except OSError:
            raise ClientError(f"--attr {name}: not an IPv4 address: {text!r}") from None
    elif a.type == "octets" and text.lower().startswith("0x"):
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raise ClientError(f"--attr {name}: bad hex {text!r}") from None
    elif a.type in ("string", "octets"):
        raw = text.encode()
    else:
        raise ClientError(f"--attr {name}: type {a.type} is not supported")
    if a.vendor:
        return vsa(d.vendors.forward[a.vendor], a.code, raw)
    return attr(a.code, raw)


def parse_hex(opt, s):
    h = s[2:] if s.lower().startswith("0x") else s
    try:
        return bytes.fromhex(h)
    except ValueError:
        raise ClientError(f"{opt} is not hex: {s!r}") from None


def build_request(ident, authenticator, attrs, secret, with_ma):
    """Access-Request; the Message-Authenticator, if any, is the first attribute
    and is HMAC-MD5 keyed with the secret over the packet with the MA value
    zeroed (RFC 3579 §3.2)."""
    body = b"".join(attrs)
    if with_ma:
        body = attr(MESSAGE_AUTHENTICATOR, b"\0" * 16) + body
    length = 20 + len(body)
    if length > MAX_PACKET:
        raise ClientError(f"request too long ({length} octets)")
    pkt = struct.pack("!BBH", ACCESS_REQUEST, ident, length) + authenticator + body
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


def split_vsa(value):
    """(vendor, [(type, value)]) of a Vendor-Specific in the usual 1+1 octet
    type/length format (RFC 2865 §5.26), or (vendor, None) if it is not."""
    if len(value) < 4:
        return None, None
    vendor, rest, subs = struct.unpack("!I", value[:4])[0], value[4:], []
    while rest:
        if len(rest) < 2 or rest[1] < 2 or rest[1] > len(rest):
            return vendor, None
        subs.append((rest[0], rest[2:rest[1]]))
        rest = rest[rest[1]:]
    return vendor, subs or None


def decode_value(a, raw):
    """(name suffix, value) of a standard attribute after its dictionary entry."""
    suffix = ""
    if a.has_tag and raw and (raw[0] < 0x20 or a.type == "integer"):
        # RFC 2868 §3.1: a tag octet 0x01-0x1f first; integers always have it
        suffix, raw = f":{raw[0]}", raw[1:] if a.type != "integer" else b"\0" + raw[1:]
    if a.encrypt:
        return suffix, raw.hex()
    if a.type in ("integer", "date") and len(raw) == 4:
        return suffix, struct.unpack("!I", raw)[0]
    if a.type == "ipaddr" and len(raw) == 4:
        return suffix, socket.inet_ntoa(raw)
    if a.type == "string":
        try:
            return suffix, raw.decode("utf-8")
        except UnicodeDecodeError:
            return suffix, raw.hex()
    return suffix, raw.hex()


def describe_attrs(d, attrs):
    """The "attrs" list of the JSON: [[name, value], ...] in wire order."""
    out = []
    for _, typ, val in attrs:
        if typ == VENDOR_SPECIFIC:
            vendor, subs = split_vsa(val)
            if subs is None:
                out.append(["Vendor-Specific", [vendor, None, val[4:].hex() if vendor is not None else val.hex()]])
                continue
            for styp, sval in subs:
                name = d.attrindex.GetBackward((vendor, styp)) \
                    if d.attrindex.HasBackward((vendor, styp)) else "Vendor-Specific"
                out.append([name, [vendor, styp, sval.hex()]])
            continue
        if d.attrindex.HasBackward(typ):
            name = d.attrindex.GetBackward(typ)
            suffix, value = decode_value(d.attributes[name], val)
            out.append([name + suffix, value])
        else:
            out.append([f"Attr-{typ}", val.hex()])
    return out


def vendor_values(attrs, vendor, vtype):
    out = []
    for _, typ, val in attrs:
        if typ == VENDOR_SPECIFIC:
            v, subs = split_vsa(val)
            if v == vendor and subs:
                out += [sval for styp, sval in subs if styp == vtype]
    return out


def check_reply(d, data, req, secret, enforce_ma):
    """The JSON result for a reply `data` to the request described by `req`."""
    length = struct.unpack("!H", data[2:4])[0]
    if length < 20 or length > len(data) or length > MAX_PACKET:
        raise ClientError(f"malformed reply: Length {length}, {len(data)} octets received")
    data = data[:length]  # octets after Length are padding (RFC 2865 §3)
    req_auth = req["authenticator"]

    # Response Authenticator: MD5(Code+ID+Length+RequestAuth+Attributes+Secret)
    expect = hashlib.md5(data[:4] + req_auth + data[20:] + secret).digest()
    if not hmac.compare_digest(expect, data[4:20]):
        return {"code": "bad-response-authenticator"}

    attrs = parse_attributes(data)
    mas = [(off, val) for off, typ, val in attrs if typ == MESSAGE_AUTHENTICATOR]
    has_ma = bool(mas)
    ma_first = bool(attrs) and attrs[0][1] == MESSAGE_AUTHENTICATOR
    ma_valid = False
    if len(mas) == 1 and len(mas[0][1]) == 16:
        # HMAC-MD5 over the reply with the MA value zeroed and the *request*
        # authenticator in the Authenticator field (RFC 3579 §3.2).
        off = mas[0][0]
        signed = data[:4] + req_auth + data[20:off + 2] + b"\0" * 16 + data[off + 18:]
        mac = hmac.new(secret, signed, hashlib.md5).digest()
        ma_valid = hmac.compare_digest(mac, mas[0][1])

    def first(typ):
        vals = [val for _, t, val in attrs if t == typ]
        return vals[0] if vals else None

    msgs = [val for _, typ, val in attrs if typ == REPLY_MESSAGE]
    filter_id, cls, state, tpw = first(FILTER_ID), first(CLASS), first(STATE), first(TUNNEL_PASSWORD)
    tunnel_password = None
    if tpw is not None:
        # Tag octet (RFC 2868 §3.5: always there, 0 for none), then Salt + String
        clear = salt_decrypt(tpw[1:], secret, req_auth) if tpw else None
        tunnel_password = "<undecodable>" if clear is None else clear.decode("utf-8", "replace")
    result = {
        "code": CODE_NAMES.get(data[0], data[0]),
        "has_ma": has_ma,
        "ma_first": ma_first,
        "ma_valid": ma_valid,
        "attrs": describe_attrs(d, attrs),
        "proxy_states": [val.hex() for _, typ, val in attrs if typ == PROXY_STATE],
        "class": cls.hex() if cls is not None else None,
        "filter_id": filter_id.decode("utf-8", "replace") if filter_id is not None else None,
        # several Reply-Messages are one text split into pieces: join them
        "reply_message": b"".join(msgs).decode("utf-8", "replace") if msgs else None,
        "state": state.hex() if state is not None else None,
        "tunnel_password": tunnel_password,
        "mschap2_success_ok": None,
        "mschap_error": None,
        "mppe_keys_ok": None,
        "mppe_send_key": None,
        "mppe_recv_key": None,
    }

    method = req["method"]
    if method in ("mschapv2", "mschap"):
        errs = vendor_values(attrs, MICROSOFT, MS_CHAP_ERROR)
        if errs:
            result["mschap_error"] = errs[0][1:].decode("utf-8", "replace")
    if method == "mschapv2":
        succ = vendor_values(attrs, MICROSOFT, MS_CHAP2_SUCCESS)
        if succ:
            # Ident, then "S=<40 hex digits>" (maybe followed by " M=<message>")
            v = succ[0]
            text = v[1:].decode("ascii", "replace")
            result["mschap2_success_ok"] = bool(v) and v[0] == req["mschap_ident"] and \
                text[:42].upper() == req["authenticator_response"].upper() and \
                (len(text) == 42 or text[42] == " ")
        sends = vendor_values(attrs, MICROSOFT, MS_MPPE_SEND_KEY)
        recvs = vendor_values(attrs, MICROSOFT, MS_MPPE_RECV_KEY)
        if sends or recvs:
            send = salt_decrypt(sends[0], secret, req_auth) if sends else None
            recv = salt_decrypt(recvs[0], secret, req_auth) if recvs else None
            result["mppe_send_key"] = send.hex() if send is not None else None
            result["mppe_recv_key"] = recv.hex() if recv is not None else None
            result["mppe_keys_ok"] = send is not None and recv is not None and \
                send == req["server_send_key"] and recv == req["server_recv_key"]
    elif method == "mschap":
        keys = vendor_values(attrs, MICROSOFT, MS_CHAP_MPPE_KEYS)
        if keys:
            clear = unhide_password(keys[0], secret, req_auth) if len(keys[0]) % 16 == 0 else b""
            result["mschap_mppe_keys"] = clear[:24].hex() if clear else None
            want = req["mschap_mppe_keys"]
            # LM part: servers without an LM hash (FreeRADIUS 3 from a
            # Cleartext-Password, NPS by default) send 8 zero octets there
            result["mppe_keys_ok"] = len(clear) >= 24 and clear[8:24] == want[8:] and \
                clear[:8] in (want[:8], b"\0" * 8)
    if enforce_ma and not (has_ma and ma_valid):
        result["reply_code"] = result["code"]
        result["code"] = "bad-message-authenticator" if has_ma else "missing-message-authenticator"
    return result


def method_attrs(a, secret, req_auth, req):
    """The password attributes of --method; fills req with what checking the
    reply needs."""
    user = a.user.encode()
    pw = (a.password or "")
    if a.method == "pap":
        if len(pw.encode()) > 128:  # RFC 2865 §5.2
            raise ClientError("--password longer than 128 octets")
        return [attr(USER_PASSWORD, hide_password(pw.encode(), secret, req_auth))]
    if a.method == "chap":
        ident, chal = os.urandom(1), os.urandom(16)
        resp = hashlib.md5(ident + pw.encode() + chal).digest()
        return [attr(CHAP_PASSWORD, ident + resp), attr(CHAP_CHALLENGE, chal)]
    if a.method == "mschapv2":
        ident = os.urandom(1)[0]
        auth_chal, peer_chal = os.urandom(16), os.urandom(16)
        name = strip_domain(a.user).encode()
        nt = generate_nt_response(auth_chal, peer_chal, name, pw)
        phh = hash_nt_password_hash(nt_password_hash(pw))
        mk = get_master_key(phh, nt)
        req.update(mschap_ident=ident,
                   authenticator_response=generate_authenticator_response(
                       pw, nt, peer_chal, auth_chal, name),
                   # the NAS's (server's) keys, as the reply carries them
                   server_send_key=get_asymmetric_start_key(mk, 16, True, True),
                   server_recv_key=get_asymmetric_start_key(mk, 16, False, True))
        # Ident, Flags (0), Peer-Challenge, Reserved (8 x 0), NT-Response
        resp = bytes([ident, 0]) + peer_chal + b"\0" * 8 + nt
        return [vsa(MICROSOFT, MS_CHAP_CHALLENGE, auth_chal),
                vsa(MICROSOFT, MS_CHAP2_RESPONSE, resp)]
    if a.method == "mschap":
        ident, chal = os.urandom(1)[0], os.urandom(8)
        ph = nt_password_hash(pw)
        nt = challenge_response(chal, ph)
        req.update(mschap_ident=ident,
                   mschap_mppe_keys=lm_password_hash(pw)[:8] + hash_nt_password_hash(ph))
        # Ident, Flags (1: use the NT-Response), LM-Response (unused), NT-Response
        resp = bytes([ident, 1]) + b"\0" * 24 + nt
        return [vsa(MICROSOFT, MS_CHAP_CHALLENGE, chal),
                vsa(MICROSOFT, MS_CHAP_RESPONSE, resp)]
    return []  # none


def parse_server(s):
    host, sep, port = s.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ClientError(f"--server must be HOST:PORT, got {s!r}")
    return host.strip("[]"), int(port)


def exchange(server, pkt, ident, timeout, attempts, source=None):
    """Send pkt up to `attempts` times (the same packet, so the same
    authenticator), waiting `timeout` s after each; return the first reply
    with our Identifier, or None."""
    host, port = parse_server(server)
    family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        if source:
            sock.bind((source, 0))
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


# --- self-test -----------------------------------------------------------------

def self_test():
    h = bytes.fromhex
    checks = {}
    # RFC 2759 §9.2
    user, pw = b"User", "clientPass"
    auth_chal = h("5B5D7C7D7B3F2F3E3C2C602132262628")
    peer_chal = h("21402324255E262A28295F2B3A337C7E")
    ph = nt_password_hash(pw)
    checks["rfc2759_password_unicode"] = pw.encode("utf-16-le") == h(
        "63006C00690065006E0074005000610073007300")
    checks["rfc2759_challenge_hash"] = challenge_hash(peer_chal, auth_chal, user) == \
        h("D02E4386BCE91226")
    checks["rfc2759_nt_password_hash"] = ph == h("44EBBA8D5312B8D611474411F56989AE")
    nt = generate_nt_response(auth_chal, peer_chal, user, pw)
    checks["rfc2759_nt_response"] = nt == h("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
    phh = hash_nt_password_hash(ph)
    checks["rfc2759_password_hash_hash"] = phh == h("41C00C584BD2D91C4017A2A12FA59F3F")
    checks["rfc2759_authenticator_response"] = generate_authenticator_response(
        pw, nt, peer_chal, auth_chal, user) == "S=407A5589115FD0D6209F510FE9C04566932CDA56"
    # RFC 3079 §3.5.3 (128-bit): the same user, password and challenges
    mk = get_master_key(phh, nt)
    checks["rfc3079_master_key"] = mk == h("FDECE3717A8C838CB388E527AE3CDD31")
    send128 = get_asymmetric_start_key(mk, 16, True, True)  # the server's send key
    checks["rfc3079_send_start_key128"] = send128 == h("8B7CDC149B993A1BA118CB153F56DCCB")
    checks["rfc3079_send_session_key128"] = get_new_key_from_sha(send128, send128, 16) == \
        h("405CB2247A7956E6E211007AE27B22D4")
    # RFC 3079 prints no receive key: each side's receive key is the other's send key
    recv128 = get_asymmetric_start_key(mk, 16, False, True)
    checks["rfc3079_receive_start_key128"] = \
        get_asymmetric_start_key(mk, 16, False, False) == send128 and \
        get_asymmetric_start_key(mk, 16, True, False) == recv128 and recv128 != send128
    # RFC 3079 §3.5.1 (40-bit): start key, then session key with its first 3 octets
    # set to D1 26 9E (§3.1 ReduceSessionKey)
    send40 = get_asymmetric_start_key(mk, 8, True, True)
    checks["rfc3079_send_start_key40"] = send40 == h("8B7CDC149B993A1B")
    checks["rfc3079_send_session_key40"] = \
        h("D1269E") + get_new_key_from_sha(send40, send40, 8)[3:] == h("D1269EC49FA62E3E")
    # RFC 2548 §2.4.2 / RFC 2868 §3.5 hiding, both ways (no RFC vector exists)
    secret, ra, key = b"s3cret", bytes(range(16)), bytes(range(100, 116))
    enc = salt_encrypt(key, secret, ra, b"\x80\x01")
    checks["rfc2548_salt_round_trip"] = len(enc) == 34 and salt_decrypt(enc, secret, ra) == key \
        and salt_decrypt(enc, secret, bytes(16)) != key
    checks["rfc2865_hide_round_trip"] = unhide_password(
        hide_password(b"x" * 20, secret, ra), secret, ra) == b"x" * 20 + b"\0" * 12
    ok = all(checks.values())
    print(json.dumps({"self_test": "ok" if ok else "fail", "checks": checks}), flush=True)
    return 0 if ok else 1


def main():
    if "--self-test" in sys.argv[1:]:
        if len(sys.argv) != 2:
            print("mschap_client.py: --self-test takes no other options", file=sys.stderr)
            return 2
        return self_test()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--self-test", action="store_true",
                   help="check the crypto against RFC 2759 / RFC 3079 test vectors")
    p.add_argument("--server", required=True, help="HOST:PORT, e.g. 127.0.0.1:1812")
    p.add_argument("--secret", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password")
    p.add_argument("--method", default="mschapv2",
                   choices=["mschapv2", "mschap", "chap", "pap", "none"])
    p.add_argument("--nas-type", help="MS-Network-Access-Server-Type: rdg (1) or a number")
    p.add_argument("--proxy-state", nargs="+", action="extend", default=[], metavar="HEX",
                   help="Proxy-State values to send (hex)")
    p.add_argument("--state", help="State attribute to send, as hex")
    p.add_argument("--attr", nargs="+", action="extend", default=[], metavar="NAME=VALUE",
                   help="extra attributes by dictionary name")
    p.add_argument("--no-ma", action="store_true", help="send no Message-Authenticator")
    p.add_argument("--enforce-ma", action="store_true",
                   help="a reply without a valid Message-Authenticator is an error")
    p.add_argument("--source", help="local address to send from (default: any)")
    p.add_argument("--timeout", type=float, default=2.0, help="seconds per attempt (default 2)")
    p.add_argument("--retries", type=int, default=1,
                   help="attempts in all, as pyrad counts them (default 1)")
    a = p.parse_args()
    if a.method != "none" and a.password is None:
        p.error("--password is required (unless --method none)")
    if a.timeout <= 0 or a.retries < 1:
        p.error("--timeout must be > 0 and --retries >= 1")

    try:
        d = load_dictionary()
        secret = a.secret.encode()
        req_auth = os.urandom(16)
        ident = os.urandom(1)[0]
        req = {"authenticator": req_auth, "method": a.method}
        attrs = [attr(USER_NAME, a.user.encode())]
        attrs += method_attrs(a, secret, req_auth, req)
        if a.nas_type is not None:
            t = NAS_TYPES.get(a.nas_type.lower())
            if t is None:
                try:
                    t = int(a.nas_type, 0)
                except ValueError:
                    raise ClientError(f"--nas-type must be rdg or a number: {a.nas_type!r}") from None
            attrs.append(vsa(MICROSOFT, MS_NETWORK_ACCESS_SERVER_TYPE, struct.pack("!I", t)))
        attrs += [encode_attr_arg(d, s) for s in a.attr]
        if a.state is not None:
            attrs.append(attr(STATE, parse_hex("--state", a.state)))
        attrs += [attr(PROXY_STATE, parse_hex("--proxy-state", s)) for s in a.proxy_state]
        pkt = build_request(ident, req_auth, attrs, secret, not a.no_ma)
        data = exchange(a.server, pkt, ident, a.timeout, a.retries, a.source)
        result = {"code": "timeout"} if data is None else \
            check_reply(d, data, req, secret, a.enforce_ma)
    except Exception as e:  # noqa: BLE001 - any failure is exit 2 for the caller
        print(f"mschap_client.py: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
