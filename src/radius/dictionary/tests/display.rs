//! How each kind of value displays, and that what is encoded displays as written.

use super::*;

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
