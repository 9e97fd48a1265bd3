#!/usr/bin/env python3
"""Scriptable LDAP client for mfagate's integration tests (run as a subprocess).

usage: ldap_client.py --url ldap[s]://HOST[:PORT] [--ca CA.pem] [--starttls]
                      [--timeout SECONDS] STEPS_JSON

STEPS_JSON is a JSON array of steps ("-": read it from stdin), run in order on
ONE connection: ldaps:// is TLS from the start, ldap:// with --starttls sends
StartTLS first, plain ldap:// stays in clear text. TLS always verifies the
server's certificate against --ca (required for TLS) and the URL's host (an IP
address must be in an IP SAN, a name in a DNS SAN). Port default 389 / 636.
--timeout (default 10) bounds the TCP connect and each wait for a reply.

Steps (fields given as ... or OID are required; the others are optional, with
the value shown as their default):
  {"op": "bind", "dn": "", "password": "", ["password_b64": base64]}
      simple bind, sent as given: DN + empty password (an "unauthenticated"
      bind, RFC 4513 §5.1.2) and "" + "" (anonymous) too; password as UTF-8,
      no SASLprep (password_b64: exact octets instead)
  {"op": "search", "base": "", "filter": "(objectClass=*)", "scope": "sub"|"one"|"base",
   ["attrs": ["*"]], ["size_limit": 0], ["time_limit": 0], ["types_only": false],
   ["paged_size": N], ["paged_cookie": base64]}
      (attrs [] is sent as ["1.1"]; paged_size adds the simple paged results control)
  {"op": "compare", "dn": ..., "attribute": ..., "value": ...}
  {"op": "add", "dn": ..., "attributes": {"objectClass": [...], "cn": "x", ...}}
      (ldap3 refuses an add without objectClass values client-side: an "error")
  {"op": "modify", "dn": ..., "changes": {"description": [["MODIFY_REPLACE", ["x"]]]}}
      (MODIFY_ADD|MODIFY_DELETE|MODIFY_REPLACE|MODIFY_INCREMENT, or add|delete|replace|increment)
  {"op": "delete", "dn": ...}
  {"op": "modify_dn", "dn": ..., "new_rdn": "cn=x", ["delete_old_rdn": true], ["new_superior": dn]}
  {"op": "whoami"}                          RFC 4532 Who am I?
  {"op": "extended", "name": OID, ["value_b64": base64]}
  {"op": "unbind"}                          (sends UnbindRequest and closes)

Prints exactly one JSON line on stdout: an array with one object per step run,
in order. Every object has "op" and, for ops with a response, the LDAPResult:
  "result": int, "description": str (e.g. "invalidCredentials"),
  "message": str (diagnosticMessage), "matched_dn": str, "referrals": [url]|null
and per op:
  search    "entries": [{"dn": str, "attributes": {name: [base64 of the raw
            value octets, the base64 strings sorted]}}] (names as the server
            sent them; [] for typesOnly), "references": n (searchResRef count),
            "reference_uris": [url], "paged_cookie": base64|null (with paged_size)
  whoami    "whoami": the authzId (str, "" for anonymous) on success, else null
  extended  "response_name": str|null, "response_value": base64|null
  unbind    "result"/"description"/"message" null (no response exists)
If a step raises (e.g. the server closed the connection or sent a Notice of
Disconnection, a timeout, a filter ldap3 cannot parse), its object is
{"op": ..., "error": "<ExceptionClass>: <text>"} and no further step runs.
Exit status 0 whatever the LDAP results. Exit 2 with {"error": "..."} on stdout
for bad usage/steps or when the connection cannot be opened (TCP, TLS
handshake or certificate check, StartTLS refused; then also the StartTLS
"result"/"description"/"message" if there was one).

Passwords are never printed. Nothing is sent that the steps do not ask for:
no root DSE or schema reads, no referral chasing, no automatic range retrieval.
"""
import argparse
import base64
import ipaddress
import json
import math
import ssl
import sys
from urllib.parse import urlsplit


class UsageError(Exception):
    pass


def out(obj, status=0):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    sys.exit(status)


class Parser(argparse.ArgumentParser):
    def error(self, message):  # JSON on stdout like every other failure
        out({"error": f"usage: {message}"}, 2)


