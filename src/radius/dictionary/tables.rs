//! The tables behind [`super`]: one [`AttrDef`] per attribute, generated once from the
//! FreeRADIUS 3.2.1 dictionaries in `/usr/share/freeradius` (copyright the FreeRADIUS Server
//! project and contributors, CC BY 4.0) and maintained by hand since. A name, number, type,
//! `has_tag`, `encrypt=` flag or VALUE here is what those files say; change it only with them.
//!
//! Standard attributes come from RFC 2865, 2866, 2867, 2868, 2869, 3162, 3576/5176
//! (Error-Cause), 4372, 4675, 4818, 4849 and 6911, with the VALUEs other RFC dictionaries add
//! to them (RFC 3580's `Tunnel-Type = VLAN`, RFC 4603's PPPoE port types, RFC 5607's
//! `Framed-Management`).

use super::Kind::{Date, Ether, Ifid, Integer, Ipv4, Ipv6, Ipv6Prefix, Octets, Text, Vsa};
use super::{AttrDef, Hiding, Kind};

mod values;
use values::*;

const STANDARD: u32 = 0;
const CISCO: u32 = 9;
const MICROSOFT: u32 = 311;
// dictionary.cisco.asa and dictionary.cisco.vpn3000 share this number (Cisco-ASA and
// Cisco-VPN3000); FreeRADIUS loads only the ASA file by default.
const CISCO_ASA: u32 = 3076;
const FORTINET: u32 = 12356;
const PALO_ALTO: u32 = 25461;

const fn a(vendor: u32, code: u8, name: &'static str, kind: Kind) -> AttrDef {
    AttrDef {
        name,
        vendor,
        code,
        kind,
        tagged: false,
        hiding: Hiding::None,
        values: &[],
    }
}

impl AttrDef {
    const fn tagged(self) -> Self {
        AttrDef {
            tagged: true,
            ..self
        }
    }

    const fn hidden(self, hiding: Hiding) -> Self {
        AttrDef { hiding, ..self }
    }

    const fn with_values(self, values: &'static [(&'static str, u32)]) -> Self {
        AttrDef { values, ..self }
    }
}

