//! The named values of the attributes in `tables.rs`, from the same FreeRADIUS files.

// VALUE names per number, in file order. Where two names share a number, the later one is
// what FreeRADIUS prints (`Acct-Status-Type = Interim-Update`, not `Alive`), and so do we.
pub(super) const SERVICE_TYPE: &[(&str, u32)] = &[
    ("Login-User", 1),
    ("Framed-User", 2),
    ("Callback-Login-User", 3),
    ("Callback-Framed-User", 4),
    ("Outbound-User", 5),
    ("Administrative-User", 6),
    ("NAS-Prompt-User", 7),
    ("Authenticate-Only", 8),
    ("Callback-NAS-Prompt", 9),
    ("Call-Check", 10),
    ("Callback-Administrative", 11),
    ("Authorize-Only", 17),
    ("Framed-Management", 18),
];
pub(super) const FRAMED_PROTOCOL: &[(&str, u32)] = &[
    ("PPP", 1),
    ("SLIP", 2),
    ("ARAP", 3),
    ("Gandalf-SLML", 4),
    ("Xylogics-IPX-SLIP", 5),
    ("X.75-Synchronous", 6),
];
pub(super) const FRAMED_ROUTING: &[(&str, u32)] = &[
    ("None", 0),
    ("Broadcast", 1),
    ("Listen", 2),
    ("Broadcast-Listen", 3),
];
pub(super) const FRAMED_COMPRESSION: &[(&str, u32)] = &[
    ("None", 0),
    ("Van-Jacobson-TCP-IP", 1),
    ("IPX-Header-Compression", 2),
    ("Stac-LZS", 3),
];
pub(super) const LOGIN_SERVICE: &[(&str, u32)] = &[
    ("Telnet", 0),
    ("Rlogin", 1),
    ("TCP-Clear", 2),
    ("PortMaster", 3),
    ("LAT", 4),
    ("X25-PAD", 5),
    ("X25-T3POS", 6),
    ("TCP-Clear-Quiet", 8),
];
pub(super) const LOGIN_TCP_PORT: &[(&str, u32)] = &[("Telnet", 23), ("Rlogin", 513), ("Rsh", 514)];
pub(super) const TERMINATION_ACTION: &[(&str, u32)] = &[("Default", 0), ("RADIUS-Request", 1)];
pub(super) const NAS_PORT_TYPE: &[(&str, u32)] = &[
    ("Async", 0),
    ("Sync", 1),
    ("ISDN", 2),
    ("ISDN-V120", 3),
    ("ISDN-V110", 4),
    ("Virtual", 5),
    ("PIAFS", 6),
    ("HDLC-Clear-Channel", 7),
    ("X.25", 8),
    ("X.75", 9),
    ("G.3-Fax", 10),
    ("SDSL", 11),
    ("ADSL-CAP", 12),
    ("ADSL-DMT", 13),
    ("IDSL", 14),
    ("Ethernet", 15),
    ("xDSL", 16),
    ("Cable", 17),
    ("Wireless-Other", 18),
    ("Wireless-802.11", 19),
    ("Token-Ring", 20),
    ("FDDI", 21),
    ("PPPoA", 30),
    ("PPPoEoA", 31),
    ("PPPoEoE", 32),
    ("PPPoEoVLAN", 33),
    ("PPPoEoQinQ", 34),
];
pub(super) const ACCT_STATUS_TYPE: &[(&str, u32)] = &[
    ("Start", 1),
    ("Stop", 2),
    ("Alive", 3),
    ("Interim-Update", 3),
    ("Accounting-On", 7),
    ("Accounting-Off", 8),
    ("Failed", 15),
    ("Tunnel-Start", 9),
    ("Tunnel-Stop", 10),
    ("Tunnel-Reject", 11),
    ("Tunnel-Link-Start", 12),
    ("Tunnel-Link-Stop", 13),
    ("Tunnel-Link-Reject", 14),
];
pub(super) const ACCT_AUTHENTIC: &[(&str, u32)] =
    &[("RADIUS", 1), ("Local", 2), ("Remote", 3), ("Diameter", 4)];
