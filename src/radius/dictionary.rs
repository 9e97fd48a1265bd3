//! The built-in RADIUS attribute dictionary: the names, numbers, value types and named values
//! of the standard attributes and of the vendors whose NASes we serve (Microsoft, Cisco, Cisco
//! ASA / VPN 3000, Fortinet, Palo Alto), as FreeRADIUS's dictionaries define them (`tables`
//! says which files). It owns the three conversions between names and the wire:
//!
//! - configuration to wire: [`parse_assignment`] checks `Name[:tag] = value` from the TOML
//!   against the attribute's type and [`encode`] appends it to a packet;
//! - names to numbers: [`lookup`] (case-insensitive, as FreeRADIUS) for allow and deny lists;
//! - wire to text: [`display`] prints a received attribute FreeRADIUS-style for logs and the
//!   CLI.
//!
//! Hidden values (User-Password, Tunnel-Password, the MS-MPPE keys) are parsed here but not
//! encrypted: that needs the shared secret and the request authenticator of the packet being
//! answered, which only the caller has, so [`encode`] refuses them and [`display`] never prints
//! them.
//!
//! FreeRADIUS types map to [`Kind`] as string → `Text`, octets and `octets[N]` → `Octets`,
//! integer → `Integer` (32 bits), ipaddr → `Ipv4`, ipv6addr → `Ipv6`, ipv6prefix →
//! `Ipv6Prefix`, date → `Date`, ifid → `Ifid`, ether → `Ether`, vsa → `Vsa`. The included
//! dictionaries use no other type; byte, short, integer64, signed, abinary, tlv and the RFC 6929
//! extended types are left out with the files that use them. Two flags are dropped: the `[N]`
//! of `octets[N]` (only MS-CHAP and ARAP exchange attributes carry it, which nobody
//! configures) and `concat` (EAP-Message, never configured either).

mod tables;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::codec;

/// How an attribute's value is laid out on the wire (the RFC 8044 data types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text (FreeRADIUS `string`).
    Text,
    /// Opaque octets.
    Octets,
    /// 32-bit unsigned, big-endian; may have named values.
    Integer,
    /// IPv4 address, 4 octets.
    Ipv4,
    /// IPv6 address, 16 octets.
    Ipv6,
    /// RFC 3162 §2.3: a reserved octet, the prefix length, the prefix.
    Ipv6Prefix,
    /// Seconds since the Unix epoch, 32-bit.
    Date,
    /// RFC 3162 §2.2 interface identifier, 8 octets.
    Ifid,
    /// MAC address, 6 octets.
    Ether,
    /// Vendor-Specific (26) itself: named so that lists can allow or deny all vendor
    /// attributes, never assigned directly.
    Vsa,
}

/// How an attribute's value is hidden on the wire (FreeRADIUS `encrypt=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hiding {
    /// Sent as is.
    None,
    /// RFC 2865 §5.2 (`encrypt=1`): User-Password, MS-CHAP-MPPE-Keys. See
    /// `codec::hide_user_password`.
    UserPassword,
    /// RFC 2868 §3.5 / RFC 2548 §2.4.2 salt (`encrypt=2`): Tunnel-Password, MS-MPPE-Send-Key,
    /// MS-MPPE-Recv-Key. See `radius::salt`; Tunnel-Password's tag octet goes before the salt.
    Salted,
}

/// One attribute as the dictionary knows it.
#[derive(Debug, PartialEq, Eq)]
pub struct AttrDef {
    /// The name as FreeRADIUS spells it.
    pub name: &'static str,
    /// 0 for a standard attribute, else the SMI enterprise number of its Vendor-Specific.
    pub vendor: u32,
    /// The attribute type, or the vendor's sub-attribute type.
    pub code: u8,
    pub kind: Kind,
    /// Carries an RFC 2868 tag (the tunnel attributes).
    pub tagged: bool,
    pub hiding: Hiding,
    /// Named values of an `Integer`, in dictionary order.
    pub values: &'static [(&'static str, u32)],
}

/// A configured value as the TOML gave it: config code maps TOML strings and integers here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Integer(i64),
}

