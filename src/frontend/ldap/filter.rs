//! A decoded search filter back to RFC 4515 text, for the directory proxy. Depth is already
//! bounded by the codec (`[ldap] max_filter_depth`), so the recursion here is too.

use ldap3_proto::proto::{LdapFilter, LdapMatchingRuleAssertion};

/// RFC 4515 §3: `*`, `(`, `)`, `\` and NUL are escaped as `\XX`; everything else (UTF-8
/// included) stands for itself.
fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
}

/// Attribute descriptions are passed through only when they look like one (RFC 4512 §2.5:
/// a name or OID, options after `;`); anything else could inject filter syntax.
fn attr(name: &str) -> Option<&str> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ';');
    ok.then_some(name)
}

pub fn to_rfc4515(filter: &LdapFilter) -> Option<String> {
    let mut out = String::new();
    write(filter, &mut out)?;
    Some(out)
}

fn write(f: &LdapFilter, out: &mut String) -> Option<()> {
    out.push('(');
    match f {
        LdapFilter::And(items) | LdapFilter::Or(items) => {
            out.push(if matches!(f, LdapFilter::And(_)) {
                '&'
            } else {
                '|'
            });
            for i in items {
                write(i, out)?;
            }
        }
        LdapFilter::Not(inner) => {
            out.push('!');
            write(inner, out)?;
        }
        LdapFilter::Equality(a, v) => simple(a, "=", v, out)?,
        LdapFilter::GreaterOrEqual(a, v) => simple(a, ">=", v, out)?,
        LdapFilter::LessOrEqual(a, v) => simple(a, "<=", v, out)?,
        LdapFilter::Approx(a, v) => simple(a, "~=", v, out)?,
        LdapFilter::Present(a) => {
            out.push_str(attr(a)?);
            out.push_str("=*");
        }
        LdapFilter::Substring(a, s) => {
            out.push_str(attr(a)?);
            out.push('=');
            if let Some(i) = &s.initial {
                escape(i, out);
            }
            out.push('*');
            for any in &s.any {
                escape(any, out);
                out.push('*');
            }
            if let Some(fin) = &s.final_ {
                escape(fin, out);
            }
        }
        LdapFilter::Extensible(m) => extensible(m, out)?,
    }
    out.push(')');
    Some(())
}

fn simple(a: &str, op: &str, v: &str, out: &mut String) -> Option<()> {
    out.push_str(attr(a)?);
    out.push_str(op);
    escape(v, out);
    Some(())
}

fn extensible(m: &LdapMatchingRuleAssertion, out: &mut String) -> Option<()> {
    if let Some(t) = &m.type_ {
        out.push_str(attr(t)?);
    }
    if m.dn_attributes {
        out.push_str(":dn");
    }
    if let Some(rule) = &m.matching_rule {
        out.push(':');
        out.push_str(attr(rule)?);
    }
    if m.type_.is_none() && m.matching_rule.is_none() {
        return None;
    }
    out.push_str(":=");
    escape(&m.match_value, out);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3_proto::proto::LdapSubstringFilter;

    #[test]
    fn round_trips_common_filters() {
        let f = LdapFilter::And(vec![
            LdapFilter::Equality("objectClass".into(), "user".into()),
            LdapFilter::Or(vec![
                LdapFilter::Substring(
                    "cn".into(),
                    LdapSubstringFilter {
                        initial: Some("al".into()),
                        any: vec!["i".into()],
                        final_: Some("e".into()),
                    },
                ),
                LdapFilter::Not(Box::new(LdapFilter::Present("mail".into()))),
            ]),
            LdapFilter::Extensible(LdapMatchingRuleAssertion {
                matching_rule: Some("1.2.840.113556.1.4.1941".into()),
                type_: Some("memberOf".into()),
                match_value: "CN=g,DC=x".into(),
                dn_attributes: false,
            }),
        ]);
        assert_eq!(
            to_rfc4515(&f).unwrap(),
            "(&(objectClass=user)(|(cn=al*i*e)(!(mail=*)))\
             (memberOf:1.2.840.113556.1.4.1941:=CN=g,DC=x))"
        );
    }

    #[test]
    fn values_are_escaped_and_attribute_names_checked() {
        let f = LdapFilter::Equality("cn".into(), "a*)(uid=*\\".into());
        assert_eq!(to_rfc4515(&f).unwrap(), "(cn=a\\2a\\29\\28uid=\\2a\\5c)");
        let bad = LdapFilter::Equality("cn)(uid".into(), "x".into());
        assert_eq!(to_rfc4515(&bad), None);
    }
}