pub(super) const ACCT_TERMINATE_CAUSE: &[(&str, u32)] = &[
    ("User-Request", 1),
    ("Lost-Carrier", 2),
    ("Lost-Service", 3),
    ("Idle-Timeout", 4),
    ("Session-Timeout", 5),
    ("Admin-Reset", 6),
    ("Admin-Reboot", 7),
    ("Port-Error", 8),
    ("NAS-Error", 9),
    ("NAS-Request", 10),
    ("NAS-Reboot", 11),
    ("Port-Unneeded", 12),
    ("Port-Preempted", 13),
    ("Port-Suspended", 14),
    ("Service-Unavailable", 15),
    ("Callback", 16),
    ("User-Error", 17),
    ("Host-Request", 18),
    ("Supplicant-Restart", 19),
    ("Reauthentication-Failure", 20),
    ("Port-Reinit", 21),
    ("Port-Disabled", 22),
];
pub(super) const TUNNEL_TYPE: &[(&str, u32)] = &[
    ("PPTP", 1),
    ("L2F", 2),
    ("L2TP", 3),
    ("ATMP", 4),
    ("VTP", 5),
    ("AH", 6),
    ("IP", 7),
    ("MIN-IP", 8),
    ("ESP", 9),
    ("GRE", 10),
    ("DVS", 11),
    ("IP-in-IP", 12),
    ("VLAN", 13),
];
pub(super) const TUNNEL_MEDIUM_TYPE: &[(&str, u32)] = &[
    ("IP", 1),
    ("IPv4", 1),
    ("IPv6", 2),
    ("NSAP", 3),
    ("HDLC", 4),
    ("BBN-1822", 5),
    ("IEEE-802", 6),
    ("E.163", 7),
    ("E.164", 8),
    ("F.69", 9),
    ("X.121", 10),
    ("IPX", 11),
    ("Appletalk", 12),
    ("DecNet-IV", 13),
    ("Banyan-Vines", 14),
    ("E.164-NSAP", 15),
];
pub(super) const ARAP_ZONE_ACCESS: &[(&str, u32)] = &[
    ("Default-Zone", 1),
    ("Zone-Filter-Inclusive", 2),
    ("Zone-Filter-Exclusive", 4),
];
pub(super) const PROMPT: &[(&str, u32)] = &[("No-Echo", 0), ("Echo", 1)];
pub(super) const ERROR_CAUSE: &[(&str, u32)] = &[
    ("Residual-Context-Removed", 201),
    ("Invalid-EAP-Packet", 202),
    ("Unsupported-Attribute", 401),
    ("Missing-Attribute", 402),
    ("NAS-Identification-Mismatch", 403),
    ("Invalid-Request", 404),
    ("Unsupported-Service", 405),
    ("Unsupported-Extension", 406),
    ("Administratively-Prohibited", 501),
    ("Proxy-Request-Not-Routable", 502),
    ("Session-Context-Not-Found", 503),
    ("Session-Context-Not-Removable", 504),
    ("Proxy-Processing-Error", 505),
    ("Resources-Unavailable", 506),
    ("Request-Initiated", 507),
    ("Invalid-Attribute-Value", 407),
    ("Multiple-Session-Selection-Unsupported", 508),
];
pub(super) const INGRESS_FILTERS: &[(&str, u32)] = &[("Enabled", 1), ("Disabled", 2)];
pub(super) const MS_MPPE_ENCRYPTION_POLICY: &[(&str, u32)] =
    &[("Encryption-Allowed", 1), ("Encryption-Required", 2)];
pub(super) const MS_MPPE_ENCRYPTION_TYPES: &[(&str, u32)] = &[
    ("RC4-40bit-Allowed", 1),
    ("RC4-128bit-Allowed", 2),
    ("RC4-40or128-bit-Allowed", 6),
];
pub(super) const MS_BAP_USAGE: &[(&str, u32)] =
    &[("Not-Allowed", 0), ("Allowed", 1), ("Required", 2)];
pub(super) const MS_ARAP_PW_CHANGE_REASON: &[(&str, u32)] = &[
    ("Just-Change-Password", 1),
    ("Expired-Password", 2),
    ("Admin-Requires-Password-Change", 3),
    ("Password-Too-Short", 4),
];
pub(super) const MS_ACCT_AUTH_TYPE: &[(&str, u32)] = &[
    ("PAP", 1),
    ("CHAP", 2),
    ("MS-CHAP-1", 3),
    ("MS-CHAP-2", 4),
    ("EAP", 5),
];
pub(super) const MS_ACCT_EAP_TYPE: &[(&str, u32)] = &[
    ("MD5", 4),
    ("OTP", 5),
    ("Generic-Token-Card", 6),
    ("TLS", 13),
];
pub(super) const MS_IDENTITY_TYPE: &[(&str, u32)] = &[
    ("Machine-Health-Check", 1),
    ("Ignore-User-Lookup-Failure", 2),
];
pub(super) const MS_QUARANTINE_STATE: &[(&str, u32)] =
    &[("Full-Access", 0), ("Quarantine", 1), ("Probation", 2)];