/// A checked `Name[:tag] = value`, ready for [`encode`] (or, if hidden, for the caller's
/// encryption).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub def: &'static AttrDef,
    /// 1..=31, only on tagged attributes.
    pub tag: Option<u8>,
    /// The plain value in wire form, without the tag octet; a tagged `Integer` keeps its
    /// first octet 0 for the tag to take.
    pub value: Vec<u8>,
}

/// Why an attribute assignment was refused; every message names the attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DictError {
    #[error("unknown RADIUS attribute `{name}`{}", did_you_mean(.suggestion))]
    UnknownAttribute {
        name: String,
        suggestion: Option<&'static str>,
    },
    #[error("`{attr}` takes {expected}, not a number: write it as a string")]
    WrongKind {
        attr: &'static str,
        expected: &'static str,
    },
    #[error("`{attr}`: {value:?} is not {expected}")]
    BadValue {
        attr: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("`{attr}` has no value named {value:?}; write a number or one of {allowed}")]
    UnknownValue {
        attr: &'static str,
        value: String,
        allowed: String,
    },
    #[error("`{attr}`: {value} is outside 0..={max}")]
    OutOfRange {
        attr: &'static str,
        value: i64,
        max: u32,
    },
    #[error("`{attr}` takes no tag (only the RFC 2868 tunnel attributes do): drop the `:N`")]
    TagNotAllowed { attr: &'static str },
    #[error("`{attr}`: tag `{tag}` is not a number in 1..=31")]
    BadTag { attr: &'static str, tag: String },
    #[error("`{attr}`: the value is {len} octets, more than the {max} the attribute can carry")]
    TooLong {
        attr: &'static str,
        len: usize,
        max: usize,
    },
    #[error("`{attr}` is the container of vendor attributes: assign the vendor attribute by name")]
    NotAssignable { attr: &'static str },
    #[error(
        "`{attr}` is encrypted with the shared secret and request authenticator: the caller \
         hides it instead of encoding it as is"
    )]
    NeedsHiding { attr: &'static str },
    #[error("`{attr}`: {len} octets are not a valid value of its type")]
    Malformed { attr: &'static str, len: usize },
}

fn did_you_mean(suggestion: &Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"))
}

/// Octets an attribute's value may have: RFC 2865 §5 leaves 253 after type and length, a VSA
/// 247 after its vendor id and sub-header. We do not split a value over several attributes:
/// only EAP-Message and a few vendor attributes may be split, and none of them is configured.
const MAX_VALUE: usize = 253;
const MAX_VSA_VALUE: usize = MAX_VALUE - 6;
/// RFC 2865 §5.2: User-Password hides at most 128 octets.
const MAX_USER_PASSWORD: usize = 128;
/// One length octet and the value in 15 blocks, the most `salt::encrypt` fits.
const MAX_SALTED: usize = 239;
const TAGS: std::ops::RangeInclusive<u8> = 1..=31;
/// RFC 2868 §3: the tag takes the first of a tagged integer's four octets.
const MAX_TAGGED_INTEGER: u32 = 0x00FF_FFFF;
/// RFC 2868 §3: a first octet below 0x20 of a tagged string is its tag.
const FIRST_UNTAGGED: u8 = 0x20;

const NON_EMPTY: &str = "a value: RFC 2865 §5 forbids empty ones, leave the attribute out";

fn all() -> impl Iterator<Item = &'static AttrDef> {
    tables::ATTRS.iter().chain(tables::ALIASES)
}

/// The attribute called `name`, case-insensitively. Besides the name FreeRADIUS prints, this
/// finds the older names its dictionaries keep for a number (`MS-MPPE-Encryption-Type`) and
/// the Cisco VPN 3000 names (`CVPN3000-…`), which share vendor 3076 with the ASA.
pub fn lookup(name: &str) -> Option<&'static AttrDef> {
    // A linear scan: names are looked up when configuration loads, not per packet.
    all().find(|d| d.name.eq_ignore_ascii_case(name))
}

/// The attribute `code` of `vendor` (0 for a standard attribute), under the name it prints as.
pub fn by_code(vendor: u32, code: u8) -> Option<&'static AttrDef> {
    let i = tables::ATTRS
        .binary_search_by_key(&(vendor, code), |d| (d.vendor, d.code))
        .ok()?;
    tables::ATTRS.get(i)
}

