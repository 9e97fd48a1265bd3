//! What AD says about a login, without talking to it: which login names are ours and the
//! escaped search filter for each (RFC 4515), the account state an entry refuses, and what a
//! failed bind's sub-code means. All of it ends up as a reason in the authentication log,
//! never in the answer to the client.

use ldap3::{ldap_escape, SearchEntry};

use crate::primary::normalize_dn;

/// Why AD refused a login; goes to the authentication log only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdReject {
    OutsideDomains,
    NoSuchUser,
    Ambiguous(usize),
    WrongPassword,
    Disabled,
    AccountExpired,
    MustChangePassword,
    Locked,
    PasswordExpired,
    /// Logon hours (530), workstation (531) and other refusals.
    Refused(String),
}

impl AdReject {
    pub fn reason(&self) -> String {
        match self {
            AdReject::OutsideDomains => "login name outside the configured domains".into(),
            AdReject::NoSuchUser => "unknown user".into(),
            AdReject::Ambiguous(n) => format!("login name matches {n} AD accounts"),
            AdReject::WrongPassword => "wrong password (AD 52e)".into(),
            AdReject::Disabled => "account disabled in AD (533)".into(),
            AdReject::AccountExpired => "account expired in AD (701)".into(),
            AdReject::MustChangePassword => "password must be changed in AD (773)".into(),
            AdReject::Locked => "account locked out in AD (775)".into(),
            AdReject::PasswordExpired => "password expired in AD (532)".into(),
            AdReject::Refused(why) => format!("AD refused the bind: {why}"),
        }
    }
}

/// userAccountControl ACCOUNTDISABLE.
const UF_ACCOUNTDISABLE: u64 = 0x2;
/// msDS-User-Account-Control-Computed UF_LOCKOUT (constructed: it knows the lockout
/// duration, which lockoutTime alone does not).
const UF_LOCKOUT: u64 = 0x10;