pub(super) const MS_NETWORK_ACCESS_SERVER_TYPE: &[(&str, u32)] = &[
    ("Unspecified", 0),
    ("Terminal-Server-Gateway", 1),
    ("Remote-Access-Server", 2),
    ("DHCP-Server", 3),
    ("Wireless-Access-Point", 4),
    ("HRA", 5),
    ("HCAP-Server", 6),
];
pub(super) const MS_AFW_ZONE: &[(&str, u32)] = &[
    ("MS-AFW-Zone-Boundary-Policy", 1),
    ("MS-AFW-Zone-Unprotected-Policy", 2),
    ("MS-AFW-Zone-Protected-Policy", 3),
];
pub(super) const MS_AFW_PROTECTION_LEVEL: &[(&str, u32)] = &[
    ("HECP-Response-Sign-Only", 1),
    ("HECP-Response-Sign-And-Encrypt", 2),
];
pub(super) const MS_RNAP_NOT_QUARANTINE_CAPABLE: &[(&str, u32)] =
    &[("SoH-Sent", 0), ("SoH-Not-Sent", 1)];
pub(super) const MS_EXTENDED_QUARANTINE_STATE: &[(&str, u32)] = &[
    ("Transition", 1),
    ("Infected", 2),
    ("Unknown", 3),
    ("No-Data", 4),
];
pub(super) const CISCO_DISCONNECT_CAUSE: &[(&str, u32)] = &[
    ("No-Reason", 0),
    ("No-Disconnect", 1),
    ("Unknown", 2),
    ("Call-Disconnect", 3),
    ("CLID-Authentication-Failure", 4),
    ("No-Modem-Available", 9),
    ("No-Carrier", 10),
    ("Lost-Carrier", 11),
    ("No-Detected-Result-Codes", 12),
    ("User-Ends-Session", 20),
    ("Idle-Timeout", 21),
    ("Exit-Telnet-Session", 22),
    ("No-Remote-IP-Addr", 23),
    ("Exit-Raw-TCP", 24),
    ("Password-Fail", 25),
    ("Raw-TCP-Disabled", 26),
    ("Control-C-Detected", 27),
    ("EXEC-Program-Destroyed", 28),
    ("Close-Virtual-Connection", 29),
    ("End-Virtual-Connection", 30),
    ("Exit-Rlogin", 31),
    ("Invalid-Rlogin-Option", 32),
    ("Insufficient-Resources", 33),
    ("Timeout-PPP-LCP", 40),
    ("Failed-PPP-LCP-Negotiation", 41),
    ("Failed-PPP-PAP-Auth-Fail", 42),
    ("Failed-PPP-CHAP-Auth", 43),
    ("Failed-PPP-Remote-Auth", 44),
    ("PPP-Remote-Terminate", 45),
    ("PPP-Closed-Event", 46),
    ("NCP-Closed-PPP", 47),
    ("MP-Error-PPP", 48),
    ("PPP-Maximum-Channels", 49),
    ("Tables-Full", 50),
    ("Resources-Full", 51),
    ("Invalid-IP-Address", 52),
    ("Bad-Hostname", 53),
    ("Bad-Port", 54),
    ("Reset-TCP", 60),
    ("TCP-Connection-Refused", 61),
    ("Timeout-TCP", 62),
    ("Foreign-Host-Close-TCP", 63),
    ("TCP-Network-Unreachable", 64),
    ("TCP-Host-Unreachable", 65),
    ("TCP-Network-Admin-Unreachable", 66),
    ("TCP-Port-Unreachable", 67),
    ("Session-Timeout", 100),
    ("Session-Failed-Security", 101),
    ("Session-End-Callback", 102),
    ("Invalid-Protocol", 120),
    ("RADIUS-Disconnect", 150),
    ("Local-Admin-Disconnect", 151),
    ("SNMP-Disconnect", 152),
    ("V110-Retries", 160),
    ("PPP-Authentication-Timeout", 170),
    ("Local-Hangup", 180),
    ("Remote-Hangup", 185),
    ("T1-Quiesced", 190),
    ("Call-Duration", 195),
    ("VPN-User-Disconnect", 600),
    ("VPN-Carrier-Loss", 601),
    ("VPN-No-Resources", 602),
    ("VPN-Bad-Control-Packet", 603),
    ("VPN-Admin-Disconnect", 604),
    ("VPN-Tunnel-Shut", 605),
    ("VPN-Local-Disconnect", 606),
    ("VPN-Session-Limit", 607),
    ("VPN-Call-Redirect", 608),
];
pub(super) const ASA_IPSEC_AUTHENTICATION: &[(&str, u32)] = &[
    ("None", 0),
    ("RADIUS", 1),
    ("LDAP-Authorization-only", 2),
    ("NT-Domain", 3),
    ("SDI", 4),
    ("Internal", 5),
    ("RADIUS-with-Expiry", 6),
    ("Kerberos/Active-Directory", 7),
];
pub(super) const ASA_IPSEC_ALLOW_PASSWD_STORE: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_USE_CLIENT_ADDRESS: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_IPSEC_TUNNEL_TYPE: &[(&str, u32)] = &[("LAN-to-LAN", 1), ("Remote-Access", 2)];
pub(super) const ASA_IPSEC_MODE_CONFIG: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_IPSEC_OVER_UDP: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_PPTP_MPPC_COMPRESSION: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_L2TP_MPPC_COMPRESSION: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_IPSEC_IP_COMPRESSION: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_IPSEC_IKE_PEER_ID_CHECK: &[(&str, u32)] = &[
    ("Required", 1),
    ("If-Supported-By-Peer-Certificate", 2),
    ("Do-Not-Check", 3),
];
pub(super) const ASA_IKE_KEEP_ALIVES: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_IPSEC_AUTH_ON_REKEY: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_REQUIRED_CLIENT_FIREWALL_VENDOR_CODE: &[(&str, u32)] = &[
    ("Cisco-CIC", 1),
    ("Zone-Labs", 2),
    ("NetworkICE", 3),
    ("Sygate", 4),
    ("Cisco-IPSA", 5),
];
pub(super) const ASA_REQUIRE_HW_CLIENT_AUTH: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_REQUIRED_INDIVIDUAL_USER_AUTH: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_CISCO_IP_PHONE_BYPASS: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_IPSEC_SPLIT_TUNNELING_POLICY: &[(&str, u32)] = &[
    ("No-Split-Tunneling", 0),
    ("Split-Tunneling", 1),
    ("Local-LAN-Permitted", 2),
];
pub(super) const ASA_IPSEC_REQUIRED_CLIENT_FIREWALL_CAPABILITY: &[(&str, u32)] = &[
    ("None", 0),
    ("Policy-Remotely-Defined", 1),
    ("Policy-Pushed", 2),
    ("Policy-from-Server", 4),
];
pub(super) const ASA_IPSEC_CLIENT_FIREWALL_FILTER_OPTIONAL: &[(&str, u32)] =
    &[("Required", 0), ("Optional", 1)];