def b64(data):
    return base64.b64encode(bytes(data)).decode("ascii")


def unb64(field, value):
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, TypeError) as e:
        raise UsageError(f"{field}: not base64: {e}")


# --- steps ----------------------------------------------------------------

# op -> (required fields, optional fields)
OPS = {
    "bind": ((), ("dn", "password", "password_b64")),
    "search": ((), ("base", "filter", "scope", "attrs", "size_limit", "time_limit",
                    "types_only", "paged_size", "paged_cookie")),
    "compare": (("dn", "attribute", "value"), ()),
    "add": (("dn", "attributes"), ()),
    "modify": (("dn", "changes"), ()),
    "delete": (("dn",), ()),
    "modify_dn": (("dn", "new_rdn"), ("delete_old_rdn", "new_superior")),
    "whoami": ((), ()),
    "extended": (("name",), ("value_b64",)),
    "unbind": ((), ()),
}
SCOPES = {"base": "BASE", "one": "LEVEL", "sub": "SUBTREE"}
MODIFY_OPS = {"add": "MODIFY_ADD", "delete": "MODIFY_DELETE", "replace": "MODIFY_REPLACE",
              "increment": "MODIFY_INCREMENT"}


def check_steps(steps):
    if not isinstance(steps, list):
        raise UsageError("STEPS_JSON must be a JSON array")
    for i, s in enumerate(steps):
        if not isinstance(s, dict) or s.get("op") not in OPS:
            raise UsageError(f"step {i}: an object with op one of {sorted(OPS)}")
        required, optional = OPS[s["op"]]
        missing = [f for f in required if f not in s]
        unknown = [f for f in s if f != "op" and f not in required and f not in optional]
        if missing or unknown:
            raise UsageError(f"step {i} ({s['op']}): missing {missing}, unknown {unknown}")
        if s["op"] == "search" and s.get("scope", "sub") not in SCOPES:
            raise UsageError(f"step {i}: scope must be one of {sorted(SCOPES)}")
        if s["op"] == "bind" and "password" in s and "password_b64" in s:
            raise UsageError(f"step {i}: password or password_b64, not both")
        for f in ("password_b64", "paged_cookie", "value_b64"):
            if f in s:
                unb64(f"step {i}: {f}", s[f])


def ldap_result(conn):
    r = conn.result or {}
    return {"result": r.get("result"), "description": r.get("description"),
            "message": r.get("message"), "matched_dn": r.get("dn"),
            "referrals": r.get("referrals")}


def do_bind(conn, s):
    # Built here rather than with conn.bind()/rebind(): ldap3 refuses a simple
    # bind with an empty DN or an empty password on the client side
    # (LDAPUserNameIsMandatoryError / LDAPPasswordIsMandatoryError, nothing is
    # sent), applies SASLprep to the password, and reads the root DSE after a
    # successful bind. The request is the same BindRequest ldap3 would build.
    from ldap3.protocol.rfc4511 import AuthenticationChoice, BindRequest, Simple, Version
    if "password_b64" in s:
        password = unb64("password_b64", s["password_b64"])
    else:
        password = str(s.get("password", "")).encode("utf-8")
    req = BindRequest()
    req["version"] = Version(3)
    req["name"] = str(s.get("dn", ""))
    req["authentication"] = AuthenticationChoice().setComponentByName("simple", Simple(password))
    conn.post_send_single_response(conn.send("bindRequest", req, None))
    conn.bound = conn.result is not None and conn.result.get("result") == 0
    return ldap_result(conn)


