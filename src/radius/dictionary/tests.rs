//! The dictionary against FreeRADIUS's own files' numbers and flags, and every encoding.
use super::*;

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn encoded(name: &str, value: Value) -> Vec<u8> {
    let a = parse_assignment(name, &value).unwrap();
    let mut out = Vec::new();
    encode(&a, &mut out).unwrap();
    out
}

fn err(name: &str, value: Value) -> DictError {
    parse_assignment(name, &value).unwrap_err()
}

/// The one sub-attribute of one Vendor-Specific, decoded with the codec.
fn vsa(out: &[u8]) -> (u32, u8, Vec<u8>) {
    assert_eq!(out[0], codec::ATTR_VENDOR_SPECIFIC);
    assert_eq!(out[1] as usize, out.len());
    let (vendor, subs) = codec::vendor_attrs(&out[2..]).unwrap();
    assert_eq!(subs.len(), 1);
    (vendor, subs[0].0, subs[0].1.to_vec())
}

#[test]
fn numbers_match_the_freeradius_dictionaries() {
    // Read off /usr/share/freeradius/dictionary.* (FreeRADIUS 3.2.1).
    use Hiding::{Salted, UserPassword};
    use Kind::*;
    #[rustfmt::skip]
    let expected: &[(&str, u32, u8, Kind, bool, Hiding)] = &[
        ("User-Name", 0, 1, Text, false, Hiding::None),
        ("User-Password", 0, 2, Text, false, UserPassword),
        ("Framed-IP-Address", 0, 8, Ipv4, false, Hiding::None),
        ("Filter-Id", 0, 11, Text, false, Hiding::None),
        ("Class", 0, 25, Octets, false, Hiding::None),
        ("Vendor-Specific", 0, 26, Vsa, false, Hiding::None),
        ("Session-Timeout", 0, 27, Integer, false, Hiding::None),
        ("Acct-Input-Octets", 0, 42, Integer, false, Hiding::None), // 2866
        ("Event-Timestamp", 0, 55, Date, false, Hiding::None), // 2869
        ("Tunnel-Type", 0, 64, Integer, true, Hiding::None), // 2868
        ("Acct-Tunnel-Connection", 0, 68, Text, false, Hiding::None), // 2867
        ("Tunnel-Password", 0, 69, Text, true, Salted),
        ("EAP-Message", 0, 79, Octets, false, Hiding::None),
        ("Message-Authenticator", 0, 80, Octets, false, Hiding::None),
        ("Tunnel-Private-Group-Id", 0, 81, Text, true, Hiding::None),
        ("Acct-Tunnel-Packets-Lost", 0, 86, Integer, false, Hiding::None),
        ("Chargeable-User-Identity", 0, 89, Octets, false, Hiding::None),
        ("NAS-IPv6-Address", 0, 95, Ipv6, false, Hiding::None), // 3162
        ("Framed-Interface-Id", 0, 96, Ifid, false, Hiding::None),
        ("Framed-IPv6-Prefix", 0, 97, Ipv6Prefix, false, Hiding::None),
        ("Framed-IPv6-Pool", 0, 100, Text, false, Hiding::None),
        ("Error-Cause", 0, 101, Integer, false, Hiding::None), // 3576
        ("Delegated-IPv6-Prefix", 0, 123, Ipv6Prefix, false, Hiding::None), // 4818
        ("Framed-IPv6-Address", 0, 168, Ipv6, false, Hiding::None), // 6911
        ("Cisco-AVPair", 9, 1, Text, false, Hiding::None),
        ("Cisco-NAS-Port", 9, 2, Text, false, Hiding::None),
        ("h323-conf-id", 9, 24, Text, false, Hiding::None),
        ("Cisco-Xmit-Rate", 9, 255, Integer, false, Hiding::None),
        ("MS-CHAP-Response", 311, 1, Octets, false, Hiding::None),
        ("MS-CHAP-Error", 311, 2, Text, false, Hiding::None),
        ("MS-MPPE-Encryption-Types", 311, 8, Integer, false, Hiding::None),
        ("MS-MPPE-Encryption-Type", 311, 8, Integer, false, Hiding::None),
        ("MS-CHAP-MPPE-Keys", 311, 12, Octets, false, UserPassword),
        ("MS-MPPE-Send-Key", 311, 16, Octets, false, Salted),
        ("MS-MPPE-Recv-Key", 311, 17, Octets, false, Salted),
        ("MS-CHAP2-Success", 311, 26, Octets, false, Hiding::None),
        ("MS-Primary-DNS-Server", 311, 28, Ipv4, false, Hiding::None),
        ("MS-Quarantine-IPFilter", 311, 36, Octets, false, Hiding::None),
        ("MS-Quarantine-Session-Timeout", 311, 37, Integer, false, Hiding::None),
        ("MS-Quarantine-User-Class", 311, 44, Text, false, Hiding::None),
        ("MS-Quarantine-State", 311, 45, Integer, false, Hiding::None),
        ("MS-Quarantine-Grace-Time", 311, 46, Integer, false, Hiding::None),
        ("MS-Network-Access-Server-Type", 311, 47, Integer, false, Hiding::None),
        ("MS-Quarantine-SOH", 311, 55, Octets, false, Hiding::None),
        ("MS-User-IPv6-Address", 311, 62, Ipv6, false, Hiding::None),
        ("MS-TSG-Device-Redirection", 311, 63, Integer, false, Hiding::None),
        ("ASA-Simultaneous-Logins", 3076, 2, Integer, false, Hiding::None),
        ("ASA-Group-Policy", 3076, 25, Text, false, Hiding::None),
        ("ASA-IPsec-Split-Tunnel-List", 3076, 27, Text, false, Hiding::None),
        ("ASA-Address-Pools", 3076, 217, Text, false, Hiding::None),
        ("ASA-Privilege-Level", 3076, 220, Integer, false, Hiding::None),
        ("ASA-TunnelGroupName", 3076, 146, Text, false, Hiding::None),
        ("CVPN3000-Access-Hours", 3076, 1, Text, false, Hiding::None),
        ("CVPN3000-IPSec-LTL-Keepalives", 3076, 25, Integer, false, Hiding::None),
        ("CVPN3000-IPSec-Group-Name", 3076, 26, Text, false, Hiding::None),
        ("Fortinet-Group-Name", 12356, 1, Text, false, Hiding::None),
        ("Fortinet-Client-IP-Address", 12356, 2, Ipv4, false, Hiding::None),
        ("Fortinet-Client-IPv6-Address", 12356, 4, Octets, false, Hiding::None),
        ("Fortinet-Access-Profile", 12356, 6, Text, false, Hiding::None),
        ("Fortinet-WirelessController-Device-MAC", 12356, 23, Ether, false, Hiding::None),
        ("Fortinet-WirelessController-Assoc-Time", 12356, 25, Date, false, Hiding::None),
        ("Fortinet-Host-Port-AVPair", 12356, 42, Text, false, Hiding::None),
        ("PaloAlto-Admin-Role", 25461, 1, Text, false, Hiding::None),
        ("PaloAlto-User-Group", 25461, 5, Text, false, Hiding::None),
        ("PaloAlto-GlobalProtect-Client-Version", 25461, 10, Text, false, Hiding::None),
    ];
    for &(name, vendor, code, kind, tagged, hiding) in expected {
        let d = lookup(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(
            (d.name, d.vendor, d.code, d.kind, d.tagged, d.hiding),
            (name, vendor, code, kind, tagged, hiding),
        );
    }
    let nas_type = lookup("MS-Network-Access-Server-Type").unwrap();
    assert!(nas_type.values.contains(&("Terminal-Server-Gateway", 1)));
    assert!(nas_type.values.contains(&("HCAP-Server", 6)));
    assert!(lookup("Tunnel-Type")
        .unwrap()
        .values
        .contains(&("VLAN", 13)));
    assert!(lookup("Service-Type")
        .unwrap()
        .values
        .contains(&("Authorize-Only", 17)));
    // Values belong to the number: both spellings of number 8 have them.
    assert!(lookup("MS-MPPE-Encryption-Type")
        .unwrap()
        .values
        .contains(&("RC4-128bit-Allowed", 2)));
}

#[test]
fn every_attribute_of_every_file_is_there() {
    // `grep -c ^ATTRIBUTE` of each file: RFC 2865 41, 2866 12, 2867 2, 2868 10, 2869 18,
    // 3162 6, 3576 1, 4372 1, 4675 4, 4818 1, 4849 1, 6911 5; microsoft 59, cisco 109,
    // cisco.asa 149 + cisco.vpn3000 116, fortinet 32, paloalto 10.
    let names = |vendor: u32| all().filter(|d| d.vendor == vendor).count();
    let numbers = |vendor: u32| tables::ATTRS.iter().filter(|d| d.vendor == vendor).count();
    assert_eq!((names(0), numbers(0)), (102, 102));
    assert_eq!((names(311), numbers(311)), (59, 58));
    assert_eq!((names(9), numbers(9)), (109, 109));
    assert_eq!((names(3076), numbers(3076)), (265, 157));
    assert_eq!((names(12356), numbers(12356)), (32, 32));
    assert_eq!((names(25461), numbers(25461)), (10, 10));
    assert_eq!(all().count(), 577);
}

#[test]
fn tables_have_no_duplicates() {
    let mut names = std::collections::HashSet::new();
    for d in all() {
        assert!(
            names.insert(d.name.to_ascii_lowercase()),
            "{} twice",
            d.name
        );
        let mut values = std::collections::HashSet::new();
        for (v, _) in d.values {
            assert!(
                values.insert(v.to_ascii_lowercase()),
                "{}: {v} twice",
                d.name
            );
        }
        assert!(d.values.is_empty() || d.kind == Kind::Integer, "{}", d.name);
        assert!(!d.tagged || d.vendor == 0, "{}", d.name);
    }
    // Strictly ascending (vendor, code) is both "no pair twice" and what by_code needs.
    for w in tables::ATTRS.windows(2) {
        assert!(
            (w[0].vendor, w[0].code) < (w[1].vendor, w[1].code),
            "{} / {}",
            w[0].name,
            w[1].name
        );
    }
    for d in tables::ATTRS {
        assert_eq!(by_code(d.vendor, d.code), Some(d));
    }
    for d in tables::ALIASES {
        let primary = by_code(d.vendor, d.code).unwrap();
        assert_ne!(primary.name, d.name);
    }
}

#[test]
fn names_match_case_insensitively() {
    assert_eq!(lookup("filter-id").unwrap().name, "Filter-Id");
    assert_eq!(lookup("FILTER-ID").unwrap().name, "Filter-Id");
    assert_eq!(lookup("ms-chap-error").unwrap().code, 2);
    assert_eq!(lookup("H323-CONF-ID").unwrap().name, "h323-conf-id");
    assert_eq!(lookup("Filter-Id "), None);
    let a = parse_assignment("tunnel-type:1", &text("vlan")).unwrap();
    assert_eq!((a.def.name, a.tag), ("Tunnel-Type", Some(1)));
    assert_eq!(a.value, [0, 0, 0, 13]);
    let a = parse_assignment(
        "ms-network-access-server-type",
        &text("terminal-server-gateway"),
    );
    assert_eq!(a.unwrap().value, [0, 0, 0, 1]);
}

#[test]
fn by_code_prints_the_name_freeradius_prints() {
    assert_eq!(by_code(0, 25).unwrap().name, "Class");
    assert_eq!(by_code(311, 8).unwrap().name, "MS-MPPE-Encryption-Types");
    assert_eq!(by_code(3076, 25).unwrap().name, "ASA-Group-Policy");
    assert_eq!(by_code(3076, 1).unwrap().name, "CVPN3000-Access-Hours");
    assert_eq!(by_code(3076, 73).unwrap().name, "ASA-WebVPNACL");
    assert_eq!(by_code(0, 200), None);
    assert_eq!(by_code(311, 99), None);
    assert_eq!(by_code(4242, 1), None);
}

#[test]
fn encodes_each_kind_byte_for_byte() {
    assert_eq!(encoded("Filter-Id", text("staff")), b"\x0b\x07staff");
    assert_eq!(encoded("Filter-Id", Value::Integer(42)), b"\x0b\x0442");
    assert_eq!(
        encoded("Class", text("OU=vpn-admins;")),
        b"\x19\x10OU=vpn-admins;"
    );
    assert_eq!(encoded("Class", text("0x0102fF")), [25, 5, 1, 2, 0xff]);
    assert_eq!(
        encoded("Session-Timeout", Value::Integer(3600)),
        [27, 6, 0, 0, 0x0e, 0x10]
    );
    assert_eq!(
        encoded("Session-Timeout", text("3600")),
        [27, 6, 0, 0, 0x0e, 0x10]
    );
    assert_eq!(
        encoded("Service-Type", text("Framed-User")),
        [6, 6, 0, 0, 0, 2]
    );
    assert_eq!(
        encoded("Session-Timeout", Value::Integer(u32::MAX.into())),
        [27, 6, 0xff, 0xff, 0xff, 0xff]
    );
    assert_eq!(
        encoded("Framed-IP-Address", text("10.0.0.5")),
        [8, 6, 10, 0, 0, 5]
    );
    let mut v6 = vec![95, 18, 0x20, 0x01, 0x0d, 0xb8];
    v6.extend([0; 11]);
    v6.push(1);
    assert_eq!(encoded("NAS-IPv6-Address", text("2001:db8::1")), v6);
    // The prefix layouts radclient sends for the same text (FreeRADIUS 3.2.1).
    let prefix = |bytes: &str| {
        let mut v = vec![97, 20];
        v.extend(hex_decode(bytes).unwrap());
        v
    };
    assert_eq!(
        encoded("Framed-IPv6-Prefix", text("2001:db8::/64")),
        prefix("004020010db8000000000000000000000000")
    );
    assert_eq!(
        encoded("Framed-IPv6-Prefix", text("2001:db8:1:8000::/49")),
        prefix("003120010db8000180000000000000000000")
    );
    assert_eq!(
        encoded("Framed-IPv6-Prefix", text("::/0")),
        prefix(&"0".repeat(36))
    );
    assert_eq!(
        encoded("Framed-IPv6-Prefix", text("2001:db8::1")),
        prefix("008020010db8000000000000000000000001")
    );
    assert_eq!(
        encoded("Framed-Interface-Id", text("0:0:0:1")),
        [96, 10, 0, 0, 0, 0, 0, 0, 0, 1]
    );
    assert_eq!(
        encoded("Framed-Interface-Id", text("21a:2bff:fe3c:4d5e")),
        [96, 10, 0x02, 0x1a, 0x2b, 0xff, 0xfe, 0x3c, 0x4d, 0x5e]
    );
    assert_eq!(
        encoded("Event-Timestamp", Value::Integer(1_700_000_000)),
        [55, 6, 0x65, 0x53, 0xf1, 0x00]
    );
    assert_eq!(
        encoded("Event-Timestamp", text("2023-11-14T22:13:20Z")),
        [55, 6, 0x65, 0x53, 0xf1, 0x00]
    );
    assert_eq!(
        vsa(&encoded(
            "Fortinet-WirelessController-Device-MAC",
            text("00:11:22:AA:bb:cc")
        )),
        (12356, 23, vec![0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc])
    );
    assert_eq!(
        vsa(&encoded(
            "Fortinet-WirelessController-Device-MAC",
            text("0-11-22-aa-bb-c")
        )),
        (12356, 23, vec![0x00, 0x11, 0x22, 0xaa, 0xbb, 0x0c])
    );
}

#[test]
fn encodes_tags_as_rfc_2868_lays_them_out() {
    // radclient's bytes for the same lines.
    assert_eq!(encoded("Tunnel-Type:1", text("VLAN")), [64, 6, 1, 0, 0, 13]);
    assert_eq!(encoded("Tunnel-Type", text("VLAN")), [64, 6, 0, 0, 0, 13]);
    assert_eq!(
        encoded("Tunnel-Medium-Type", text("IEEE-802")),
        [65, 6, 0, 0, 0, 6]
    );
    assert_eq!(
        encoded("Tunnel-Medium-Type:31", Value::Integer(6)),
        [65, 6, 31, 0, 0, 6]
    );
    assert_eq!(
        encoded("Tunnel-Private-Group-Id:2", text("42")),
        [81, 5, 2, b'4', b'2']
    );
    assert_eq!(
        encoded("Tunnel-Private-Group-Id: 2", Value::Integer(42)),
        [81, 5, 2, b'4', b'2']
    );
    assert_eq!(
        encoded("Tunnel-Client-Endpoint", text("abc")),
        b"\x42\x05abc"
    );
    // Where radclient sends 01 78 and so reads back tag 1, we keep the value's first octet.
    assert_eq!(
        encoded("Tunnel-Private-Group-Id", text("\u{1}x")),
        [81, 5, 0, 1, b'x']
    );
    let max = parse_assignment("Tunnel-Type:1", &Value::Integer(0x00ff_ffff)).unwrap();
    assert_eq!(max.value, [0, 0xff, 0xff, 0xff]);
}

#[test]
fn vendor_attributes_decode_back_with_the_codec() {
    // radclient: 26 12 00000137 2f 06 00000001.
    let out = encoded(
        "MS-Network-Access-Server-Type",
        text("Terminal-Server-Gateway"),
    );
    assert_eq!(out, [26, 12, 0, 0, 1, 0x37, 47, 6, 0, 0, 0, 1]);
    assert_eq!(vsa(&out), (311, 47, vec![0, 0, 0, 1]));
    let cases: &[(&str, &str, u32, u8)] = &[
        ("Cisco-AVPair", "shell:priv-lvl=15", 9, 1),
        ("Fortinet-Group-Name", "vpn", 12356, 1),
        ("PaloAlto-User-Group", "admins", 25461, 5),
        ("ASA-Group-Policy", "vpn-users", 3076, 25),
        ("MS-CHAP-Error", "E=691 R=0 V=3", 311, 2),
    ];
    for &(name, value, vendor, code) in cases {
        assert_eq!(
            vsa(&encoded(name, text(value))),
            (vendor, code, value.as_bytes().to_vec()),
            "{name}"
        );
    }
    // The VPN 3000 name keeps the concentrator's integer at the number ASA uses for text.
    assert_eq!(
        vsa(&encoded("CVPN3000-IPSec-LTL-Keepalives", text("ON"))),
        (3076, 25, vec![0, 0, 0, 1])
    );
    assert_eq!(
        vsa(&encoded("Fortinet-Client-IP-Address", text("192.0.2.7"))),
        (12356, 2, vec![192, 0, 2, 7])
    );
}

#[test]
fn lengths_are_limited_not_truncated() {
    let long = |n: usize| text(&"a".repeat(n));
    assert_eq!(encoded("Filter-Id", long(253)).len(), 255);
    assert_eq!(
        err("Filter-Id", long(254)),
        DictError::TooLong {
            attr: "Filter-Id",
            len: 254,
            max: 253
        }
    );
    assert_eq!(vsa(&encoded("Cisco-AVPair", long(247))).2.len(), 247);
    assert_eq!(
        err("cisco-avpair", long(248)),
        DictError::TooLong {
            attr: "Cisco-AVPair",
            len: 248,
            max: 247
        }
    );
    assert_eq!(encoded("Tunnel-Private-Group-Id:1", long(252)).len(), 255);
    assert_eq!(
        err("Tunnel-Private-Group-Id", long(253)),
        DictError::TooLong {
            attr: "Tunnel-Private-Group-Id",
            len: 253,
            max: 252
        }
    );
    assert!(parse_assignment("User-Password", &long(128)).is_ok());
    assert_eq!(
        err("User-Password", long(129)),
        DictError::TooLong {
            attr: "User-Password",
            len: 129,
            max: 128
        }
    );
    assert!(parse_assignment("Tunnel-Password:1", &long(239)).is_ok());
    assert_eq!(
        err("Tunnel-Password", long(240)),
        DictError::TooLong {
            attr: "Tunnel-Password",
            len: 240,
            max: 239
        }
    );
    assert_eq!(
        err("Class", text(&format!("0x{}", "ab".repeat(254)))),
        DictError::TooLong {
            attr: "Class",
            len: 254,
            max: 253
        }
    );
}

#[test]
fn every_error_names_the_attribute_and_the_fault() {
    let e = err("Fillter-Id", text("staff"));
    assert_eq!(
        e,
        DictError::UnknownAttribute {
            name: "Fillter-Id".into(),
            suggestion: Some("Filter-Id")
        }
    );
    assert_eq!(
        e.to_string(),
        "unknown RADIUS attribute `Fillter-Id` (did you mean `Filter-Id`?)"
    );
    assert_eq!(
        err("fortinet-group-nmae", text("x")),
        DictError::UnknownAttribute {
            name: "fortinet-group-nmae".into(),
            suggestion: Some("Fortinet-Group-Name")
        }
    );
    let e = err("Xyzzy", text("x"));
    assert_eq!(
        e,
        DictError::UnknownAttribute {
            name: "Xyzzy".into(),
            suggestion: None
        }
    );
    assert_eq!(e.to_string(), "unknown RADIUS attribute `Xyzzy`");

    let e = err("Framed-IP-Address", Value::Integer(5));
    assert!(matches!(
        e,
        DictError::WrongKind {
            attr: "Framed-IP-Address",
            ..
        }
    ));
    assert!(e.to_string().contains("IPv4 address"), "{e}");
    for name in [
        "Class",
        "NAS-IPv6-Address",
        "Framed-IPv6-Prefix",
        "Framed-Interface-Id",
    ] {
        assert!(
            matches!(err(name, Value::Integer(1)), DictError::WrongKind { .. }),
            "{name}"
        );
    }

    let bad: &[(&str, &str)] = &[
        ("Framed-IP-Address", "10.0.0.256"),
        ("Framed-IP-Address", "010.0.0.1"),
        ("Framed-IP-Address", "vpn.example.com"),
        ("NAS-IPv6-Address", "2001:db8::g"),
        ("Framed-IPv6-Prefix", "2001:db8::/129"),
        ("Framed-IPv6-Prefix", "2001:db8::1/64"),
        ("Framed-IPv6-Prefix", "2001:db8::/x"),
        ("Framed-Interface-Id", "0:0:1"),
        ("Framed-Interface-Id", "0:0:0:12345"),
        ("Framed-Interface-Id", "0:0:0:+1"),
        ("Fortinet-WirelessController-Device-MAC", "00:11:22:aa:bb"),
        (
            "Fortinet-WirelessController-Device-MAC",
            "00:11:22:aa:bb:ccc",
        ),
        ("Class", "0x123"),
        ("Class", "0xzz"),
        ("Class", "0x+1"),
        ("Session-Timeout", "an hour"),
        ("Event-Timestamp", "yesterday"),
    ];
    for &(name, value) in bad {
        match err(name, text(value)) {
            DictError::BadValue { attr, value: v, .. } => {
                assert_eq!((attr, v.as_str()), (name, value));
            }
            e => panic!("{name} = {value}: {e:?}"),
        }
    }
    let e = err("Framed-IPv6-Prefix", text("2001:db8::1/64"));
    assert!(e.to_string().contains("no bits set past its length"), "{e}");
    let e = err("Filter-Id", text(""));
    assert!(
        e.to_string().contains("`Filter-Id`") && e.to_string().contains("empty"),
        "{e}"
    );
    assert!(matches!(
        err("Class", text("0x")),
        DictError::BadValue { attr: "Class", .. }
    ));

    let e = err("Tunnel-Type", text("VLANN"));
    assert!(matches!(
        e,
        DictError::UnknownValue {
            attr: "Tunnel-Type",
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "`Tunnel-Type` has no value named \"VLANN\"; write a number or one of PPTP, L2F, \
         L2TP, ATMP, VTP, AH, IP, MIN-IP (and 5 more)"
    );
    let e = err("Prompt", text("Loud"));
    assert!(e.to_string().ends_with("one of No-Echo, Echo"), "{e}");

    let range: &[(&str, i64, u32)] = &[
        ("Session-Timeout", -1, u32::MAX),
        ("Session-Timeout", 1 << 32, u32::MAX),
        ("Tunnel-Type:1", 0x0100_0000, 0x00ff_ffff),
        ("Event-Timestamp", -5, u32::MAX),
    ];
    for &(name, value, max) in range {
        match err(name, Value::Integer(value)) {
            DictError::OutOfRange {
                value: v, max: m, ..
            } => assert_eq!((v, m), (value, max)),
            e => panic!("{name} = {value}: {e:?}"),
        }
    }
    assert!(matches!(
        err("Session-Timeout", text("-3")),
        DictError::OutOfRange {
            attr: "Session-Timeout",
            value: -3,
            ..
        }
    ));

    let e = err("Filter-Id:1", text("staff"));
    assert_eq!(e, DictError::TagNotAllowed { attr: "Filter-Id" });
    assert!(e.to_string().starts_with("`Filter-Id` takes no tag"));
    for tag in ["0", "32", "x", "", "-1", "256"] {
        assert_eq!(
            err(&format!("Tunnel-Type:{tag}"), text("VLAN")),
            DictError::BadTag {
                attr: "Tunnel-Type",
                tag: tag.to_string()
            }
        );
    }

    let e = err("Vendor-Specific", text("0x00000009"));
    assert_eq!(
        e,
        DictError::NotAssignable {
            attr: "Vendor-Specific"
        }
    );
    assert!(e.to_string().contains("vendor attribute by name"));
}

#[test]
fn encode_refuses_what_the_caller_must_hide_or_that_is_malformed() {
    for (name, value) in [
        ("User-Password", "secret"),
        ("Tunnel-Password:1", "secret"),
        ("MS-MPPE-Send-Key", "0x00112233"),
        ("MS-MPPE-Recv-Key", "0x00112233"),
        ("MS-CHAP-MPPE-Keys", "0x00112233"),
    ] {
        let a = parse_assignment(name, &text(value)).unwrap();
        assert_eq!(
            a.value,
            if value.starts_with("0x") {
                vec![0, 0x11, 0x22, 0x33]
            } else {
                b"secret".to_vec()
            }
        );
        let mut out = vec![];
        let e = encode(&a, &mut out).unwrap_err();
        assert_eq!(e, DictError::NeedsHiding { attr: a.def.name });
        assert!(e.to_string().contains(a.def.name), "{e}");
        assert!(out.is_empty());
    }
    let a = parse_assignment("Tunnel-Password:3", &text("pw")).unwrap();
    assert_eq!((a.tag, a.value.as_slice()), (Some(3), &b"pw"[..]));

    // Hand-built assignments get the same checks as parsed ones.
    let mut out = vec![];
    let def = lookup("Session-Timeout").unwrap();
    let short = Assignment {
        def,
        tag: None,
        value: vec![1, 2],
    };
    assert_eq!(
        encode(&short, &mut out),
        Err(DictError::Malformed {
            attr: def.name,
            len: 2
        })
    );
    let def = lookup("Tunnel-Type").unwrap();
    let wide = Assignment {
        def,
        tag: Some(1),
        value: vec![1, 0, 0, 13],
    };
    assert_eq!(
        encode(&wide, &mut out),
        Err(DictError::Malformed {
            attr: def.name,
            len: 4
        })
    );
    let zero = Assignment {
        def,
        tag: Some(0),
        value: vec![0, 0, 0, 13],
    };
    assert_eq!(
        encode(&zero, &mut out),
        Err(DictError::BadTag {
            attr: def.name,
            tag: "0".into()
        })
    );
    let def = lookup("Filter-Id").unwrap();
    let tagged = Assignment {
        def,
        tag: Some(1),
        value: b"x".to_vec(),
    };
    assert_eq!(
        encode(&tagged, &mut out),
        Err(DictError::TagNotAllowed { attr: def.name })
    );
    let long = Assignment {
        def,
        tag: None,
        value: vec![b'a'; 300],
    };
    assert!(matches!(
        encode(&long, &mut out),
        Err(DictError::TooLong { len: 300, .. })
    ));
    let def = lookup("Vendor-Specific").unwrap();
    let container = Assignment {
        def,
        tag: None,
        value: vec![0, 0, 0, 9, 1, 3, b'x'],
    };
    assert_eq!(
        encode(&container, &mut out),
        Err(DictError::NotAssignable { attr: def.name })
    );
    assert!(out.is_empty());
}

#[test]
fn displays_each_kind() {
    assert_eq!(display(0, 11, b"staff"), "Filter-Id = \"staff\"");
    assert_eq!(
        display(0, 18, b"two\nlines \"q\""),
        "Reply-Message = \"two\\nlines \\\"q\\\"\""
    );
    assert_eq!(display(0, 18, &[0xff, 0xfe]), "Reply-Message = 0xfffe");
    assert_eq!(display(0, 25, b"OU=x;"), "Class = 0x4f553d783b");
    assert_eq!(
        display(0, 27, &[0, 0, 0x0e, 0x10]),
        "Session-Timeout = 3600"
    );
    assert_eq!(
        display(0, 27, &[0, 0x0e, 0x10]),
        "Session-Timeout = 0x000e10"
    );
    assert_eq!(display(0, 6, &[0, 0, 0, 2]), "Service-Type = Framed-User");
    assert_eq!(display(0, 6, &[0, 0, 0, 99]), "Service-Type = 99");
    // As radclient prints them: the later name for a number.
    assert_eq!(
        display(0, 40, &[0, 0, 0, 3]),
        "Acct-Status-Type = Interim-Update"
    );
    assert_eq!(display(0, 65, &[0, 0, 0, 1]), "Tunnel-Medium-Type = IPv4");
    assert_eq!(
        display(0, 8, &[10, 0, 0, 5]),
        "Framed-IP-Address = 10.0.0.5"
    );
    let mut v6 = vec![0x20, 0x01, 0x0d, 0xb8];
    v6.extend([0; 11]);
    v6.push(1);
    assert_eq!(display(0, 95, &v6), "NAS-IPv6-Address = 2001:db8::1");
    let mut prefix = vec![0, 64, 0x20, 0x01, 0x0d, 0xb8];
    assert_eq!(
        display(0, 97, &prefix),
        "Framed-IPv6-Prefix = 2001:db8::/64"
    );
    prefix.extend([0; 12]);
    assert_eq!(
        display(0, 97, &prefix),
        "Framed-IPv6-Prefix = 2001:db8::/64"
    );
    assert_eq!(display(0, 97, &[0, 129]), "Framed-IPv6-Prefix = 0x0081");
    assert_eq!(display(0, 97, &[0]), "Framed-IPv6-Prefix = 0x00");
    assert_eq!(
        display(0, 96, &[0, 0, 0, 0, 0, 0, 0, 1]),
        "Framed-Interface-Id = 0:0:0:1"
    );
    assert_eq!(
        display(0, 55, &[0x65, 0x53, 0xf1, 0x00]),
        "Event-Timestamp = 2023-11-14T22:13:20Z"
    );
    assert_eq!(
        display(12356, 23, &[0, 0x11, 0x22, 0xaa, 0xbb, 0xcc]),
        "Fortinet-WirelessController-Device-MAC = 00:11:22:aa:bb:cc"
    );
    assert_eq!(
        display(311, 47, &[0, 0, 0, 1]),
        "MS-Network-Access-Server-Type = Terminal-Server-Gateway"
    );
    assert_eq!(
        display(311, 8, &[0, 0, 0, 2]),
        "MS-MPPE-Encryption-Types = RC4-128bit-Allowed"
    );
    assert_eq!(display(3076, 25, b"vpn"), "ASA-Group-Policy = \"vpn\"");
    assert_eq!(
        display(25461, 5, b"admins"),
        "PaloAlto-User-Group = \"admins\""
    );
}

#[test]
fn displays_tags_hidden_values_unknown_and_vendor_specific() {
    assert_eq!(display(0, 64, &[1, 0, 0, 13]), "Tunnel-Type:1 = VLAN");
    assert_eq!(display(0, 64, &[0, 0, 0, 13]), "Tunnel-Type = VLAN");
    assert_eq!(
        display(0, 81, b"\x0242"),
        "Tunnel-Private-Group-Id:2 = \"42\""
    );
    assert_eq!(
        display(0, 81, b"\x0042"),
        "Tunnel-Private-Group-Id = \"42\""
    );
    assert_eq!(display(0, 81, b"42"), "Tunnel-Private-Group-Id = \"42\"");

    assert_eq!(
        display(0, 2, b"\x8c\x1a\x33\x44"),
        "User-Password = <hidden>"
    );
    assert_eq!(
        display(0, 69, &[1, 0x81, 0x02, 0xde, 0xad]),
        "Tunnel-Password:1 = <hidden>"
    );
    assert_eq!(
        display(311, 16, &[0x81, 0x02, 0xde, 0xad]),
        "MS-MPPE-Send-Key = <hidden>"
    );
    assert_eq!(
        display(311, 12, &[0xde, 0xad]),
        "MS-CHAP-MPPE-Keys = <hidden>"
    );

    assert_eq!(display(0, 200, &[1, 2]), "Attr-200 = 0x0102");
    assert_eq!(display(311, 99, &[0xab]), "Attr-26.311.99 = 0xab");
    assert_eq!(display(4242, 1, &[]), "Attr-26.4242.1 = 0x");

    let mut packet = Vec::new();
    encode(
        &parse_assignment("Cisco-AVPair", &text("shell:priv-lvl=15")).unwrap(),
        &mut packet,
    )
    .unwrap();
    assert_eq!(
        display(0, 26, &packet[2..]),
        "Cisco-AVPair = \"shell:priv-lvl=15\""
    );
    // Two sub-attributes in one Vendor-Specific, the second unknown.
    let both = [0, 0, 0x30, 0x44, 1, 5, b'v', b'p', b'n', 200, 3, 7];
    assert_eq!(
        display(0, 26, &both),
        "Fortinet-Group-Name = \"vpn\", Attr-26.12356.200 = 0x07"
    );
    assert_eq!(display(0, 26, &[0, 0, 1]), "Vendor-Specific = 0x000001");
}

#[test]
fn what_is_encoded_displays_as_written() {
    let lines: &[(&str, Value, &str)] = &[
        ("Tunnel-Type:1", text("vlan"), "Tunnel-Type:1 = VLAN"),
        (
            "Tunnel-Private-Group-Id:1",
            text("42"),
            "Tunnel-Private-Group-Id:1 = \"42\"",
        ),
        (
            "tunnel-private-group-id",
            text("\u{1}x"),
            "Tunnel-Private-Group-Id = \"\\u{1}x\"",
        ),
        (
            "Session-Timeout",
            Value::Integer(3600),
            "Session-Timeout = 3600",
        ),
        (
            "Framed-IPv6-Prefix",
            text("2001:db8:1:8000::/49"),
            "Framed-IPv6-Prefix = 2001:db8:1:8000::/49",
        ),
        (
            "MS-Quarantine-State",
            text("Probation"),
            "MS-Quarantine-State = Probation",
        ),
    ];
    for (name, value, shown) in lines {
        let mut out = Vec::new();
        encode(&parse_assignment(name, value).unwrap(), &mut out).unwrap();
        let (code, v) = (out[0], &out[2..]);
        assert_eq!(display(0, code, v), *shown);
    }
}