pub(super) const ASA_IPSEC_BACKUP_SERVERS: &[(&str, u32)] = &[
    ("Use-Client-Configured-List", 1),
    ("Disable-and-clear-client-list", 2),
    ("Use-Backup-Server-List", 3),
];
pub(super) const ASA_INTERCEPT_DHCP_CONFIGURE_MSG: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_ALLOW_NETWORK_EXTENSION_MODE: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_AUTHORIZATION_TYPE: &[(&str, u32)] =
    &[("None", 0), ("Radius", 1), ("LDAP", 2)];
pub(super) const ASA_AUTHORIZATION_REQUIRED: &[(&str, u32)] = &[("No", 0), ("Yes", 1)];
pub(super) const ASA_CISCO_LEAP_BYPASS: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_IE_PROXY_SERVER_POLICY: &[(&str, u32)] = &[
    ("No-Modify", 1),
    ("No-Proxy", 2),
    ("Auto-detect", 3),
    ("Use-Concentrator-Setting", 4),
];
pub(super) const ASA_IE_PROXY_BYPASS_LOCAL: &[(&str, u32)] = &[("None", 0), ("Local", 1)];
pub(super) const ASA_PERFECT_FORWARD_SECRECY_ENABLE: &[(&str, u32)] = &[("No", 0), ("Yes", 1)];
pub(super) const ASA_NAC_ENABLE: &[(&str, u32)] = &[("No", 0), ("Yes", 1)];
pub(super) const ASA_WEBVPN_URL_ENTRY_ENABLE: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_FILE_ACCESS_ENABLE: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_FILE_SERVER_ENTRY_ENABLE: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_FILE_SERVER_BROWSING_ENABLE: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_PORT_FORWARDING_ENABLE: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_PORT_FORWARDING_EXCHANGE_PROXY_ENABLE: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_PORT_FORWARDING_HTTP_PROXY: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_CITRIX_METAFRAME_ENABLE: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_APPLY_ACL: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_SSL_VPN_CLIENT_ENABLE: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_SSL_VPN_CLIENT_REQUIRED: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_SSL_VPN_CLIENT_KEEP_INSTALLATION: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_SVC_REKEY_METHOD: &[(&str, u32)] =
    &[("Off", 0), ("SSL", 1), ("New-Tunnel", 2)];