/// Parses `name = value` from configuration. `name` is an attribute name, with `:TAG` (1..=31)
/// on a tagged attribute. By kind, `value` is:
///
/// - `Text`: any text, or an integer written in decimal;
/// - `Octets`: `0x` and hex digits, or else the text's own octets (`Class = "OU=admins;"`);
/// - `Integer`: a number or a VALUE name, case-insensitively (`Tunnel-Type = "VLAN"`);
/// - `Ipv4`, `Ipv6`: the usual text forms;
/// - `Ipv6Prefix`: `2001:db8::/64`, no bits set past the length, sent with all 16 prefix
///   octets as FreeRADIUS sends it (RFC 3162 allows fewer; every NAS takes 16);
/// - `Date`: seconds since the epoch, or RFC 3339 text;
/// - `Ifid`: four groups of hex, `0:0:0:1`; `Ether`: six of them, `00:11:22:aa:bb:cc`.
///
/// The value must fit one attribute: 253 octets, 247 for a vendor attribute, one fewer for a
/// tagged string, 128 for User-Password hiding and 239 for salt hiding.
pub fn parse_assignment(name: &str, value: &Value) -> Result<Assignment, DictError> {
    let (attr, tag) = match name.split_once(':') {
        Some((attr, tag)) => (attr.trim(), Some(tag.trim())),
        None => (name.trim(), None),
    };
    let def = lookup(attr).ok_or_else(|| DictError::UnknownAttribute {
        name: attr.to_string(),
        suggestion: closest_name(attr),
    })?;
    let tag = match tag {
        None => None,
        Some(_) if !def.tagged => return Err(DictError::TagNotAllowed { attr: def.name }),
        Some(t) => Some(
            t.parse::<u8>()
                .ok()
                .filter(|n| TAGS.contains(n))
                .ok_or_else(|| DictError::BadTag {
                    attr: def.name,
                    tag: t.to_string(),
                })?,
        ),
    };
    let value = parse_value(def, value)?;
    check(def, tag, &value)?;
    Ok(Assignment { def, tag, value })
}

/// Appends `a` to `out` as one attribute, a Vendor-Specific for a vendor's, with the tag of a
/// tagged attribute in front (RFC 2868 §3: in place of a tagged integer's first octet, before
/// a string; an untagged string that starts below 0x20 gets a 0 tag so that its first octet is
/// not read as one). Refuses hidden attributes, which the caller must encrypt.
pub fn encode(a: &Assignment, out: &mut Vec<u8>) -> Result<(), DictError> {
    let def = a.def;
    if def.hiding != Hiding::None {
        return Err(DictError::NeedsHiding { attr: def.name });
    }
    if def.kind == Kind::Vsa {
        return Err(DictError::NotAssignable { attr: def.name });
    }
    check(def, a.tag, &a.value)?;
    let mut value = Vec::with_capacity(a.value.len() + 1);
    if def.tagged && def.kind == Kind::Integer {
        value.push(a.tag.unwrap_or(0));
        value.extend_from_slice(a.value.get(1..).unwrap_or_default());
    } else {
        if def.tagged {
            match a.tag {
                Some(t) => value.push(t),
                None if a.value.first().is_some_and(|b| *b < FIRST_UNTAGGED) => value.push(0),
                None => {}
            }
        }
        value.extend_from_slice(&a.value);
    }
    if def.vendor == 0 {
        codec::push_attr(out, def.code, &value);
    } else {
        codec::push_vsa(out, def.vendor, def.code, &value);
    }
    Ok(())
}