/// One entry per (vendor, number), sorted by that pair so `by_code` can search it. The name
/// is the one FreeRADIUS prints: the last its file defines for the number (it prints
/// `MS-MPPE-Encryption-Types`, not `-Type`).
#[rustfmt::skip]
pub(super) static ATTRS: &[AttrDef] = &[
    // Standard attributes (RFC in the trailing comment)
    a(STANDARD,   1, "User-Name", Text), // 2865
    a(STANDARD,   2, "User-Password", Text).hidden(Hiding::UserPassword), // 2865
    a(STANDARD,   3, "CHAP-Password", Octets), // 2865
    a(STANDARD,   4, "NAS-IP-Address", Ipv4), // 2865
    a(STANDARD,   5, "NAS-Port", Integer), // 2865
    a(STANDARD,   6, "Service-Type", Integer).with_values(SERVICE_TYPE), // 2865
    a(STANDARD,   7, "Framed-Protocol", Integer).with_values(FRAMED_PROTOCOL), // 2865
    a(STANDARD,   8, "Framed-IP-Address", Ipv4), // 2865
    a(STANDARD,   9, "Framed-IP-Netmask", Ipv4), // 2865
    a(STANDARD,  10, "Framed-Routing", Integer).with_values(FRAMED_ROUTING), // 2865
    a(STANDARD,  11, "Filter-Id", Text), // 2865
    a(STANDARD,  12, "Framed-MTU", Integer), // 2865
    a(STANDARD,  13, "Framed-Compression", Integer).with_values(FRAMED_COMPRESSION), // 2865
    a(STANDARD,  14, "Login-IP-Host", Ipv4), // 2865
    a(STANDARD,  15, "Login-Service", Integer).with_values(LOGIN_SERVICE), // 2865
    a(STANDARD,  16, "Login-TCP-Port", Integer).with_values(LOGIN_TCP_PORT), // 2865
    a(STANDARD,  18, "Reply-Message", Text), // 2865
    a(STANDARD,  19, "Callback-Number", Text), // 2865
    a(STANDARD,  20, "Callback-Id", Text), // 2865
    a(STANDARD,  22, "Framed-Route", Text), // 2865
    a(STANDARD,  23, "Framed-IPX-Network", Ipv4), // 2865
    a(STANDARD,  24, "State", Octets), // 2865
    a(STANDARD,  25, "Class", Octets), // 2865
    a(STANDARD,  26, "Vendor-Specific", Vsa), // 2865
    a(STANDARD,  27, "Session-Timeout", Integer), // 2865
    a(STANDARD,  28, "Idle-Timeout", Integer), // 2865
    a(STANDARD,  29, "Termination-Action", Integer).with_values(TERMINATION_ACTION), // 2865
    a(STANDARD,  30, "Called-Station-Id", Text), // 2865
    a(STANDARD,  31, "Calling-Station-Id", Text), // 2865
    a(STANDARD,  32, "NAS-Identifier", Text), // 2865
    a(STANDARD,  33, "Proxy-State", Octets), // 2865
    a(STANDARD,  34, "Login-LAT-Service", Text), // 2865
    a(STANDARD,  35, "Login-LAT-Node", Text), // 2865
    a(STANDARD,  36, "Login-LAT-Group", Octets), // 2865
    a(STANDARD,  37, "Framed-AppleTalk-Link", Integer), // 2865
    a(STANDARD,  38, "Framed-AppleTalk-Network", Integer), // 2865
    a(STANDARD,  39, "Framed-AppleTalk-Zone", Text), // 2865
    a(STANDARD,  40, "Acct-Status-Type", Integer).with_values(ACCT_STATUS_TYPE), // 2866
    a(STANDARD,  41, "Acct-Delay-Time", Integer), // 2866
    a(STANDARD,  42, "Acct-Input-Octets", Integer), // 2866
    a(STANDARD,  43, "Acct-Output-Octets", Integer), // 2866
    a(STANDARD,  44, "Acct-Session-Id", Text), // 2866
    a(STANDARD,  45, "Acct-Authentic", Integer).with_values(ACCT_AUTHENTIC), // 2866
    a(STANDARD,  46, "Acct-Session-Time", Integer), // 2866
    a(STANDARD,  47, "Acct-Input-Packets", Integer), // 2866
    a(STANDARD,  48, "Acct-Output-Packets", Integer), // 2866
    a(STANDARD,  49, "Acct-Terminate-Cause", Integer).with_values(ACCT_TERMINATE_CAUSE), // 2866
    a(STANDARD,  50, "Acct-Multi-Session-Id", Text), // 2866
    a(STANDARD,  51, "Acct-Link-Count", Integer), // 2866
    a(STANDARD,  52, "Acct-Input-Gigawords", Integer), // 2869
    a(STANDARD,  53, "Acct-Output-Gigawords", Integer), // 2869
    a(STANDARD,  55, "Event-Timestamp", Date), // 2869
    a(STANDARD,  56, "Egress-VLANID", Integer), // 4675
    a(STANDARD,  57, "Ingress-Filters", Integer).with_values(INGRESS_FILTERS), // 4675
    a(STANDARD,  58, "Egress-VLAN-Name", Text), // 4675
    a(STANDARD,  59, "User-Priority-Table", Octets), // 4675
    a(STANDARD,  60, "CHAP-Challenge", Octets), // 2865
    a(STANDARD,  61, "NAS-Port-Type", Integer).with_values(NAS_PORT_TYPE), // 2865
    a(STANDARD,  62, "Port-Limit", Integer), // 2865
    a(STANDARD,  63, "Login-LAT-Port", Text), // 2865
    a(STANDARD,  64, "Tunnel-Type", Integer).tagged().with_values(TUNNEL_TYPE), // 2868
    a(STANDARD,  65, "Tunnel-Medium-Type", Integer).tagged().with_values(TUNNEL_MEDIUM_TYPE), // 2868
    a(STANDARD,  66, "Tunnel-Client-Endpoint", Text).tagged(), // 2868
    a(STANDARD,  67, "Tunnel-Server-Endpoint", Text).tagged(), // 2868
    a(STANDARD,  68, "Acct-Tunnel-Connection", Text), // 2867
    a(STANDARD,  69, "Tunnel-Password", Text).tagged().hidden(Hiding::Salted), // 2868
    a(STANDARD,  70, "ARAP-Password", Octets), // 2869
    a(STANDARD,  71, "ARAP-Features", Octets), // 2869
    a(STANDARD,  72, "ARAP-Zone-Access", Integer).with_values(ARAP_ZONE_ACCESS), // 2869
    a(STANDARD,  73, "ARAP-Security", Integer), // 2869
    a(STANDARD,  74, "ARAP-Security-Data", Text), // 2869
    a(STANDARD,  75, "Password-Retry", Integer), // 2869
    a(STANDARD,  76, "Prompt", Integer).with_values(PROMPT), // 2869
    a(STANDARD,  77, "Connect-Info", Text), // 2869
    a(STANDARD,  78, "Configuration-Token", Text), // 2869
    a(STANDARD,  79, "EAP-Message", Octets), // 2869
    a(STANDARD,  80, "Message-Authenticator", Octets), // 2869
    a(STANDARD,  81, "Tunnel-Private-Group-Id", Text).tagged(), // 2868
    a(STANDARD,  82, "Tunnel-Assignment-Id", Text).tagged(), // 2868
    a(STANDARD,  83, "Tunnel-Preference", Integer).tagged(), // 2868
    a(STANDARD,  84, "ARAP-Challenge-Response", Octets), // 2869
    a(STANDARD,  85, "Acct-Interim-Interval", Integer), // 2869
    a(STANDARD,  86, "Acct-Tunnel-Packets-Lost", Integer), // 2867
    a(STANDARD,  87, "NAS-Port-Id", Text), // 2869
    a(STANDARD,  88, "Framed-Pool", Text), // 2869
    a(STANDARD,  89, "Chargeable-User-Identity", Octets), // 4372
    a(STANDARD,  90, "Tunnel-Client-Auth-Id", Text).tagged(), // 2868
    a(STANDARD,  91, "Tunnel-Server-Auth-Id", Text).tagged(), // 2868
    a(STANDARD,  92, "NAS-Filter-Rule", Text), // 4849
    a(STANDARD,  95, "NAS-IPv6-Address", Ipv6), // 3162
    a(STANDARD,  96, "Framed-Interface-Id", Ifid), // 3162
    a(STANDARD,  97, "Framed-IPv6-Prefix", Ipv6Prefix), // 3162
    a(STANDARD,  98, "Login-IPv6-Host", Ipv6), // 3162
    a(STANDARD,  99, "Framed-IPv6-Route", Text), // 3162
    a(STANDARD, 100, "Framed-IPv6-Pool", Text), // 3162
    a(STANDARD, 101, "Error-Cause", Integer).with_values(ERROR_CAUSE), // 3576
    a(STANDARD, 123, "Delegated-IPv6-Prefix", Ipv6Prefix), // 4818
    a(STANDARD, 168, "Framed-IPv6-Address", Ipv6), // 6911
    a(STANDARD, 169, "DNS-Server-IPv6-Address", Ipv6), // 6911
    a(STANDARD, 170, "Route-IPv6-Information", Ipv6Prefix), // 6911
    a(STANDARD, 171, "Delegated-IPv6-Prefix-Pool", Text), // 6911
    a(STANDARD, 172, "Stateful-IPv6-Address-Pool", Text), // 6911

    // Cisco, vendor 9 (dictionary.cisco)
    a(CISCO,   1, "Cisco-AVPair", Text),
    a(CISCO,   2, "Cisco-NAS-Port", Text),
    a(CISCO,   3, "Cisco-Fax-Account-Id-Origin", Text),
    a(CISCO,   4, "Cisco-Fax-Msg-Id", Text),
    a(CISCO,   5, "Cisco-Fax-Pages", Text),
    a(CISCO,   6, "Cisco-Fax-Coverpage-Flag", Text),
    a(CISCO,   7, "Cisco-Fax-Modem-Time", Text),
    a(CISCO,   8, "Cisco-Fax-Connect-Speed", Text),
    a(CISCO,   9, "Cisco-Fax-Recipient-Count", Text),
    a(CISCO,  10, "Cisco-Fax-Process-Abort-Flag", Text),
    a(CISCO,  11, "Cisco-Fax-Dsn-Address", Text),
    a(CISCO,  12, "Cisco-Fax-Dsn-Flag", Text),
    a(CISCO,  13, "Cisco-Fax-Mdn-Address", Text),
    a(CISCO,  14, "Cisco-Fax-Mdn-Flag", Text),
    a(CISCO,  15, "Cisco-Fax-Auth-Status", Text),
    a(CISCO,  16, "Cisco-Email-Server-Address", Text),
    a(CISCO,  17, "Cisco-Email-Server-Ack-Flag", Text),
    a(CISCO,  18, "Cisco-Gateway-Id", Text),
    a(CISCO,  19, "Cisco-Call-Type", Text),
    a(CISCO,  20, "Cisco-Port-Used", Text),
    a(CISCO,  21, "Cisco-Abort-Cause", Text),
    a(CISCO,  23, "h323-remote-address", Text),
    a(CISCO,  24, "h323-conf-id", Text),
    a(CISCO,  25, "h323-setup-time", Text),
    a(CISCO,  26, "h323-call-origin", Text),
    a(CISCO,  27, "h323-call-type", Text),
    a(CISCO,  28, "h323-connect-time", Text),
    a(CISCO,  29, "h323-disconnect-time", Text),
    a(CISCO,  30, "h323-disconnect-cause", Text),
    a(CISCO,  31, "h323-voice-quality", Text),
    a(CISCO,  33, "h323-gw-id", Text),
    a(CISCO,  35, "h323-incoming-conf-id", Text),
    a(CISCO,  37, "Cisco-Policy-Up", Text),
    a(CISCO,  38, "Cisco-Policy-Down", Text),
    a(CISCO,  46, "Cisco-Relay-Information-Option", Text),
    a(CISCO,  47, "Cisco-DHCP-User-Class", Text),
    a(CISCO,  48, "Cisco-DHCP-Vendor-Class", Text),
    a(CISCO,  50, "Cisco-DHCP-Relay-GiAddr", Text),
    a(CISCO,  51, "Cisco-Service-Name", Text),
    a(CISCO,  52, "Cisco-Parent-Session-Id", Text),
    a(CISCO,  55, "Cisco-Sub-QoS-Pol-In", Text),
    a(CISCO,  56, "Cisco-Sub-QoS-Pol-Out", Text),
    a(CISCO,  57, "Cisco-In-ACL", Text),
    a(CISCO,  58, "Cisco-Out-ACL", Text),
    a(CISCO,  59, "Cisco-Sub-PBR-Policy-In", Text),
    a(CISCO,  60, "Cisco-Sub-Activate-Service", Text),
    a(CISCO,  61, "Cisco-IPv6-In-ACL", Text),
    a(CISCO,  62, "Cisco-IPv6-Out-ACL", Text),
    a(CISCO,  63, "Cisco-Sub-Deactivate-Service", Text),
    a(CISCO,  65, "Cisco-DHCP-Subscriber-Id", Text),
    a(CISCO,  66, "Cisco-DHCPv6-Link-Address", Text),
    a(CISCO, 100, "sip-conf-id", Text),
    a(CISCO, 101, "h323-credit-amount", Text),
    a(CISCO, 102, "h323-credit-time", Text),
    a(CISCO, 103, "h323-return-code", Text),
    a(CISCO, 104, "h323-prompt-id", Text),
    a(CISCO, 105, "h323-time-and-day", Text),
    a(CISCO, 106, "h323-redirect-number", Text),
    a(CISCO, 107, "h323-preferred-lang", Text),
    a(CISCO, 108, "h323-redirect-ip-address", Text),
    a(CISCO, 109, "h323-billing-model", Text),
    a(CISCO, 110, "h323-currency", Text),
    a(CISCO, 111, "subscriber", Text),
    a(CISCO, 112, "gw-rxd-cdn", Text),
    a(CISCO, 113, "gw-final-xlated-cdn", Text),
    a(CISCO, 114, "remote-media-address", Text),
    a(CISCO, 115, "release-source", Text),
    a(CISCO, 116, "gw-rxd-cgn", Text),
    a(CISCO, 117, "gw-final-xlated-cgn", Text),
    a(CISCO, 141, "call-id", Text),
    a(CISCO, 142, "session-protocol", Text),
    a(CISCO, 143, "method", Text),
    a(CISCO, 144, "prev-hop-via", Text),
    a(CISCO, 145, "prev-hop-ip", Text),
    a(CISCO, 146, "incoming-req-uri", Text),
    a(CISCO, 147, "outgoing-req-uri", Text),
    a(CISCO, 148, "next-hop-ip", Text),
    a(CISCO, 149, "next-hop-dn", Text),
    a(CISCO, 150, "sip-hdr", Text),
    a(CISCO, 151, "dsp-id", Text),
    a(CISCO, 187, "Cisco-Multilink-ID", Integer),
    a(CISCO, 188, "Cisco-Num-In-Multilink", Integer),
    a(CISCO, 190, "Cisco-Pre-Input-Octets", Integer),
    a(CISCO, 191, "Cisco-Pre-Output-Octets", Integer),
    a(CISCO, 192, "Cisco-Pre-Input-Packets", Integer),
    a(CISCO, 193, "Cisco-Pre-Output-Packets", Integer),
    a(CISCO, 194, "Cisco-Maximum-Time", Integer),
    a(CISCO, 195, "Cisco-Disconnect-Cause", Integer).with_values(CISCO_DISCONNECT_CAUSE),
    a(CISCO, 197, "Cisco-Data-Rate", Integer),
    a(CISCO, 198, "Cisco-PreSession-Time", Integer),
    a(CISCO, 208, "Cisco-PW-Lifetime", Integer),
    a(CISCO, 209, "Cisco-IP-Direct", Integer),
    a(CISCO, 210, "Cisco-PPP-VJ-Slot-Comp", Integer),
    a(CISCO, 212, "Cisco-PPP-Async-Map", Integer),
    a(CISCO, 217, "Cisco-IP-Pool-Definition", Text),
    a(CISCO, 218, "Cisco-Assign-IP-Pool", Integer),
    a(CISCO, 228, "Cisco-Route-IP", Integer),
    a(CISCO, 233, "Cisco-Link-Compression", Integer),
    a(CISCO, 234, "Cisco-Target-Util", Integer),
    a(CISCO, 235, "Cisco-Maximum-Channels", Integer),
    a(CISCO, 242, "Cisco-Data-Filter", Integer),
    a(CISCO, 243, "Cisco-Call-Filter", Integer),
    a(CISCO, 244, "Cisco-Idle-Limit", Integer),
    a(CISCO, 249, "Cisco-Subscriber-Password", Text),
    a(CISCO, 250, "Cisco-Account-Info", Text),
    a(CISCO, 251, "Cisco-Service-Info", Text),
    a(CISCO, 252, "Cisco-Command-Code", Text),
    a(CISCO, 253, "Cisco-Control-Info", Text),
    a(CISCO, 255, "Cisco-Xmit-Rate", Integer),

    // Microsoft, vendor 311 (dictionary.microsoft; RFC 2548 and later)
    a(MICROSOFT,   1, "MS-CHAP-Response", Octets),
    a(MICROSOFT,   2, "MS-CHAP-Error", Text),
    a(MICROSOFT,   3, "MS-CHAP-CPW-1", Octets),
    a(MICROSOFT,   4, "MS-CHAP-CPW-2", Octets),
    a(MICROSOFT,   5, "MS-CHAP-LM-Enc-PW", Octets),
    a(MICROSOFT,   6, "MS-CHAP-NT-Enc-PW", Octets),
    a(MICROSOFT,   7, "MS-MPPE-Encryption-Policy", Integer).with_values(MS_MPPE_ENCRYPTION_POLICY),
    a(MICROSOFT,   8, "MS-MPPE-Encryption-Types", Integer).with_values(MS_MPPE_ENCRYPTION_TYPES),
    a(MICROSOFT,   9, "MS-RAS-Vendor", Integer),
    a(MICROSOFT,  10, "MS-CHAP-Domain", Text),
    a(MICROSOFT,  11, "MS-CHAP-Challenge", Octets),
    a(MICROSOFT,  12, "MS-CHAP-MPPE-Keys", Octets).hidden(Hiding::UserPassword),
    a(MICROSOFT,  13, "MS-BAP-Usage", Integer).with_values(MS_BAP_USAGE),
    a(MICROSOFT,  14, "MS-Link-Utilization-Threshold", Integer),
    a(MICROSOFT,  15, "MS-Link-Drop-Time-Limit", Integer),
    a(MICROSOFT,  16, "MS-MPPE-Send-Key", Octets).hidden(Hiding::Salted),
    a(MICROSOFT,  17, "MS-MPPE-Recv-Key", Octets).hidden(Hiding::Salted),
    a(MICROSOFT,  18, "MS-RAS-Version", Text),
    a(MICROSOFT,  19, "MS-Old-ARAP-Password", Octets),
    a(MICROSOFT,  20, "MS-New-ARAP-Password", Octets),
    a(MICROSOFT,  21, "MS-ARAP-PW-Change-Reason", Integer).with_values(MS_ARAP_PW_CHANGE_REASON),
    a(MICROSOFT,  22, "MS-Filter", Octets),
    a(MICROSOFT,  23, "MS-Acct-Auth-Type", Integer).with_values(MS_ACCT_AUTH_TYPE),
    a(MICROSOFT,  24, "MS-Acct-EAP-Type", Integer).with_values(MS_ACCT_EAP_TYPE),
    a(MICROSOFT,  25, "MS-CHAP2-Response", Octets),
    a(MICROSOFT,  26, "MS-CHAP2-Success", Octets),
    a(MICROSOFT,  27, "MS-CHAP2-CPW", Octets),
    a(MICROSOFT,  28, "MS-Primary-DNS-Server", Ipv4),
    a(MICROSOFT,  29, "MS-Secondary-DNS-Server", Ipv4),
    a(MICROSOFT,  30, "MS-Primary-NBNS-Server", Ipv4),
    a(MICROSOFT,  31, "MS-Secondary-NBNS-Server", Ipv4),
    a(MICROSOFT,  34, "MS-RAS-Client-Name", Text),
    a(MICROSOFT,  35, "MS-RAS-Client-Version", Text),
    a(MICROSOFT,  36, "MS-Quarantine-IPFilter", Octets),
    a(MICROSOFT,  37, "MS-Quarantine-Session-Timeout", Integer),
    a(MICROSOFT,  40, "MS-User-Security-Identity", Text),
    a(MICROSOFT,  41, "MS-Identity-Type", Integer).with_values(MS_IDENTITY_TYPE),
    a(MICROSOFT,  42, "MS-Service-Class", Text),
    a(MICROSOFT,  44, "MS-Quarantine-User-Class", Text),
    a(MICROSOFT,  45, "MS-Quarantine-State", Integer).with_values(MS_QUARANTINE_STATE),
    a(MICROSOFT,  46, "MS-Quarantine-Grace-Time", Integer),
    a(MICROSOFT,  47, "MS-Network-Access-Server-Type", Integer).with_values(MS_NETWORK_ACCESS_SERVER_TYPE),
    a(MICROSOFT,  48, "MS-AFW-Zone", Integer).with_values(MS_AFW_ZONE),
    a(MICROSOFT,  49, "MS-AFW-Protection-Level", Integer).with_values(MS_AFW_PROTECTION_LEVEL),
    a(MICROSOFT,  50, "MS-Machine-Name", Text),
    a(MICROSOFT,  51, "MS-IPv6-Filter", Octets),
    a(MICROSOFT,  52, "MS-IPv4-Remediation-Servers", Octets),
    a(MICROSOFT,  53, "MS-IPv6-Remediation-Servers", Octets),
    a(MICROSOFT,  54, "MS-RNAP-Not-Quarantine-Capable", Integer).with_values(MS_RNAP_NOT_QUARANTINE_CAPABLE),
    a(MICROSOFT,  55, "MS-Quarantine-SOH", Octets),
    a(MICROSOFT,  56, "MS-RAS-Correlation", Octets),
    a(MICROSOFT,  57, "MS-Extended-Quarantine-State", Integer).with_values(MS_EXTENDED_QUARANTINE_STATE),
    a(MICROSOFT,  58, "MS-HCAP-User-Groups", Text),
    a(MICROSOFT,  59, "MS-HCAP-Location-Group-Name", Text),
    a(MICROSOFT,  60, "MS-HCAP-User-Name", Text),
    a(MICROSOFT,  61, "MS-User-IPv4-Address", Ipv4),
    a(MICROSOFT,  62, "MS-User-IPv6-Address", Ipv6),
    a(MICROSOFT,  63, "MS-TSG-Device-Redirection", Integer),

    // Cisco ASA, vendor 3076 (dictionary.cisco.asa; the numbers it leaves free from dictionary.cisco.vpn3000)
    a(CISCO_ASA,   1, "CVPN3000-Access-Hours", Text),
    a(CISCO_ASA,   2, "ASA-Simultaneous-Logins", Integer),
    a(CISCO_ASA,   3, "CVPN3000-Min-Password-Length", Integer),
    a(CISCO_ASA,   4, "CVPN3000-Allow-Alpha-Only-Passwords", Integer).with_values(CVPN3000_ALLOW_ALPHA_ONLY_PASSWORDS),
    a(CISCO_ASA,   5, "ASA-Primary-DNS", Ipv4),
    a(CISCO_ASA,   6, "ASA-Secondary-DNS", Ipv4),
    a(CISCO_ASA,   7, "ASA-Primary-WINS", Ipv4),
    a(CISCO_ASA,   8, "ASA-Secondary-WINS", Ipv4),
    a(CISCO_ASA,   9, "ASA-SEP-Card-Assignment", Integer),
    a(CISCO_ASA,  10, "CVPN3000-Priority-On-SEP", Integer).with_values(CVPN3000_PRIORITY_ON_SEP),
    a(CISCO_ASA,  11, "ASA-Tunneling-Protocols", Integer),
    a(CISCO_ASA,  12, "ASA-IPsec-Sec-Association", Text),
    a(CISCO_ASA,  13, "ASA-IPsec-Authentication", Integer).with_values(ASA_IPSEC_AUTHENTICATION),
    a(CISCO_ASA,  15, "ASA-Banner1", Text),
    a(CISCO_ASA,  16, "ASA-IPsec-Allow-Passwd-Store", Integer).with_values(ASA_IPSEC_ALLOW_PASSWD_STORE),
    a(CISCO_ASA,  17, "ASA-Use-Client-Address", Integer).with_values(ASA_USE_CLIENT_ADDRESS),
    a(CISCO_ASA,  18, "CVPN3000-PPTP-Min-Auth-Protocol", Integer).with_values(CVPN3000_PPTP_MIN_AUTH_PROTOCOL),
    a(CISCO_ASA,  19, "CVPN3000-L2TP-Min-Auth-Protocol", Integer).with_values(CVPN3000_L2TP_MIN_AUTH_PROTOCOL),
    a(CISCO_ASA,  20, "ASA-PPTP-Encryption", Integer),
    a(CISCO_ASA,  21, "ASA-L2TP-Encryption", Integer),
    a(CISCO_ASA,  22, "CVPN3000-Auth-Server-Type", Integer).with_values(CVPN3000_AUTH_SERVER_TYPE),
    a(CISCO_ASA,  23, "CVPN3000-Auth-Server-Password", Text),
    a(CISCO_ASA,  24, "CVPN3000-Request-Auth-Vector", Text),
    a(CISCO_ASA,  25, "ASA-Group-Policy", Text),
    a(CISCO_ASA,  26, "CVPN3000-IPSec-Group-Name", Text),
    a(CISCO_ASA,  27, "ASA-IPsec-Split-Tunnel-List", Text),
    a(CISCO_ASA,  28, "ASA-IPsec-Default-Domain", Text),
    a(CISCO_ASA,  29, "ASA-IPsec-Split-DNS-Names", Text),
    a(CISCO_ASA,  30, "ASA-IPsec-Tunnel-Type", Integer).with_values(ASA_IPSEC_TUNNEL_TYPE),
    a(CISCO_ASA,  31, "ASA-IPsec-Mode-Config", Integer).with_values(ASA_IPSEC_MODE_CONFIG),
    a(CISCO_ASA,  32, "CVPN3000-Auth-Server-Priority", Integer),
    a(CISCO_ASA,  33, "CVPN3000-IPSec-User-Group-Lock", Integer).with_values(CVPN3000_IPSEC_USER_GROUP_LOCK),
    a(CISCO_ASA,  34, "ASA-IPsec-Over-UDP", Integer).with_values(ASA_IPSEC_OVER_UDP),
    a(CISCO_ASA,  35, "ASA-IPsec-Over-UDP-Port", Integer),
    a(CISCO_ASA,  36, "ASA-Banner2", Text),
    a(CISCO_ASA,  37, "ASA-PPTP-MPPC-Compression", Integer).with_values(ASA_PPTP_MPPC_COMPRESSION),
    a(CISCO_ASA,  38, "ASA-L2TP-MPPC-Compression", Integer).with_values(ASA_L2TP_MPPC_COMPRESSION),
    a(CISCO_ASA,  39, "ASA-IPsec-IP-Compression", Integer).with_values(ASA_IPSEC_IP_COMPRESSION),
    a(CISCO_ASA,  40, "ASA-IPsec-IKE-Peer-ID-Check", Integer).with_values(ASA_IPSEC_IKE_PEER_ID_CHECK),
    a(CISCO_ASA,  41, "ASA-IKE-Keep-Alives", Integer).with_values(ASA_IKE_KEEP_ALIVES),
    a(CISCO_ASA,  42, "ASA-IPsec-Auth-On-Rekey", Integer).with_values(ASA_IPSEC_AUTH_ON_REKEY),
    a(CISCO_ASA,  45, "ASA-Required-Client-Firewall-Vendor-Code", Integer).with_values(ASA_REQUIRED_CLIENT_FIREWALL_VENDOR_CODE),
    a(CISCO_ASA,  46, "ASA-Required-Client-Firewall-Product-Code", Integer),
    a(CISCO_ASA,  47, "ASA-Required-Client-Firewall-Description", Text),
    a(CISCO_ASA,  48, "ASA-Require-HW-Client-Auth", Integer).with_values(ASA_REQUIRE_HW_CLIENT_AUTH),
    a(CISCO_ASA,  49, "ASA-Required-Individual-User-Auth", Integer).with_values(ASA_REQUIRED_INDIVIDUAL_USER_AUTH),
    a(CISCO_ASA,  50, "ASA-Authenticated-User-Idle-Timeout", Integer),
    a(CISCO_ASA,  51, "ASA-Cisco-IP-Phone-Bypass", Integer).with_values(ASA_CISCO_IP_PHONE_BYPASS),
    a(CISCO_ASA,  52, "CVPN3000-User-Auth-Server-Name", Text),
    a(CISCO_ASA,  53, "CVPN3000-User-Auth-Server-Port", Integer),
    a(CISCO_ASA,  54, "CVPN3000-User-Auth-Server-Secret", Text),
    a(CISCO_ASA,  55, "ASA-IPsec-Split-Tunneling-Policy", Integer).with_values(ASA_IPSEC_SPLIT_TUNNELING_POLICY),
    a(CISCO_ASA,  56, "ASA-IPsec-Required-Client-Firewall-Capability", Integer).with_values(ASA_IPSEC_REQUIRED_CLIENT_FIREWALL_CAPABILITY),
    a(CISCO_ASA,  57, "ASA-IPsec-Client-Firewall-Filter-Name", Text),
    a(CISCO_ASA,  58, "ASA-IPsec-Client-Firewall-Filter-Optional", Integer).with_values(ASA_IPSEC_CLIENT_FIREWALL_FILTER_OPTIONAL),
    a(CISCO_ASA,  59, "ASA-IPsec-Backup-Servers", Integer).with_values(ASA_IPSEC_BACKUP_SERVERS),
    a(CISCO_ASA,  60, "ASA-IPsec-Backup-Server-List", Text),
    a(CISCO_ASA,  61, "ASA-DHCP-Network-Scope", Ipv4),
    a(CISCO_ASA,  62, "ASA-Intercept-DHCP-Configure-Msg", Integer).with_values(ASA_INTERCEPT_DHCP_CONFIGURE_MSG),
    a(CISCO_ASA,  63, "ASA-MS-Client-Subnet-Mask", Ipv4),
    a(CISCO_ASA,  64, "ASA-Allow-Network-Extension-Mode", Integer).with_values(ASA_ALLOW_NETWORK_EXTENSION_MODE),
    a(CISCO_ASA,  65, "ASA-Authorization-Type", Integer).with_values(ASA_AUTHORIZATION_TYPE),
    a(CISCO_ASA,  66, "ASA-Authorization-Required", Integer).with_values(ASA_AUTHORIZATION_REQUIRED),
    a(CISCO_ASA,  67, "ASA-Authorization-DN-Field", Text),
    a(CISCO_ASA,  68, "ASA-IKE-KeepAlive-Confidence-Interval", Integer),
    a(CISCO_ASA,  69, "ASA-WebVPN-Content-Filter-Parameters", Integer),
    a(CISCO_ASA,  70, "ASA-WebVPN-HTML-Filter", Integer),
    a(CISCO_ASA,  71, "ASA-WebVPN-URL-List", Text),
    a(CISCO_ASA,  72, "ASA-WebVPN-Port-Forwarding-List", Text),
    a(CISCO_ASA,  73, "ASA-WebVPNACL", Text),
    a(CISCO_ASA,  74, "ASA-WebVPN-HTTP-Proxy-IP-Address", Text),
    a(CISCO_ASA,  75, "ASA-Cisco-LEAP-Bypass", Integer).with_values(ASA_CISCO_LEAP_BYPASS),
    a(CISCO_ASA,  76, "ASA-WebVPN-Default-Homepage", Text),
    a(CISCO_ASA,  77, "ASA-Client-Type-Version-Limiting", Text),
    a(CISCO_ASA,  78, "ASA-WebVPN-Group-based-HTTP/HTTPS-Proxy-Exception-List", Text),
    a(CISCO_ASA,  79, "ASA-WebVPN-Port-Forwarding-Name", Text),
    a(CISCO_ASA,  80, "ASA-IE-Proxy-Server", Text),
    a(CISCO_ASA,  81, "ASA-IE-Proxy-Server-Policy", Integer).with_values(ASA_IE_PROXY_SERVER_POLICY),
    a(CISCO_ASA,  82, "ASA-IE-Proxy-Exception-List", Text),
    a(CISCO_ASA,  83, "ASA-IE-Proxy-Bypass-Local", Integer).with_values(ASA_IE_PROXY_BYPASS_LOCAL),
    a(CISCO_ASA,  84, "ASA-IKE-Keepalive-Retry-Interval", Integer),
    a(CISCO_ASA,  85, "ASA-Tunnel-Group-Lock", Text),
    a(CISCO_ASA,  86, "ASA-Access-List-Inbound", Text),
    a(CISCO_ASA,  87, "ASA-Access-List-Outbound", Text),
    a(CISCO_ASA,  88, "ASA-Perfect-Forward-Secrecy-Enable", Integer).with_values(ASA_PERFECT_FORWARD_SECRECY_ENABLE),
    a(CISCO_ASA,  89, "ASA-NAC-Enable", Integer).with_values(ASA_NAC_ENABLE),
    a(CISCO_ASA,  90, "ASA-NAC-Status-Query-Timer", Integer),
    a(CISCO_ASA,  91, "ASA-NAC-Revalidation-Timer", Integer),
    a(CISCO_ASA,  92, "ASA-NAC-Default-ACL", Text),
    a(CISCO_ASA,  93, "ASA-WebVPN-URL-Entry-Enable", Integer).with_values(ASA_WEBVPN_URL_ENTRY_ENABLE),
    a(CISCO_ASA,  94, "ASA-WebVPN-File-Access-Enable", Integer).with_values(ASA_WEBVPN_FILE_ACCESS_ENABLE),
    a(CISCO_ASA,  95, "ASA-WebVPN-File-Server-Entry-Enable", Integer).with_values(ASA_WEBVPN_FILE_SERVER_ENTRY_ENABLE),
    a(CISCO_ASA,  96, "ASA-WebVPN-File-Server-Browsing-Enable", Integer).with_values(ASA_WEBVPN_FILE_SERVER_BROWSING_ENABLE),
    a(CISCO_ASA,  97, "ASA-WebVPN-Port-Forwarding-Enable", Integer).with_values(ASA_WEBVPN_PORT_FORWARDING_ENABLE),
    a(CISCO_ASA,  98, "ASA-WebVPN-Port-Forwarding-Exchange-Proxy-Enable", Integer).with_values(ASA_WEBVPN_PORT_FORWARDING_EXCHANGE_PROXY_ENABLE),
    a(CISCO_ASA,  99, "ASA-WebVPN-Port-Forwarding-HTTP-Proxy", Integer).with_values(ASA_WEBVPN_PORT_FORWARDING_HTTP_PROXY),
    a(CISCO_ASA, 100, "Cisco-VPN3000-WebVPN-Auto-Applet-Download-Enable", Integer),
    a(CISCO_ASA, 101, "ASA-WebVPN-Citrix-Metaframe-Enable", Integer).with_values(ASA_WEBVPN_CITRIX_METAFRAME_ENABLE),
    a(CISCO_ASA, 102, "ASA-WebVPN-Apply-ACL", Integer).with_values(ASA_WEBVPN_APPLY_ACL),
    a(CISCO_ASA, 103, "ASA-WebVPN-SSL-VPN-Client-Enable", Integer).with_values(ASA_WEBVPN_SSL_VPN_CLIENT_ENABLE),
    a(CISCO_ASA, 104, "ASA-WebVPN-SSL-VPN-Client-Required", Integer).with_values(ASA_WEBVPN_SSL_VPN_CLIENT_REQUIRED),
    a(CISCO_ASA, 105, "ASA-WebVPN-SSL-VPN-Client-Keep-Installation", Integer).with_values(ASA_WEBVPN_SSL_VPN_CLIENT_KEEP_INSTALLATION),
    a(CISCO_ASA, 107, "ASA-WebVPN-SVC-Keepalive-Frequency", Integer),
    a(CISCO_ASA, 108, "ASA-WebVPN-SVC-Client-DPD-Frequency", Integer),
    a(CISCO_ASA, 109, "ASA-WebVPN-SVC-Gateway-DPD-Frequency", Integer),
    a(CISCO_ASA, 110, "ASA-WebVPN-SVC-Rekey-Time", Integer),
    a(CISCO_ASA, 111, "ASA-WebVPN-SVC-Rekey-Method", Integer).with_values(ASA_WEBVPN_SVC_REKEY_METHOD),
    a(CISCO_ASA, 112, "ASA-WebVPN-SVC-Compression", Integer).with_values(ASA_WEBVPN_SVC_COMPRESSION),
    a(CISCO_ASA, 113, "ASA-WebVPN-Customization", Text),
    a(CISCO_ASA, 114, "ASA-WebVPN-SSO-Server-Name", Text),
    a(CISCO_ASA, 116, "ASA-WebVPN-Deny-Message", Text),
    a(CISCO_ASA, 120, "ASA-WebVPN-HTTP-Compression", Integer).with_values(ASA_WEBVPN_HTTP_COMPRESSION),
    a(CISCO_ASA, 121, "ASA-WebVPN-Keepalive-Ignore", Integer),
    a(CISCO_ASA, 122, "ASA-Extended-Authentication-On-Rekey", Integer).with_values(ASA_EXTENDED_AUTHENTICATION_ON_REKEY),
    a(CISCO_ASA, 123, "ASA-WebVPN-SVC-DTLS-Enable", Integer).with_values(ASA_WEBVPN_SVC_DTLS_ENABLE),
    a(CISCO_ASA, 124, "ASA-WebVPN-Auto-HTTP-Signon", Text),
    a(CISCO_ASA, 125, "ASA-WebVPN-SVC-DTLS-MTU", Integer),
    a(CISCO_ASA, 126, "ASA-WebVPN-Hidden-Shares", Integer).with_values(ASA_WEBVPN_HIDDEN_SHARES),
    a(CISCO_ASA, 127, "ASA-SVC-Modules", Text),
    a(CISCO_ASA, 128, "ASA-SVC-Profiles", Text),
    a(CISCO_ASA, 129, "CVPN3000-Partition-Secondary-DHCP", Ipv4),
    a(CISCO_ASA, 131, "ASA-SVC-Ask", Integer).with_values(ASA_SVC_ASK),
    a(CISCO_ASA, 132, "ASA-SVC-Ask-Timeout", Integer),
    a(CISCO_ASA, 133, "ASA-IE-Proxy-PAC-URL", Text),
    a(CISCO_ASA, 134, "CVPN3000-Partition-Mobile-IP-Address", Ipv4),
    a(CISCO_ASA, 135, "ASA-Strip-Realm", Integer).with_values(ASA_STRIP_REALM),
    a(CISCO_ASA, 136, "ASA-WebVPN-Smart-Tunnel", Text),
    a(CISCO_ASA, 137, "ASA-WebVPN-ActiveX-Relay", Integer),
    a(CISCO_ASA, 138, "ASA-WebVPN-Smart-Tunnel-Auto-Start", Integer).with_values(ASA_WEBVPN_SMART_TUNNEL_AUTO_START),
    a(CISCO_ASA, 139, "ASA-WebVPN-Smart-Tunnel-Auto-Sign-On", Text),
    a(CISCO_ASA, 140, "ASA-VLAN", Integer),
    a(CISCO_ASA, 141, "ASA-NAC-Settings", Text),
    a(CISCO_ASA, 145, "ASA-Member-Of", Text),
    a(CISCO_ASA, 146, "ASA-TunnelGroupName", Text),
    a(CISCO_ASA, 148, "ASA-WebVPN-Idle-Timeout-Alert-Interval", Integer),
    a(CISCO_ASA, 149, "ASA-WebVPN-Session-Timeout-Alert-Interval", Integer),
    a(CISCO_ASA, 150, "ASA-ClientType", Integer).with_values(ASA_CLIENTTYPE),
    a(CISCO_ASA, 151, "ASA-SessionType", Integer).with_values(ASA_SESSIONTYPE),
    a(CISCO_ASA, 152, "ASA-SessionSubtype", Integer).with_values(ASA_SESSIONSUBTYPE),
    a(CISCO_ASA, 157, "ASA-WebVPN-Download_Max-Size", Integer),
    a(CISCO_ASA, 158, "ASA-WebVPN-Upload-Max-Size", Integer),
    a(CISCO_ASA, 159, "ASA-WebVPN-Post-Max-Size", Integer),
    a(CISCO_ASA, 160, "ASA-WebVPN-User-Storage", Text),
    a(CISCO_ASA, 161, "ASA-WebVPN-Storage-Objects", Text),
    a(CISCO_ASA, 162, "ASA-WebVPN-Storage-Key", Text),
    a(CISCO_ASA, 163, "ASA-WebVPN-VDI", Text),
    a(CISCO_ASA, 217, "ASA-Address-Pools", Text),
    a(CISCO_ASA, 218, "ASA-IPv6-Address-Pools", Text),
    a(CISCO_ASA, 219, "ASA-IPv6-VPN-Filter", Text),
    a(CISCO_ASA, 220, "ASA-Privilege-Level", Integer),
    a(CISCO_ASA, 221, "ASA-WebVPN-UNIX-User-ID", Integer),
    a(CISCO_ASA, 222, "ASA-WebVPN-UNIX-Group-ID", Integer),
    a(CISCO_ASA, 223, "ASA-WebVPN-Macro-Substitution-Value1", Text),
    a(CISCO_ASA, 224, "ASA-WebVPN-Macro-Substitution-Value2", Text),
    a(CISCO_ASA, 225, "ASA-WebVPNSmart-Card-Removal-Disconnect", Integer).with_values(ASA_WEBVPNSMART_CARD_REMOVAL_DISCONNECT),
    a(CISCO_ASA, 227, "ASA-WebVPN-Smart-Tunnel-Tunnel-Policy", Text),
    a(CISCO_ASA, 228, "ASA-WebVPN-Home-Page-Use-Smart-Tunnel", Integer),

    // Fortinet, vendor 12356 (dictionary.fortinet)
    a(FORTINET,   1, "Fortinet-Group-Name", Text),
    a(FORTINET,   2, "Fortinet-Client-IP-Address", Ipv4),
    a(FORTINET,   3, "Fortinet-Vdom-Name", Text),
    a(FORTINET,   4, "Fortinet-Client-IPv6-Address", Octets),
    a(FORTINET,   5, "Fortinet-Interface-Name", Text),
    a(FORTINET,   6, "Fortinet-Access-Profile", Text),
    a(FORTINET,   7, "Fortinet-SSID", Text),
    a(FORTINET,   8, "Fortinet-AP-Name", Text),
    a(FORTINET,  11, "Fortinet-FAC-Auth-Status", Text),
    a(FORTINET,  12, "Fortinet-FAC-Token-ID", Text),
    a(FORTINET,  15, "Fortinet-FAC-Challenge-Code", Text),
    a(FORTINET,  16, "Fortinet-Webfilter-Category-Allow", Octets),
    a(FORTINET,  17, "Fortinet-Webfilter-Category-Block", Octets),
    a(FORTINET,  18, "Fortinet-Webfilter-Category-Monitor", Octets),
    a(FORTINET,  19, "Fortinet-AppCtrl-Category-Allow", Octets),
    a(FORTINET,  20, "Fortinet-AppCtrl-Category-Block", Octets),
    a(FORTINET,  21, "Fortinet-AppCtrl-Risk-Allow", Octets),
    a(FORTINET,  22, "Fortinet-AppCtrl-Risk-Block", Octets),
    a(FORTINET,  23, "Fortinet-WirelessController-Device-MAC", Ether),
    a(FORTINET,  24, "Fortinet-WirelessController-WTP-ID", Text),
    a(FORTINET,  25, "Fortinet-WirelessController-Assoc-Time", Date),
    a(FORTINET,  26, "Fortinet-FortiWAN-AVPair", Text),
    a(FORTINET,  30, "Fortinet-FDD-Access-Profile", Text),
    a(FORTINET,  31, "Fortinet-FDD-Trusted-Hosts", Text),
    a(FORTINET,  32, "Fortinet-FDD-SPP-Name", Text),
    a(FORTINET,  33, "Fortinet-FDD-Is-System-Admin", Text),
    a(FORTINET,  34, "Fortinet-FDD-Is-SPP-Admin", Text),
    a(FORTINET,  35, "Fortinet-FDD-SPP-Policy-Group", Text),
    a(FORTINET,  36, "Fortinet-FDD-Allow-API-Access", Text),
    a(FORTINET,  40, "Fortinet-Fpc-User-Role", Text),
    a(FORTINET,  41, "Fortinet-Tenant-Identification", Text),
    a(FORTINET,  42, "Fortinet-Host-Port-AVPair", Text),

    // Palo Alto Networks, vendor 25461 (dictionary.paloalto)
    a(PALO_ALTO,   1, "PaloAlto-Admin-Role", Text),
    a(PALO_ALTO,   2, "PaloAlto-Admin-Access-Domain", Text),
    a(PALO_ALTO,   3, "PaloAlto-Panorama-Admin-Role", Text),
    a(PALO_ALTO,   4, "PaloAlto-Panorama-Admin-Access-Domain", Text),
    a(PALO_ALTO,   5, "PaloAlto-User-Group", Text),
    a(PALO_ALTO,   6, "PaloAlto-User-Domain", Text),
    a(PALO_ALTO,   7, "PaloAlto-Client-Source-IP", Text),
    a(PALO_ALTO,   8, "PaloAlto-Client-OS", Text),
    a(PALO_ALTO,   9, "PaloAlto-Client-Hostname", Text),
    a(PALO_ALTO,  10, "PaloAlto-GlobalProtect-Client-Version", Text),
];

