//! The dictionary against FreeRADIUS's own files' numbers and flags (here), every encoding
//! (`encode`) and how each kind displays (`display`).

mod display;
mod encode;

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