/// `Name = value` as FreeRADIUS prints it: `Filter-Id = "staff"`, `Session-Timeout = 3600`,
/// `Tunnel-Type:1 = VLAN`, addresses bare, octets as `0x…`, dates in RFC 3339. Text is quoted
/// and escaped, so a value cannot forge a log line. Unknown attributes print as
/// `Attr-200 = 0x…` or `Attr-26.311.99 = 0x…`, and so does a value malformed for its type.
/// Hidden values print as `<hidden>`. A Vendor-Specific (0, 26) prints as its
/// sub-attributes, joined by `, `.
pub fn display(vendor: u32, code: u8, value: &[u8]) -> String {
    if vendor == 0 && code == codec::ATTR_VENDOR_SPECIFIC {
        if let Some((v, subs)) = codec::vendor_attrs(value) {
            let shown: Vec<String> = subs.iter().map(|(t, s)| display(v, *t, s)).collect();
            return shown.join(", ");
        }
    }
    let Some(def) = by_code(vendor, code) else {
        let name = if vendor == 0 {
            format!("Attr-{code}")
        } else {
            format!("Attr-26.{vendor}.{code}")
        };
        return format!("{name} = {}", hex(value));
    };
    let (tag, body) = split_tag(def, value);
    let shown = if def.hiding != Hiding::None {
        "<hidden>".to_string()
    } else {
        render(def, body).unwrap_or_else(|| hex(body))
    };
    match tag {
        Some(t) => format!("{}:{t} = {shown}", def.name),
        None => format!("{} = {shown}", def.name),
    }
}

fn parse_value(def: &'static AttrDef, value: &Value) -> Result<Vec<u8>, DictError> {
    let attr = def.name;
    let bad = |expected: &'static str, text: &str| DictError::BadValue {
        attr,
        value: text.to_string(),
        expected,
    };
    let text = match (def.kind, value) {
        (Kind::Vsa, _) => return Err(DictError::NotAssignable { attr }),
        (Kind::Integer, v) => return integer(def, v).map(|n| n.to_be_bytes().to_vec()),
        (Kind::Date, v) => return date(def, v).map(|n| n.to_be_bytes().to_vec()),
        (Kind::Text, Value::Integer(n)) => return Ok(n.to_string().into_bytes()),
        (kind, Value::Integer(_)) => {
            return Err(DictError::WrongKind {
                attr,
                expected: expect(kind),
            })
        }
        (_, Value::Text(s)) => s.as_str(),
    };
    let parsed = match def.kind {
        Kind::Octets => match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(digits) => hex_decode(digits),
            None => Some(text.as_bytes().to_vec()),
        },
        Kind::Ipv4 => text.parse::<Ipv4Addr>().ok().map(|a| a.octets().to_vec()),
        Kind::Ipv6 => text.parse::<Ipv6Addr>().ok().map(|a| a.octets().to_vec()),
        Kind::Ipv6Prefix => ipv6_prefix(text),
        Kind::Ifid => {
            hex_groups(text, &[':'], 4, 4).map(|g| g.iter().flat_map(|n| n.to_be_bytes()).collect())
        }
        Kind::Ether => hex_groups(text, &[':', '-'], 6, 2)
            .and_then(|g| g.iter().map(|n| u8::try_from(*n).ok()).collect()),
        Kind::Text => Some(text.as_bytes().to_vec()),
        // Returned above.
        Kind::Integer | Kind::Date | Kind::Vsa => None,
    };
    parsed.ok_or_else(|| bad(expect(def.kind), text))
}

/// What a kind's text form looks like, for messages.
fn expect(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Octets => "text, or 0x and an even number of hex digits",
        Kind::Integer => "a number",
        Kind::Ipv4 => "an IPv4 address like 10.0.0.5",
        Kind::Ipv6 => "an IPv6 address like 2001:db8::1",
        Kind::Ipv6Prefix => "an IPv6 prefix like 2001:db8::/64, with no bits set past its length",
        Kind::Date => "seconds since 1970 or an RFC 3339 time",
        Kind::Ifid => "an interface id like 0:0:0:1",
        Kind::Ether => "a MAC address like 00:11:22:aa:bb:cc",
        Kind::Vsa => "a vendor attribute",
    }
}

