//! Every kind encoded byte for byte, tags, vendor attributes, length limits and the errors.

use super::*;

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