pub(super) const ASA_WEBVPN_SVC_COMPRESSION: &[(&str, u32)] =
    &[("Off", 0), ("Deflate-Compression", 1)];
pub(super) const ASA_WEBVPN_HTTP_COMPRESSION: &[(&str, u32)] =
    &[("Off", 0), ("Deflate-Compression", 1)];
pub(super) const ASA_EXTENDED_AUTHENTICATION_ON_REKEY: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_SVC_DTLS_ENABLE: &[(&str, u32)] =
    &[("FALSE", 0), ("TRUE", 1), ("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_HIDDEN_SHARES: &[(&str, u32)] = &[("None", 0), ("Visible", 1)];
pub(super) const ASA_SVC_ASK: &[(&str, u32)] = &[
    ("Disabled", 0),
    ("Enabled", 1),
    ("Enable-Default-Service", 3),
    ("Enable-Default-Clientless", 5),
];
pub(super) const ASA_STRIP_REALM: &[(&str, u32)] = &[("Disabled", 0), ("Enabled", 1)];
pub(super) const ASA_WEBVPN_SMART_TUNNEL_AUTO_START: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1), ("AutoStart", 2)];
pub(super) const ASA_CLIENTTYPE: &[(&str, u32)] = &[
    ("Cisco-VPN-Client-IKEv1", 1),
    ("AnyConnect-Client-SSL-VPN", 2),
    ("Clientless-SSL-VPN", 3),
    ("Cut-Through-Proxy", 4),
    ("L2TP/IPsec-SSL-VPN", 5),
    ("AnyConnect-Client-IPSec-VPN-IKEv2", 6),
];
pub(super) const ASA_SESSIONTYPE: &[(&str, u32)] = &[
    ("None", 0),
    ("AnyConnect-Client-SSL-VPN", 1),
    ("AnyConnect-Client-IPSec-VPN/IKEv2", 2),
    ("Clientless-SSL-VPN", 3),
    ("Clientless-Email-Proxy", 4),
    ("Cisco-VPN-Client/IKEv1", 5),
    ("IKEv1-LAN-to-LAN", 6),
    ("IKEv2-LAN-to-LAN", 7),
    ("VPN-Load-Balancing", 8),
];
pub(super) const ASA_SESSIONSUBTYPE: &[(&str, u32)] = &[
    ("None", 0),
    ("Clientless", 1),
    ("Client", 2),
    ("Client-Only", 3),
];
pub(super) const ASA_WEBVPNSMART_CARD_REMOVAL_DISCONNECT: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1)];
pub(super) const CVPN3000_ALLOW_ALPHA_ONLY_PASSWORDS: &[(&str, u32)] =
    &[("Disallow", 0), ("Allow", 1)];
pub(super) const CVPN3000_SEP_CARD_ASSIGNMENT: &[(&str, u32)] = &[
    ("SEP1", 1),
    ("SEP2", 2),
    ("SEP3", 4),
    ("SEP4", 8),
    ("Any-SEP", 15),
];
pub(super) const CVPN3000_PRIORITY_ON_SEP: &[(&str, u32)] = &[
    ("High", 1),
    ("Med-High", 2),
    ("Medium", 3),
    ("Med-Low", 4),
    ("Low", 5),
];
pub(super) const CVPN3000_TUNNELING_PROTOCOLS: &[(&str, u32)] = &[
    ("PPTP", 1),
    ("L2TP", 2),
    ("IPSec", 4),
    ("PPTP-and-IPSec", 5),
    ("L2TP/IPSec", 8),
    ("All", 15),
];
pub(super) const CVPN3000_IPSEC_AUTHENTICATION: &[(&str, u32)] = &[
    ("None", 0),
    ("RADIUS", 1),
    ("LDAP", 2),
    ("NTDomain", 3),
    ("SDI", 4),
    ("Internal", 5),
];
pub(super) const CVPN3000_IPSEC_ALLOW_PASSWD_STORE: &[(&str, u32)] =
    &[("Disallow", 0), ("Allow", 1)];