def do_search(conn, s):
    import ldap3
    kw = {}
    if "paged_size" in s:
        kw["paged_size"] = int(s["paged_size"])
        if "paged_cookie" in s:
            kw["paged_cookie"] = unb64("paged_cookie", s["paged_cookie"])
    conn.search(s.get("base", ""), s.get("filter", "(objectClass=*)"),
                search_scope=getattr(ldap3, SCOPES[s.get("scope", "sub")]),
                attributes=list(s.get("attrs", ["*"])),
                size_limit=int(s.get("size_limit", 0)), time_limit=int(s.get("time_limit", 0)),
                types_only=bool(s.get("types_only", False)), **kw)
    res = ldap_result(conn)
    entries, uris, refs = [], [], 0
    for item in conn.response or []:
        if item.get("type") == "searchResEntry":
            # (ldap3 gives None for an attribute without values, e.g. typesOnly)
            attrs = {str(name): sorted(b64(v) for v in values or ())
                     for name, values in (item.get("raw_attributes") or {}).items()}
            entries.append({"dn": item.get("dn"), "attributes": attrs})
        elif item.get("type") == "searchResRef":
            refs += 1
            uris.extend(item.get("uri") or [])
    res.update(entries=entries, references=refs, reference_uris=uris)
    if "paged_size" in s:
        ctrl = ((conn.result or {}).get("controls") or {}).get("1.2.840.113556.1.4.319")
        cookie = ((ctrl or {}).get("value") or {}).get("cookie")
        res["paged_cookie"] = b64(cookie) if cookie else None
    return res


def do_modify(conn, s):
    changes = {}
    for attr, change in s["changes"].items():
        if not isinstance(change, list) or not change:
            raise UsageError(f"modify: changes[{attr!r}]: [[OP, [values]], ...]")
        if isinstance(change[0], str):  # one change: [OP, [values]]
            change = [change]
        conv = []
        for c in change:
            if not isinstance(c, list) or len(c) != 2 or not isinstance(c[0], str):
                raise UsageError(f"modify: changes[{attr!r}]: [[OP, [values]], ...]")
            op = MODIFY_OPS.get(c[0].lower(), c[0].upper())
            conv.append((op, c[1] if isinstance(c[1], list) else [c[1]]))
        changes[attr] = conv
    conn.modify(s["dn"], changes)
    return ldap_result(conn)


def do_extended(conn, name, value=None):
    conn.extended(name, value)
    res = ldap_result(conn)
    r = conn.result or {}
    res["response_name"] = r.get("responseName") or None
    rv = r.get("responseValue")
    res["response_value"] = b64(rv) if rv is not None and (rv or r.get("responseName")) else None
    return res


def run_step(conn, s):
    op = s["op"]
    if conn.closed:
        raise ConnectionError("connection is closed")
    if op == "bind":
        return do_bind(conn, s)
    if op == "search":
        return do_search(conn, s)
    if op == "compare":
        conn.compare(s["dn"], s["attribute"], s["value"])
        return ldap_result(conn)
    if op == "add":
        conn.add(s["dn"], attributes=s["attributes"])
        return ldap_result(conn)
    if op == "modify":
        return do_modify(conn, s)
    if op == "delete":
        conn.delete(s["dn"])
        return ldap_result(conn)
    if op == "modify_dn":
        conn.modify_dn(s["dn"], s["new_rdn"], delete_old_dn=bool(s.get("delete_old_rdn", True)),
                       new_superior=s.get("new_superior"))
        return ldap_result(conn)
    if op == "whoami":
        conn.extend.standard.who_am_i()
        r = conn.result or {}
        # who_am_i() itself returns None for an empty authzId (anonymous): use
        # the raw response value instead, so that "" and "no answer" differ.
        who = None
        if r.get("result") == 0:
            who = bytes(r.get("responseValue") or b"").decode("utf-8", "replace")
        res = ldap_result(conn)
        res["whoami"] = who
        return res
    if op == "extended":
        value = unb64("value_b64", s["value_b64"]) if "value_b64" in s else None
        return do_extended(conn, s["name"], value)
    if op == "unbind":
        conn.unbind()
        return {"result": None, "description": None, "message": None}
    raise UsageError(f"unknown op {op}")


# --- TLS host name check ----------------------------------------------------

