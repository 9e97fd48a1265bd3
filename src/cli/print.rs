//! How the CLI prints the daemon's answers: the user list and fields, invitations, the
//! enrolment URI (with a QR code on a terminal), sync plans and the authentication report.

use super::*;

pub(super) type Printer = fn(&Value) -> anyhow::Result<()>;

pub(super) fn printer_for(req: &Request) -> Printer {
    match req {
        Request::UserList => print_user_list,
        Request::UserShow { .. } => print_fields,
        Request::UserEnrollTotp { .. } => print_enrolment,
        Request::UserInvite { .. } => print_invitations,
        _ => print_done,
    }
}

pub(super) fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(o) => o.to_string(),
    }
}

/// One JSON object per line (one per array element).
/// A user's state for `user list --state`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum UserState {
    /// Disabled (by an administrator or a sync).
    Disabled,
    /// Second factor locked (wrong codes, or a push reported as fraud).
    Locked,
    /// TOTP user without an enrolled authenticator.
    NotEnrolled,
}

impl UserState {
    pub(super) fn holds(self, u: &Value) -> bool {
        match self {
            UserState::Disabled => u["enabled"] == false,
            UserState::Locked => !u["locked_until"].is_null(),
            UserState::NotEnrolled => u["method"] == "totp" && u["totp_enrolled"] == false,
        }
    }
}

pub(super) fn print_json_lines(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match v.as_array() {
        Some(items) => {
            for i in items {
                writeln!(out, "{i}")?;
            }
        }
        None => writeln!(out, "{v}")?,
    }
    Ok(())
}

pub(super) fn print_user_list(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<32} {:<8} {:<6} {:<8} {:<5} LOCKED UNTIL",
        "NAME", "ENABLED", "METHOD", "PASSWORD", "TOTP"
    )?;
    for u in v.as_array().into_iter().flatten() {
        writeln!(
            out,
            "{:<32} {:<8} {:<6} {:<8} {:<5} {}",
            s(u, "name"),
            s(u, "enabled"),
            s(u, "method"),
            s(u, "password_set"),
            s(u, "totp_enrolled"),
            s(u, "locked_until")
        )?;
    }
    Ok(())
}

pub(super) fn print_fields(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if let Some(m) = v.as_object() {
        for k in m.keys() {
            writeln!(out, "{k:<14} {}", s(v, k))?;
        }
    }
    Ok(())
}

pub(super) fn print_done(v: &Value) -> anyhow::Result<()> {
    if let Some(m) = v.as_object() {
        let parts: Vec<String> = m.iter().map(|(k, _)| format!("{k}: {}", s(v, k))).collect();
        println!("{}", parts.join(", "));
    }
    Ok(())
}

/// One line a user: `alice: sent to alice@example.com`.
pub(super) fn print_invitations(v: &Value) -> anyhow::Result<()> {
    let empty = Vec::new();
    let rows = v["results"].as_array().unwrap_or(&empty);
    let mut failed = 0;
    for r in rows {
        let what = match r["outcome"].as_str().unwrap_or("") {
            "sent" => format!("sent to {}", s(r, "to")),
            "would_send" => format!("would be sent to {}", s(r, "to")),
            "skipped" => format!("skipped: {}", s(r, "why")),
            _ => {
                failed += 1;
                let retry = if r["retry"] == true {
                    " (will retry)"
                } else {
                    ""
                };
                format!("NOT sent{retry}: {}", s(r, "error"))
            }
        };
        println!("{}: {what}", s(r, "user"));
    }
    if rows.is_empty() {
        println!("nobody to invite");
    }
    if failed > 0 {
        anyhow::bail!("{failed} invitation(s) not sent");
    }
    Ok(())
}