pub(super) const CVPN3000_USE_CLIENT_ADDRESS: &[(&str, u32)] = &[("Disallow", 0), ("Allow", 1)];
pub(super) const CVPN3000_PPTP_MIN_AUTH_PROTOCOL: &[(&str, u32)] = &[
    ("PAP", 1),
    ("CHAP", 2),
    ("EAP-MD5", 4),
    ("EAP-GTC", 8),
    ("EAP-TLS", 16),
    ("MSCHAPv1", 32),
    ("MSCHAPv2", 64),
    ("Default", 102),
];
pub(super) const CVPN3000_L2TP_MIN_AUTH_PROTOCOL: &[(&str, u32)] = &[
    ("PAP", 1),
    ("CHAP", 2),
    ("EAP-MD5", 4),
    ("EAP-GTC", 8),
    ("EAP-TLS", 16),
    ("MSCHAPv1", 32),
    ("MSCHAPv2", 64),
    ("Default", 102),
];
pub(super) const CVPN3000_PPTP_ENCRYPTION: &[(&str, u32)] = &[
    ("PPTP-40bit", 2),
    ("PPTP-40-Encryption-Req", 3),
    ("PPTP-128", 4),
    ("PPTP-128-Encryption-Req", 5),
    ("PPTP-40-or-128", 6),
    ("PPTP-40-or-128-Encry-Req", 7),
    ("PPTP-40-Stateless-Req", 10),
    ("PPTP-40-Enc/Stateless-Req", 11),
    ("PPTP-128-Stateless-Req", 12),
    ("PPTP-128-Enc/Stateless-Req", 13),
    ("PPTP-40/128-Stateless-Req", 14),
    ("PPTP-40/128-Enc/Statls-Req", 15),
];
pub(super) const CVPN3000_L2TP_ENCRYPTION: &[(&str, u32)] = &[
    ("L2TP-40bit", 2),
    ("L2TP-40-Encryption-Req", 3),
    ("L2TP-128", 4),
    ("L2TP-128-Encryption-Req", 5),
    ("L2TP-40-or-128", 6),
    ("L2TP-40-or-128-Encry-Req", 7),
    ("L2TP-40-Stateless-Req", 10),
    ("L2TP-40-Enc/Stateless-Req", 11),
    ("L2TP-128-Stateless-Req", 12),
    ("L2TP-128-Enc/Stateless-Req", 13),
    ("L2TP-40/128-Stateless-Req", 14),
    ("L2TP-40/128-Enc/Statls-Req", 15),
];
pub(super) const CVPN3000_AUTH_SERVER_TYPE: &[(&str, u32)] = &[
    ("First-Active-Server", 0),
    ("RADIUS", 1),
    ("LDAP", 2),
    ("NT", 3),
    ("SDI", 4),
    ("Internal", 5),
];
pub(super) const CVPN3000_IPSEC_LTL_KEEPALIVES: &[(&str, u32)] = &[("OFF", 0), ("ON", 1)];
pub(super) const CVPN3000_IPSEC_TUNNEL_TYPE: &[(&str, u32)] =
    &[("LAN-to-LAN", 1), ("Remote-Access", 2)];
pub(super) const CVPN3000_IPSEC_MODE_CONFIG: &[(&str, u32)] = &[("ON", 1), ("OFF", 0)];
pub(super) const CVPN3000_IPSEC_USER_GROUP_LOCK: &[(&str, u32)] = &[("OFF", 0), ("ON", 1)];
pub(super) const CVPN3000_IPSEC_OVER_UDP: &[(&str, u32)] = &[("OFF", 0), ("ON", 1)];
pub(super) const CVPN3000_STRIP_REALM: &[(&str, u32)] = &[("FALSE", 0), ("TRUE", 1)];
pub(super) const CVPN3000_SMART_TUNNEL_AUTO: &[(&str, u32)] =
    &[("Disabled", 0), ("Enabled", 1), ("Auto", 2)];
