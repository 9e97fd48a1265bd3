//! The user's contact details and the invitations that use them: `user set-contact` (an
//! address, a display name checked so that neither can add a mail header, the mails'
//! language) and
//! `user invite`.

use serde_json::{json, Value};

use super::{update_user, AdminContext};

/// Sets what is given; an administrator's value is kept by later syncs.
pub(super) async fn set_contact(
    ctx: &AdminContext,
    name: String,
    email: Option<String>,
    display_name: Option<String>,
    language: Option<String>,
) -> Result<Value, String> {
    let language = language
        .map(|l| match l.trim() {
            "" => Ok(String::new()),
            l => crate::email::Language::parse(l)
                .map(|l| l.as_str().to_owned())
                .ok_or_else(|| format!("language \"{l}\": mails are in en, sv or nl")),
        })
        .transpose()?;
    let email = email.map(|e| validate_email(&e)).transpose()?;
    let display_name = display_name
        .map(|d| {
            let d = d.trim().to_owned();
            if d.len() > 256 || d.chars().any(char::is_control) {
                Err("a display name is at most 256 characters on one line".to_owned())
            } else {
                Ok(d)
            }
        })
        .transpose()?;
    update_user(ctx, &name, move |u| {
        for (field, value, slot) in [
            ("email", &email, &mut u.email),
            ("display_name", &display_name, &mut u.display_name),
            ("language", &language, &mut u.language),
        ] {
            if let Some(v) = value {
                *slot = Some(v.clone()).filter(|v| !v.is_empty());
                if !u.local_overrides.iter().any(|o| o == field) {
                    u.local_overrides.push(field.into());
                }
            }
        }
        json!({ "name": u.name, "email": u.email, "display_name": u.display_name,
                "language": u.language })
    })
    .await
}

/// `user invite`: each user's outcome, in order; an SMTP outage stops the run (the rest
/// would only wait for the same time-out): those users are reported not tried and owed, so
/// the sweep sends them once the server is back.
pub(super) async fn invite(
    ctx: &AdminContext,
    names: Vec<String>,
    not_enrolled: bool,
    dry_run: bool,
) -> Result<Value, String> {
    let inviter = crate::invite::Inviter::new(
        ctx.cfg.clone(),
        ctx.store.clone(),
        ctx.directory.clone(),
        ctx.clock.clone(),
    )
    .map_err(|e| e.to_string())?;
    let names = if not_enrolled {
        inviter.not_enrolled().map_err(|e| e.to_string())?
    } else {
        names
    };
    let mut results = Vec::new();
    let mut outage = None;
    for name in names {
        if let Some(e) = &outage {
            inviter.owe(&name).await.map_err(|e| e.to_string())?;
            results.push(json!({ "user": name, "outcome": "failed", "retry": true,
                                 "error": format!("not tried: {e}") }));
            continue;
        }
        let o = inviter
            .invite(&name, dry_run)
            .await
            .map_err(|e| e.to_string())?;
        if let crate::invite::Outcome::Failed { retry: true, error } = &o {
            outage = Some(error.clone());
        }
        let mut v = serde_json::to_value(&o).map_err(|e| e.to_string())?;
        v["user"] = json!(name);
        results.push(v);
    }
    Ok(json!({ "results": results }))
}

/// An address a mail can go to: one line, one `@`, at most 254 octets (RFC 5321 §4.5.3.1).
/// "" clears it.
fn validate_email(email: &str) -> Result<String, String> {
    let e = email.trim().to_owned();
    let bad = e.len() > 254
        || e.chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',' | '"'))
        || (!e.is_empty() && e.split('@').filter(|p| !p.is_empty()).count() != 2);
    if bad || (!e.is_empty() && e.matches('@').count() != 1) {
        return Err("an e-mail address is one line like alice@example.com".into());
    }
    Ok(e)
}

/// A phone number on one line (a line break could start a mail header).
pub(super) fn validate_phone(phone: &str) -> Result<String, String> {
    let phone = phone.trim().to_owned();
    if phone.is_empty() || phone.len() > 32 || phone.chars().any(char::is_control) {
        return Err("a phone number is 1-32 characters, e.g. +15550001001".into());
    }
    Ok(phone)
}