/// The account-state refusal of an entry at `now_ms`, from the attributes
/// [`super::AdPrimary::find`] reads.
pub(super) fn state_refusal(entry: &SearchEntry, now_ms: u64) -> Option<AdReject> {
    let num = |a: &str| {
        entry
            .attrs
            .get(a)
            .and_then(|v| v.first())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    if num("userAccountControl").is_some_and(|u| u as u64 & UF_ACCOUNTDISABLE != 0) {
        return Some(AdReject::Disabled);
    }
    // FILETIME: 100 ns since 1601-01-01; 0 and i64::MAX mean "never".
    let now_ft = (now_ms as i64 + 11_644_473_600_000) * 10_000;
    if num("accountExpires").is_some_and(|e| e != 0 && e != i64::MAX && e <= now_ft) {
        return Some(AdReject::AccountExpired);
    }
    if num("msDS-User-Account-Control-Computed").is_some_and(|u| u as u64 & UF_LOCKOUT != 0) {
        return Some(AdReject::Locked);
    }
    None
}

/// The search filter for a login name, or why the name is not ours.
pub fn login_filter(
    login: &str,
    netbios_domain: Option<&str>,
    upn_suffixes: &[String],
) -> Result<String, AdReject> {
    let login = login.trim();
    if login.is_empty() {
        return Err(AdReject::NoSuchUser);
    }
    if let Some((domain, sam)) = login.split_once('\\') {
        return match netbios_domain {
            Some(d) if d.eq_ignore_ascii_case(domain) && !sam.is_empty() => {
                Ok(format!("(sAMAccountName={})", ldap_escape(sam)))
            }
            _ => Err(AdReject::OutsideDomains),
        };
    }
    if let Some((local, suffix)) = login.rsplit_once('@') {
        if local.is_empty() || !upn_suffixes.iter().any(|s| s.eq_ignore_ascii_case(suffix)) {
            return Err(AdReject::OutsideDomains);
        }
        // An explicit UPN, or the implicit one AD also accepts (sAMAccountName@dns-domain).
        return Ok(format!(
            "(|(userPrincipalName={})(sAMAccountName={}))",
            ldap_escape(login),
            ldap_escape(local)
        ));
    }
    Ok(format!("(sAMAccountName={})", ldap_escape(login)))
}

/// Maps a failed bind (result code and diagnostic text) to a reason. AD puts the sub-code in
/// the text as "data 52e".
pub fn map_bind_failure(rc: u32, text: &str) -> AdReject {
    let sub = text
        .split("data ")
        .nth(1)
        .map(|s| {
            s.chars()
                .take_while(|c| c.is_ascii_hexdigit())
                .collect::<String>()
        })
        .unwrap_or_default()
        .to_ascii_lowercase();
    match (rc, sub.as_str()) {
        (49, "52e") => AdReject::WrongPassword,
        (49, "525") => AdReject::NoSuchUser,
        (49, "533") => AdReject::Disabled,
        (49, "701") => AdReject::AccountExpired,
        (49, "773") => AdReject::MustChangePassword,
        (49, "775") => AdReject::Locked,
        (49, "532") => AdReject::PasswordExpired,
        (49, "530") => AdReject::Refused("logon not permitted at this time (530)".into()),
        (49, "531") => AdReject::Refused("logon not permitted from this workstation (531)".into()),
        (49, "") => AdReject::WrongPassword,
        (rc, s) => AdReject::Refused(format!("result code {rc}, sub-code {s:?}")),
    }
}

/// A bind name that is a DN under `base_dn` becomes an exact `distinguishedName` match; other
/// names are not DNs (`None`).
pub fn dn_filter(login: &str, base_dn: &str) -> Option<String> {
    let normalized = normalize_dn(login);
    let base = normalize_dn(base_dn);
    let under_base = normalized == base || normalized.ends_with(&format!(",{base}"));
    (normalized.contains('=') && under_base)
        .then(|| format!("(distinguishedName={})", ldap_escape(login.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_forms() {
        let sfx = vec!["test.local".to_string()];
        assert_eq!(
            login_filter("alice", Some("TEST"), &sfx).unwrap(),
            "(sAMAccountName=alice)"
        );
        assert_eq!(
            login_filter("test\\alice", Some("TEST"), &sfx).unwrap(),
            "(sAMAccountName=alice)"
        );
        assert_eq!(
            login_filter("robert@TEST.local", Some("TEST"), &sfx).unwrap(),
            "(|(userPrincipalName=robert@TEST.local)(sAMAccountName=robert))"
        );
        assert_eq!(
            login_filter("OTHER\\alice", Some("TEST"), &sfx),
            Err(AdReject::OutsideDomains)
        );
        assert_eq!(
            login_filter("alice@evil.example", Some("TEST"), &sfx),
            Err(AdReject::OutsideDomains)
        );
        assert_eq!(
            login_filter("TEST\\alice", None, &sfx),
            Err(AdReject::OutsideDomains)
        );
        // RFC 4515 escaping: no filter injection through the login name.
        assert_eq!(
            login_filter("a*)(objectClass=*", None, &sfx).unwrap(),
            "(sAMAccountName=a\\2a\\29\\28objectClass=\\2a)"
        );
    }

    #[test]
    fn sub_codes() {
        let t = |d: &str| {
            format!("80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data {d}, v4563")
        };
        assert_eq!(map_bind_failure(49, &t("52e")), AdReject::WrongPassword);
        assert_eq!(map_bind_failure(49, &t("533")), AdReject::Disabled);
        assert_eq!(map_bind_failure(49, &t("701")), AdReject::AccountExpired);
        assert_eq!(
            map_bind_failure(49, &t("773")),
            AdReject::MustChangePassword
        );
        assert_eq!(map_bind_failure(49, &t("775")), AdReject::Locked);
        // Samba never produces 532; AD does for an expired password.
        assert_eq!(map_bind_failure(49, &t("532")), AdReject::PasswordExpired);
        assert_eq!(map_bind_failure(49, &t("525")), AdReject::NoSuchUser);
        assert_eq!(
            map_bind_failure(49, "invalid credentials"),
            AdReject::WrongPassword
        );
        assert!(matches!(
            map_bind_failure(53, "unwilling"),
            AdReject::Refused(_)
        ));
        assert!(matches!(
            map_bind_failure(49, &t("530")),
            AdReject::Refused(_)
        ));
    }
}