pub(super) fn print_enrolment(v: &Value) -> anyhow::Result<()> {
    let uri = s(v, "uri");
    let mut out = std::io::stdout().lock();
    // The URI alone on its own line, so scripts can take it with grep.
    writeln!(out, "{uri}")?;
    if std::io::stdout().is_terminal() {
        match qrcode::QrCode::new(uri.as_bytes()) {
            Ok(code) => {
                let img = code
                    .render::<qrcode::render::unicode::Dense1x2>()
                    .dark_color(qrcode::render::unicode::Dense1x2::Light)
                    .light_color(qrcode::render::unicode::Dense1x2::Dark)
                    .quiet_zone(true)
                    .build();
                writeln!(out, "{img}")?;
            }
            Err(e) => writeln!(out, "(cannot draw a QR code: {e})")?,
        }
        writeln!(
            out,
            "Scan the code (or enter the secret from the URI) in an authenticator app.\n\
             This secret is shown once; enrol again to replace it."
        )?;
    }
    Ok(())
}

pub(super) fn print_sync(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let Some(outcomes) = v.as_array() else {
        return print_done(v);
    };
    let mut blocked = false;
    for o in outcomes {
        let list = |k: &str| -> Vec<String> {
            o[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (added, updated, disabled, enabled) = (
            list("added"),
            list("updated"),
            list("disabled"),
            list("enabled"),
        );
        let dry = o["dry_run"].as_bool().unwrap_or(false);
        writeln!(
            out,
            "{}: {} seen, {} {}, {} updated, {} disabled, {} enabled, {} unchanged{}",
            s(o, "item"),
            o["seen"],
            added.len(),
            if dry { "to add" } else { "added" },
            updated.len(),
            disabled.len(),
            enabled.len(),
            o["unchanged"],
            if dry {
                " (dry run: nothing changed)"
            } else {
                ""
            }
        )?;
        for (label, names) in [
            ("add", &added),
            ("update", &updated),
            ("disable", &disabled),
            ("enable", &enabled),
        ] {
            if !names.is_empty() {
                let shown: Vec<&str> = names.iter().take(50).map(String::as_str).collect();
                let more = names.len().saturating_sub(shown.len());
                let tail = if more > 0 {
                    format!(" … and {more} more")
                } else {
                    String::new()
                };
                writeln!(out, "  {label}: {}{tail}", shown.join(", "))?;
            }
        }
        if let Some(b) = o["blocked"].as_str() {
            blocked = true;
            writeln!(out, "  BLOCKED: {b}")?;
        }
    }
    if blocked {
        bail!("a sync item was blocked by max_disable");
    }
    Ok(())
}

pub(super) fn csv_field(x: &str) -> String {
    // Also defuses spreadsheet formulas (=, +, -, @) in user-controlled fields.
    let risky = x.starts_with(['=', '+', '-', '@']);
    if risky || x.contains([',', '"', '\n', '\r']) {
        let body = if risky { format!("'{x}") } else { x.to_owned() };
        format!("\"{}\"", body.replace('"', "\"\""))
    } else {
        x.to_owned()
    }
}

pub(super) fn print_report(v: &Value, format: ReportFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let rows = v.as_array().cloned().unwrap_or_default();
    let cols = [
        "time",
        "node",
        "user",
        "client_name",
        "client_ip",
        "method",
        "result",
        "reason",
        "policy",
        "node_ip",
        "display_name",
        "email",
        "phone",
    ];
    match format {
        ReportFormat::Json => {
            for r in rows {
                let mut r = r;
                if let Some(ms) = r.get("time_ms").and_then(Value::as_u64) {
                    r["time"] = Value::String(timefmt::rfc3339_ms(ms));
                }
                writeln!(out, "{r}")?;
            }
        }
        ReportFormat::Csv => {
            writeln!(out, "{}", cols.join(","))?;
            for r in rows {
                let time = r
                    .get("time_ms")
                    .and_then(Value::as_u64)
                    .map(timefmt::rfc3339_ms)
                    .unwrap_or_default();
                let fields: Vec<String> = std::iter::once(time)
                    .chain(cols[1..].iter().map(|c| match r.get(*c) {
                        Some(Value::Null) | None => String::new(),
                        _ => s(&r, c),
                    }))
                    .map(|f| csv_field(&f))
                    .collect();
                writeln!(out, "{}", fields.join(","))?;
            }
        }
    }
    Ok(())
}