/// The other names of a number in [`ATTRS`]: accepted in configuration, never printed. Each
/// keeps its own file's type and VALUEs, so a VPN 3000 name encodes as the concentrator
/// expects even where the ASA reused the number for something else.
#[rustfmt::skip]
pub(super) static ALIASES: &[AttrDef] = &[
    // Microsoft: the singular spelling of MS-MPPE-Encryption-Types.
    a(MICROSOFT,   8, "MS-MPPE-Encryption-Type", Integer).with_values(MS_MPPE_ENCRYPTION_TYPES),

    // Cisco ASA: the older names its file keeps for a number.
    a(CISCO_ASA,  73, "ASA-WebVPN-Access-List", Text),
    a(CISCO_ASA, 107, "ASA-SVC-Keepalive", Integer),
    a(CISCO_ASA, 108, "ASA-SVC-DPD-Interval-Client", Integer),
    a(CISCO_ASA, 109, "ASA-SVC-DPD-Interval-Gateway", Integer),
    a(CISCO_ASA, 110, "ASA-SVC-Rekey-Time", Integer),
    a(CISCO_ASA, 123, "ASA-SVC-DTLS", Integer).with_values(ASA_WEBVPN_SVC_DTLS_ENABLE),
    a(CISCO_ASA, 125, "ASA-SVC-MTU", Integer),
    a(CISCO_ASA, 136, "ASA-Smart-Tunnel", Text),
    a(CISCO_ASA, 138, "ASA-Smart-Tunnel-Auto", Integer).with_values(ASA_WEBVPN_SMART_TUNNEL_AUTO_START),
    a(CISCO_ASA, 139, "ASA-Smart-Tunnel-Auto-Signon-Enable", Text),

    // Cisco VPN 3000 names for the numbers the ASA file also defines. Where the
    // concentrator's type differs from the ASA's, the ASA's is named on the right.
    a(CISCO_ASA,   2, "CVPN3000-Simultaneous-Logins", Integer),
    a(CISCO_ASA,   5, "CVPN3000-Primary-DNS", Ipv4),
    a(CISCO_ASA,   6, "CVPN3000-Secondary-DNS", Ipv4),
    a(CISCO_ASA,   7, "CVPN3000-Primary-WINS", Ipv4),
    a(CISCO_ASA,   8, "CVPN3000-Secondary-WINS", Ipv4),
    a(CISCO_ASA,   9, "CVPN3000-SEP-Card-Assignment", Integer).with_values(CVPN3000_SEP_CARD_ASSIGNMENT),
    a(CISCO_ASA,  11, "CVPN3000-Tunneling-Protocols", Integer).with_values(CVPN3000_TUNNELING_PROTOCOLS),
    a(CISCO_ASA,  12, "CVPN3000-IPSec-Sec-Association", Text),
    a(CISCO_ASA,  13, "CVPN3000-IPSec-Authentication", Integer).with_values(CVPN3000_IPSEC_AUTHENTICATION),
    a(CISCO_ASA,  15, "CVPN3000-IPSec-Banner1", Text),
    a(CISCO_ASA,  16, "CVPN3000-IPSec-Allow-Passwd-Store", Integer).with_values(CVPN3000_IPSEC_ALLOW_PASSWD_STORE),
    a(CISCO_ASA,  17, "CVPN3000-Use-Client-Address", Integer).with_values(CVPN3000_USE_CLIENT_ADDRESS),
    a(CISCO_ASA,  20, "CVPN3000-PPTP-Encryption", Integer).with_values(CVPN3000_PPTP_ENCRYPTION),
    a(CISCO_ASA,  21, "CVPN3000-L2TP-Encryption", Integer).with_values(CVPN3000_L2TP_ENCRYPTION),
    a(CISCO_ASA,  25, "CVPN3000-IPSec-LTL-Keepalives", Integer).with_values(CVPN3000_IPSEC_LTL_KEEPALIVES), // ASA: ASA-Group-Policy, Text
    a(CISCO_ASA,  27, "CVPN3000-IPSec-Split-Tunnel-List", Text),
    a(CISCO_ASA,  28, "CVPN3000-IPSec-Default-Domain", Text),
    a(CISCO_ASA,  29, "CVPN3000-IPSec-Split-DNS-Names", Text),
    a(CISCO_ASA,  30, "CVPN3000-IPSec-Tunnel-Type", Integer).with_values(CVPN3000_IPSEC_TUNNEL_TYPE),
    a(CISCO_ASA,  31, "CVPN3000-IPSec-Mode-Config", Integer).with_values(CVPN3000_IPSEC_MODE_CONFIG),
    a(CISCO_ASA,  34, "CVPN3000-IPSec-Over-UDP", Integer).with_values(CVPN3000_IPSEC_OVER_UDP),
    a(CISCO_ASA,  35, "CVPN3000-IPSec-Over-UDP-Port", Integer),
    a(CISCO_ASA,  36, "CVPN3000-IPSec-Banner2", Text),
    a(CISCO_ASA,  37, "CVPN3000-PPTP-MPPC-Compression", Integer),
    a(CISCO_ASA,  38, "CVPN3000-L2TP-MPPC-Compression", Integer),
    a(CISCO_ASA,  39, "CVPN3000-IPSec-IP-Compression", Integer),
    a(CISCO_ASA,  40, "CVPN3000-IPSec-IKE-Peer-ID-Check", Integer),
    a(CISCO_ASA,  41, "CVPN3000-IKE-Keep-Alives", Integer),
    a(CISCO_ASA,  42, "CVPN3000-IPSec-Auth-On-Rekey", Integer),
    a(CISCO_ASA,  45, "CVPN3000-Reqrd-Client-Fw-Vendor-Code", Integer),
    a(CISCO_ASA,  46, "CVPN3000-Reqrd-Client-Fw-Product-Code", Integer),
    a(CISCO_ASA,  47, "CVPN3000-Reqrd-Client-Fw-Description", Text),
    a(CISCO_ASA,  48, "CVPN3000-Require-HW-Client-Auth", Integer),
    a(CISCO_ASA,  49, "CVPN3000-Require-Individual-User-Auth", Integer),
    a(CISCO_ASA,  50, "CVPN3000-Authd-User-Idle-Timeout", Integer),
    a(CISCO_ASA,  51, "CVPN3000-Cisco-IP-Phone-Bypass", Integer),
    a(CISCO_ASA,  55, "CVPN3000-IPSec-Split-Tunneling-Policy", Integer),
    a(CISCO_ASA,  56, "CVPN3000-IPSec-Reqrd-Client-Fw-Cap", Integer),
    a(CISCO_ASA,  57, "CVPN3000-IPSec-Client-Fw-Filter-Name", Text),
    a(CISCO_ASA,  58, "CVPN3000-IPSec-Client-Fw-Filter-Opt", Integer),
    a(CISCO_ASA,  59, "CVPN3000-IPSec-Backup-Servers", Integer),
    a(CISCO_ASA,  60, "CVPN3000-IPSec-Backup-Server-List", Text),
    a(CISCO_ASA,  61, "CVPN3000-DHCP-Network-Scope", Ipv4),
    a(CISCO_ASA,  62, "CVPN3000-MS-Client-Icpt-DHCP-Conf-Msg", Integer),
    a(CISCO_ASA,  63, "CVPN3000-MS-Client-Subnet-Mask", Ipv4),
    a(CISCO_ASA,  64, "CVPN3000-Allow-Network-Extension-Mode", Integer),
    a(CISCO_ASA,  65, "CVPN3000-IPSec-Authorization-Type", Integer),
    a(CISCO_ASA,  66, "CVPN3000-IPSec-Authorization-Required", Integer),
    a(CISCO_ASA,  67, "CVPN3000-IPSec-DN-Field", Text),
    a(CISCO_ASA,  68, "CVPN3000-IPSec-Confidence-Level", Integer),
    a(CISCO_ASA,  69, "CVPN3000-WebVPN-Content-Filter", Integer),
    a(CISCO_ASA,  70, "CVPN3000-WebVPN-Enable-functions", Integer),
    a(CISCO_ASA,  74, "CVPN3000-WebVPN-Exchange-Addr", Text),
    a(CISCO_ASA,  75, "CVPN3000-LEAP-Bypass", Integer),
    a(CISCO_ASA,  78, "CVPN3000-WebVPN-Exchange-NETBIOS-name", Text),
    a(CISCO_ASA,  79, "CVPN3000-Port-Forwarding-Name", Text),
    a(CISCO_ASA,  80, "CVPN3000-IE-Proxy-Server", Text),
    a(CISCO_ASA,  81, "CVPN3000-IE-Proxy-Server-Policy", Integer),
    a(CISCO_ASA,  82, "CVPN3000-IE-Proxy-Exception-List", Text),
    a(CISCO_ASA,  83, "CVPN3000-IE-Proxy-Bypass-Local", Integer),
    a(CISCO_ASA,  84, "CVPN3000-IKE-Keepalive-Retry-Interval", Integer),
    a(CISCO_ASA,  85, "CVPN3000-Tunnel-Group-Lock", Text),
    a(CISCO_ASA,  86, "Cisco-VPN3000-Access-List-Inbound", Text),
    a(CISCO_ASA,  87, "Cisco-VPN3000-Access-List-Outbound", Text),
    a(CISCO_ASA,  88, "Cisco-VPN3000-Perfect-Forward-Secrecy-Enable", Integer),
    a(CISCO_ASA,  89, "Cisco-VPN3000-NAC-Enable", Integer),
    a(CISCO_ASA,  90, "Cisco-VPN3000-NAC-Status-Query-Timer", Integer),
    a(CISCO_ASA,  91, "Cisco-VPN3000-NAC-Revalidation-Timer", Integer),
    a(CISCO_ASA,  92, "Cisco-VPN3000-NAC-Default-ACL", Integer), // ASA: ASA-NAC-Default-ACL, Text
    a(CISCO_ASA,  93, "Cisco-VPN3000-WebVPN-URL-Entry-Enable", Integer),
    a(CISCO_ASA,  94, "Cisco-VPN3000-WebVPN-File-Access-Enable", Integer),
    a(CISCO_ASA,  95, "Cisco-VPN3000-WebVPN-File-Server-Entry-Enable", Integer),
    a(CISCO_ASA,  96, "Cisco-VPN3000-WebVPN-File-Server-Browsing-Enable", Integer),
    a(CISCO_ASA,  97, "Cisco-VPN3000-WebVPN-Port-Forwarding-Enable", Integer),
    a(CISCO_ASA,  98, "Cisco-VPN3000-WebVPN-Outlook-Exchange-Proxy-Enable", Integer),
    a(CISCO_ASA,  99, "Cisco-VPN3000-WebVPN-HTTP-Proxy-Enable", Integer),
    a(CISCO_ASA, 101, "Cisco-VPN3000-WebVPN-Citrix-MetaFrame-Enable", Integer),
    a(CISCO_ASA, 102, "Cisco-VPN3000-WebVPN-Apply-ACL", Integer),
    a(CISCO_ASA, 103, "Cisco-VPN3000-WebVPN-SSL-VPN-Client-Enable", Integer),
    a(CISCO_ASA, 104, "Cisco-VPN3000-WebVPN-SSL-VPN-Client-Required", Integer),
    a(CISCO_ASA, 105, "Cisco-VPN3000-WebVPN-SSL-VPN-Client-Keep-Installation", Integer),
    a(CISCO_ASA, 128, "CVPN3000-Partition-Primary-DHCP", Ipv4), // ASA: ASA-SVC-Profiles, Text
    a(CISCO_ASA, 131, "CVPN3000-Partition-Premise-Router", Ipv4), // ASA: ASA-SVC-Ask, Integer
    a(CISCO_ASA, 132, "CVPN3000-Partition-Max-Sessions", Integer),
    a(CISCO_ASA, 133, "CVPN3000-Partition-Mobile-IP-Key", Text),
    a(CISCO_ASA, 135, "CVPN3000-Partition-Mobile-IP-SPI", Integer),
    a(CISCO_ASA, 136, "CVPN3000-Strip-Realm", Integer).with_values(CVPN3000_STRIP_REALM), // ASA: ASA-WebVPN-Smart-Tunnel, Text
    a(CISCO_ASA, 137, "CVPN3000-Group-Name", Integer),
    a(CISCO_ASA, 138, "CVPN3000-Smart-Tunnel-Auto", Integer).with_values(CVPN3000_SMART_TUNNEL_AUTO),
    a(CISCO_ASA, 140, "CVPN3000-VLAN", Integer),
    a(CISCO_ASA, 141, "CVPN3000-NAC-Settings", Text),
    a(CISCO_ASA, 145, "CVPN3000-Member-Of", Text),
    a(CISCO_ASA, 217, "CVPN3000-Address-Pools", Text),
    a(CISCO_ASA, 218, "CVPN3000-IPv6-Address-Pools", Text),
    a(CISCO_ASA, 219, "CVPN3000-IPv6-VPN-Filter", Text),
    a(CISCO_ASA, 220, "CVPN3000-Privilege-Level", Integer),
    a(CISCO_ASA, 223, "CVPN3000-WebVPN-Macro-Value1", Text),
    a(CISCO_ASA, 224, "CVPN3000-WebVPN-Macro-Value2", Text),
];