fn integer(def: &'static AttrDef, value: &Value) -> Result<u32, DictError> {
    let max = if def.tagged {
        MAX_TAGGED_INTEGER
    } else {
        u32::MAX
    };
    let n = match value {
        Value::Integer(n) => *n,
        Value::Text(s) => {
            let s = s.trim();
            if let Some((_, n)) = def.values.iter().find(|(v, _)| v.eq_ignore_ascii_case(s)) {
                i64::from(*n)
            } else if let Ok(n) = s.parse::<i64>() {
                n
            } else if def.values.is_empty() {
                return Err(DictError::BadValue {
                    attr: def.name,
                    value: s.to_string(),
                    expected: expect(Kind::Integer),
                });
            } else {
                return Err(DictError::UnknownValue {
                    attr: def.name,
                    value: s.to_string(),
                    allowed: some_values(def.values),
                });
            }
        }
    };
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= max)
        .ok_or(DictError::OutOfRange {
            attr: def.name,
            value: n,
            max,
        })
}

fn date(def: &'static AttrDef, value: &Value) -> Result<u32, DictError> {
    let n = match value {
        Value::Integer(n) => *n,
        Value::Text(s) => {
            let s = s.trim();
            match s.parse::<i64>() {
                Ok(n) => n,
                Err(_) => crate::timefmt::parse_rfc3339_ms(s)
                    .and_then(|ms| i64::try_from(ms / 1000).ok())
                    .ok_or_else(|| DictError::BadValue {
                        attr: def.name,
                        value: s.to_string(),
                        expected: expect(Kind::Date),
                    })?,
            }
        }
    };
    u32::try_from(n).map_err(|_| DictError::OutOfRange {
        attr: def.name,
        value: n,
        max: u32::MAX,
    })
}

/// The first few VALUE names of an attribute, for an error message.
fn some_values(values: &[(&str, u32)]) -> String {
    const SHOWN: usize = 8;
    let names: Vec<&str> = values.iter().take(SHOWN).map(|(n, _)| *n).collect();
    let mut s = names.join(", ");
    if values.len() > SHOWN {
        let _ = write!(s, " (and {} more)", values.len() - SHOWN);
    }
    s
}

fn hex_decode(digits: &str) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

/// `count` groups of 1..=`width` hex digits split by one of `seps`.
fn hex_groups(text: &str, seps: &[char], count: usize, width: usize) -> Option<Vec<u16>> {
    let groups: Vec<&str> = text.split(seps).collect();
    if groups.len() != count {
        return None;
    }
    groups
        .iter()
        .map(|g| {
            let ok = (1..=width).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit());
            ok.then(|| u16::from_str_radix(g, 16).ok()).flatten()
        })
        .collect()
}

fn ipv6_prefix(text: &str) -> Option<Vec<u8>> {
    let (addr, len) = match text.split_once('/') {
        Some((addr, len)) => (addr, len.parse::<u8>().ok().filter(|l| *l <= 128)?),
        None => (text, 128),
    };
    let addr: Ipv6Addr = addr.parse().ok()?;
    let host_bits = u128::MAX.checked_shr(u32::from(len)).unwrap_or(0);
    if u128::from(addr) & host_bits != 0 {
        return None;
    }
    let mut v = vec![0, len];
    v.extend_from_slice(&addr.octets());
    Some(v)
}

/// The invariants [`parse_assignment`] establishes, checked again by [`encode`] because an
/// [`Assignment`]'s fields are public.
fn check(def: &'static AttrDef, tag: Option<u8>, value: &[u8]) -> Result<(), DictError> {
    let attr = def.name;
    if let Some(t) = tag {
        if !def.tagged {
            return Err(DictError::TagNotAllowed { attr });
        }
        if !TAGS.contains(&t) {
            return Err(DictError::BadTag {
                attr,
                tag: t.to_string(),
            });
        }
    }
    let fits = match def.kind {
        Kind::Integer => value.len() == 4 && !(def.tagged && value.first() != Some(&0)),
        Kind::Date | Kind::Ipv4 => value.len() == 4,
        Kind::Ipv6 => value.len() == 16,
        Kind::Ipv6Prefix => (2..=18).contains(&value.len()),
        Kind::Ifid => value.len() == 8,
        Kind::Ether => value.len() == 6,
        Kind::Text | Kind::Octets | Kind::Vsa => true,
    };
    if !fits {
        return Err(DictError::Malformed {
            attr,
            len: value.len(),
        });
    }
    if value.is_empty() {
        return Err(DictError::BadValue {
            attr,
            value: String::new(),
            expected: NON_EMPTY,
        });
    }
    let max = max_len(def);
    if value.len() > max {
        return Err(DictError::TooLong {
            attr,
            len: value.len(),
            max,
        });
    }
    Ok(())
}