def match_hostname(cert, hostname):
    """Like the ssl module's old match_hostname: ldap3 uses that one when the
    ssl module has it (Python < 3.12), else a backport that rejects IP
    addresses. Same rules here on every Python: an IP address must equal an
    IP SAN, a name must match a DNS SAN (wildcard in the leftmost label only);
    the CN is not looked at."""
    from ldap3.core.tls import CertificateError
    san = cert.get("subjectAltName", ()) if cert else ()
    try:
        ip = ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        ip = None
    if ip is not None:
        for kind, value in san:
            if kind == "IP Address":
                try:
                    if ipaddress.ip_address(value.strip()) == ip:
                        return
                except ValueError:
                    pass
        raise CertificateError(f"IP address {hostname} not in the certificate's IP SANs {san}")
    host = hostname.lower().rstrip(".")
    for kind, value in san:
        if kind != "DNS":
            continue
        pat = value.lower().rstrip(".")
        if pat == host:
            return
        if pat.startswith("*.") and "." in host:
            first, rest = host.split(".", 1)
            if first and rest == pat[2:]:
                return
    raise CertificateError(f"host name {hostname} not in the certificate's DNS SANs {san}")


# --- main -----------------------------------------------------------------------

def main():
    p = Parser(description="Scriptable LDAP test client (see the module docstring).")
    p.add_argument("--url", required=True, help="ldap://HOST[:PORT] or ldaps://HOST[:PORT]")
    p.add_argument("--ca", help="CA certificate (PEM) the server's must chain to")
    p.add_argument("--starttls", action="store_true", help="StartTLS first (ldap:// only)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    p.add_argument("steps", metavar="STEPS_JSON", help='JSON array of steps, or "-" for stdin')
    a = p.parse_args()

    try:
        u = urlsplit(a.url)
        if u.scheme not in ("ldap", "ldaps") or not u.hostname:
            raise UsageError("--url: ldap://HOST[:PORT] or ldaps://HOST[:PORT]")
        if u.path not in ("", "/") or u.query or u.fragment:
            raise UsageError("--url: no DN, attributes or other URL parts")
        try:
            port = u.port or (636 if u.scheme == "ldaps" else 389)
        except ValueError as e:
            raise UsageError(f"--url: {e}")
        use_ssl = u.scheme == "ldaps"
        if a.starttls and use_ssl:
            raise UsageError("--starttls is for ldap:// URLs")
        tls_wanted = use_ssl or a.starttls
        if tls_wanted and not a.ca:
            raise UsageError("--ca is required for ldaps:// and --starttls")
        if a.timeout <= 0:
            raise UsageError("--timeout must be > 0")
        try:
            steps = json.loads(sys.stdin.read() if a.steps == "-" else a.steps)
        except json.JSONDecodeError as e:
            raise UsageError(f"STEPS_JSON: {e}")
        check_steps(steps)
    except UsageError as e:
        out({"error": f"usage: {e}"}, 2)

    import ldap3
    import ldap3.core.tls
    ldap3.core.tls.match_hostname = match_hostname

    tls = None
    if tls_wanted:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=a.ca,
                        version=ssl.PROTOCOL_TLS_CLIENT)
    conn = None
    try:
        server = ldap3.Server(u.hostname, port=port, use_ssl=use_ssl, tls=tls,
                              get_info=ldap3.NONE, connect_timeout=a.timeout)
        conn = ldap3.Connection(server, auto_bind=ldap3.AUTO_BIND_NONE, auto_referrals=False,
                                raise_exceptions=False, client_strategy=ldap3.SYNC,
                                check_names=False, return_empty_attributes=False,
                                auto_range=False,
                                # whole seconds: ldap3 packs it into SO_RCVTIMEO as an integer
                                receive_timeout=max(1, math.ceil(a.timeout)))
        conn.open(read_server_info=False)
        if a.starttls:
            conn.start_tls(read_server_info=False)
    except Exception as e:  # noqa: BLE001 - any failure to open is reported the same way
        err = {"error": f"{type(e).__name__}: {e}"}
        if a.starttls and conn is not None and conn.result:
            err.update((k, v) for k, v in ldap_result(conn).items() if k != "referrals")
        out(err, 2)

    results = []
    for s in steps:
        entry = {"op": s["op"]}
        try:
            entry.update(run_step(conn, s))
            results.append(entry)
        except Exception as e:  # noqa: BLE001 - reported, then stop
            entry["error"] = f"{type(e).__name__}: {e}"
            results.append(entry)
            break
    try:
        if not conn.closed:
            conn.strategy.close()  # no UnbindRequest unless a step asked for one
    except Exception:  # noqa: BLE001
        pass
    out(results, 0)


if __name__ == "__main__":
    main()
