//! `[factor.prompts]`: what an Access-Challenge says for each method, and the one rule for
//! how every prompt ends (providers' own prompts included).

use serde::Deserialize;

use super::{invalid, ConfigError};

/// What an Access-Challenge says, per method (`[factor.prompts]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompts {
    pub totp: String,
    /// `{to}` is the masked phone number.
    pub sms: String,
    pub push: String,
    pub phone: String,
    /// A push or call asked again because the user pressed Enter before approving.
    pub push_pending: String,
}

impl Default for Prompts {
    /// Every default ends in ": ": pam_radius (SSH, sudo) prints the Reply-Message and reads
    /// the answer on the same line, so the typed code needs the space; VPN clients show it
    /// as the input field's label, where the colon reads naturally too. One style for every
    /// client leaves no per-client knob to get wrong.
    fn default() -> Self {
        Self {
            totp: "Enter the code from your authenticator app: ".into(),
            sms: "Enter the code sent to {to}: ".into(),
            push: "Approve the request on your phone, then press Enter: ".into(),
            phone: "Answer the call and approve, then press Enter: ".into(),
            push_pending: "Not approved yet: approve the request on your phone, then press Enter: "
                .into(),
        }
    }
}

/// A provider's own prompt (privacyIDEA's, Duo's), made to end like ours: ": " unless it
/// already ends in ':', '?' or '>' (then only the space is added).
pub fn terminal_prompt(p: &str) -> String {
    let t = p.trim_end();
    if t.ends_with([':', '?', '>']) {
        format!("{t} ")
    } else {
        format!("{t}: ")
    }
}

/// `prompt` with `extra` put before its closing ": " (or "? ", "> "), e.g.
/// "Enter the code (or type sms): ".
pub fn prompt_with(prompt: &str, extra: &str) -> String {
    let t = prompt.trim_end();
    match t.char_indices().last() {
        Some((i, c)) if matches!(c, ':' | '?' | '>') => {
            format!("{} {extra}{c} ", t[..i].trim_end())
        }
        _ => format!("{t} {extra}"),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct PromptsRaw {
    totp: Option<String>,
    sms: Option<String>,
    push: Option<String>,
    phone: Option<String>,
    push_pending: Option<String>,
}

impl PromptsRaw {
    /// `legacy`: `factor.challenge_prompt`, the TOTP prompt before `[factor.prompts]`.
    pub(super) fn validate(self, legacy: Option<String>) -> Result<Prompts, ConfigError> {
        if legacy.is_some() && self.totp.is_some() {
            return Err(invalid(
                "factor.challenge_prompt",
                "set either factor.challenge_prompt or factor.prompts.totp, not both",
            ));
        }
        let d = Prompts::default();
        let one = |v: Option<String>, key: &str, default: String| {
            let v = v.unwrap_or(default);
            if v.trim().is_empty() || v.len() > 1000 || v.chars().any(|c| c.is_control()) {
                return Err(invalid(
                    key,
                    "must be 1-1000 bytes long without control characters",
                ));
            }
            Ok(v)
        };
        let totp_key = if legacy.is_some() {
            "factor.challenge_prompt"
        } else {
            "factor.prompts.totp"
        };
        let sms = one(self.sms, "factor.prompts.sms", d.sms)?;
        if sms.replace("{to}", "").contains(['{', '}']) {
            return Err(invalid(
                "factor.prompts.sms",
                "the only placeholder is {to} (the masked phone number)",
            ));
        }
        Ok(Prompts {
            totp: one(legacy.or(self.totp), totp_key, d.totp)?,
            sms,
            push: one(self.push, "factor.prompts.push", d.push)?,
            phone: one(self.phone, "factor.prompts.phone", d.phone)?,
            push_pending: one(
                self.push_pending,
                "factor.prompts.push_pending",
                d.push_pending,
            )?,
        })
    }
}