fn max_len(def: &AttrDef) -> usize {
    let room = if def.vendor == 0 {
        MAX_VALUE
    } else {
        MAX_VSA_VALUE
    };
    // A tagged string may need its tag octet; a tagged integer has room for it.
    let room = if def.tagged && def.kind != Kind::Integer {
        room - 1
    } else {
        room
    };
    match def.hiding {
        Hiding::None => room,
        Hiding::UserPassword => room.min(MAX_USER_PASSWORD),
        Hiding::Salted => room.min(MAX_SALTED),
    }
}

/// Separates a received tagged value's tag (0 is "no tag") from the value, the inverse of
/// [`encode`]'s layout.
fn split_tag<'v>(def: &AttrDef, value: &'v [u8]) -> (Option<u8>, &'v [u8]) {
    if !def.tagged {
        return (None, value);
    }
    match value.first() {
        Some(&t) if def.kind == Kind::Integer && value.len() == 4 => {
            // The value keeps the tag's octet, zeroed by `render`'s 24-bit read.
            ((t != 0).then_some(t), value)
        }
        Some(&t) if def.kind != Kind::Integer && t < FIRST_UNTAGGED => {
            ((t != 0).then_some(t), value.get(1..).unwrap_or_default())
        }
        _ => (None, value),
    }
}

/// A well-formed value in its kind's text form; `None` when malformed, which prints as hex.
fn render(def: &AttrDef, v: &[u8]) -> Option<String> {
    let quad = || <[u8; 4]>::try_from(v).ok();
    Some(match def.kind {
        Kind::Text => format!("{:?}", std::str::from_utf8(v).ok()?),
        Kind::Octets | Kind::Vsa => hex(v),
        Kind::Integer => {
            let mut b = quad()?;
            if def.tagged {
                b[0] = 0;
            }
            let n = u32::from_be_bytes(b);
            // The last name for a number is the one FreeRADIUS prints.
            match def.values.iter().rev().find(|(_, x)| *x == n) {
                Some((name, _)) => (*name).to_string(),
                None => n.to_string(),
            }
        }
        Kind::Ipv4 => Ipv4Addr::from(quad()?).to_string(),
        Kind::Ipv6 => Ipv6Addr::from(<[u8; 16]>::try_from(v).ok()?).to_string(),
        Kind::Ipv6Prefix => {
            let (&len, prefix) = v.get(1..)?.split_first()?;
            if len > 128 || prefix.len() > 16 {
                return None;
            }
            let mut octets = [0u8; 16];
            octets[..prefix.len()].copy_from_slice(prefix);
            format!("{}/{len}", Ipv6Addr::from(octets))
        }
        Kind::Date => {
            let secs = u64::from(u32::from_be_bytes(quad()?));
            crate::timefmt::rfc3339_ms(secs * 1000).replace(".000Z", "Z")
        }
        Kind::Ifid => {
            let b = <[u8; 8]>::try_from(v).ok()?;
            let g = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
            format!("{:x}:{:x}:{:x}:{:x}", g(0), g(2), g(4), g(6))
        }
        Kind::Ether => {
            let b = <[u8; 6]>::try_from(v).ok()?;
            let parts: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
            parts.join(":")
        }
    })
}

fn hex(v: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * v.len());
    s.push_str("0x");
    for b in v {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The known name nearest to `name` by edit distance, if near enough to be a typo.
fn closest_name(name: &str) -> Option<&'static str> {
    let want = name.to_ascii_lowercase();
    let limit = (want.len() / 4).max(2);
    all()
        .map(|d| (edit_distance(&want, &d.name.to_ascii_lowercase()), d.name))
        .filter(|(dist, _)| *dist <= limit)
        .min_by_key(|(dist, _)| *dist)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut row = Vec::with_capacity(b.len() + 1);
        row.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            row.push(substitute.min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests;
