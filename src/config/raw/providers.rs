//! `[[factor.provider]]` and which provider serves each method: the providers' own keys,
//! their secrets and CA files, and the method-to-provider routing checks.

use super::*;

pub(super) fn validate_providers(
    providers: Vec<ProviderRaw>,
) -> Result<Vec<ProviderConfig>, ConfigError> {
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, p) in providers.into_iter().enumerate() {
        let key = |k: &str| format!("factor.provider[{i}].{k}");
        let name = p
            .name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| invalid(key("name"), "missing"))?;
        if names.contains(&name) {
            return Err(invalid(key("name"), format!("\"{name}\" is used twice")));
        }
        names.push(name.clone());
        let ca_file = match p.ca_file {
            Some(path) => Some(provider_ca(path, &key("ca_file"))?),
            None => None,
        };
        let is_pi = p.kind.as_deref() == Some("privacyidea");
        let is_duo = match p.kind.as_deref() {
            Some("sms_http") | Some("privacyidea") => false,
            Some("duo") => true,
            Some(o) => {
                return Err(invalid(
                    key("kind"),
                    format!("\"{o}\" is not \"sms_http\", \"duo\" or \"privacyidea\""),
                ))
            }
            None => return Err(invalid(key("kind"), "missing (e.g. \"sms_http\")")),
        };
        let secret = match (p.secret_env, p.secret_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    key("secret_env"),
                    "set secret_env or secret_file, not both",
                ))
            }
            (Some(var), None) => Some(Secret::new(std::env::var(&var).map_err(|_| {
                invalid(
                    key("secret_env"),
                    format!("environment variable {var} is not set"),
                )
            })?)),
            (None, Some(path)) => Some(Secret::new(
                std::fs::read_to_string(&path)
                    .map_err(|e| invalid(key("secret_file"), format!("{}: {e}", path.display())))?
                    .trim_end_matches(['\r', '\n'])
                    .to_owned(),
            )),
            (None, None) => None,
        };
        if is_pi {
            let url = p
                .url
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .ok_or_else(|| invalid(key("url"), "missing or not an http(s) URL"))?;
            let service =
                match (p.service_user, secret) {
                    (Some(u), Some(pw)) => Some((u, pw)),
                    (None, None) => None,
                    _ => return Err(invalid(
                        key("service_user"),
                        "set service_user and its password (secret_env or secret_file) together",
                    )),
                };
            out.push(ProviderConfig::Privacyidea(PrivacyideaProvider {
                name,
                url: url.trim_end_matches('/').to_owned(),
                realm: p.realm,
                service,
                timeout_secs: in_range(&key("timeout_secs"), p.timeout_secs.unwrap_or(10), 1, 60)?,
                ca_file: ca_file.clone(),
            }));
            continue;
        }
        if is_duo {
            let api_host = p
                .api_host
                .filter(|h| !h.is_empty() && !h.contains('/'))
                .ok_or_else(|| {
                    invalid(
                        key("api_host"),
                        "missing (e.g. api-XXXXXXXX.duosecurity.com)",
                    )
                })?;
            let ikey = p
                .ikey
                .filter(|k| !k.is_empty())
                .ok_or_else(|| invalid(key("ikey"), "missing (the integration key)"))?;
            let skey = secret.ok_or_else(|| {
                invalid(
                    key("secret_env"),
                    "the secret key goes in secret_env or secret_file",
                )
            })?;
            if let Some(u) = &p.url {
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Err(invalid(
                        key("url"),
                        format!("\"{u}\" is not an http(s) URL"),
                    ));
                }
            }
            out.push(ProviderConfig::Duo(DuoProvider {
                name,
                api_host,
                ikey,
                skey,
                url: p.url.map(|u| u.trim_end_matches('/').to_owned()),
                timeout_secs: in_range(&key("timeout_secs"), p.timeout_secs.unwrap_or(10), 1, 60)?,
                ca_file: ca_file.clone(),
            }));
            continue;
        }
        let twilio = match p.preset.as_deref() {
            None => None,
            Some("twilio") => {
                let account_sid = p
                    .account_sid
                    .ok_or_else(|| invalid(key("account_sid"), "missing (the preset needs it)"))?;
                let from = p
                    .from
                    .ok_or_else(|| invalid(key("from"), "missing (the sending number)"))?;
                if secret.is_none() {
                    return Err(invalid(
                        key("secret_env"),
                        "the twilio preset needs the auth token in secret_env or secret_file",
                    ));
                }
                Some(TwilioPreset { account_sid, from })
            }
            Some(o) => return Err(invalid(key("preset"), format!("\"{o}\" is not \"twilio\""))),
        };
        let url = match (&twilio, p.url) {
            (_, Some(u)) => u,
            (Some(t), None) => format!(
                "https://api.twilio.com/2010-04-01/Accounts/{}/Messages.json",
                t.account_sid
            ),
            (None, None) => return Err(invalid(key("url"), "missing")),
        };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(invalid(
                key("url"),
                format!("\"{url}\" is not an http(s) URL"),
            ));
        }
        let method = p
            .method
            .unwrap_or_else(|| "POST".into())
            .to_ascii_uppercase();
        if !["POST", "PUT", "GET"].contains(&method.as_str()) {
            return Err(invalid(key("method"), "must be POST, PUT or GET"));
        }
        let body = match (&twilio, p.body) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    key("body"),
                    "the twilio preset sets the body itself",
                ))
            }
            (Some(_), None) => String::new(),
            (None, Some(b)) => b,
            (None, None) if method == "GET" => String::new(),
            (None, None) => return Err(invalid(key("body"), "missing (a template with {code})")),
        };
        if twilio.is_none() && !body.contains("{code}") && !url.contains("{code}") {
            return Err(invalid(key("body"), "the body or URL must contain {code}"));
        }
        let provider = SmsProvider {
            name: name.clone(),
            url,
            method,
            headers: p.headers.into_iter().collect(),
            body,
            secret,
            timeout_secs: in_range(&key("timeout_secs"), p.timeout_secs.unwrap_or(10), 1, 60)?,
            ca_file: ca_file.clone(),
            twilio,
        };
        out.push(ProviderConfig::SmsHttp(provider));
    }
    Ok(out)
}

/// A default method no configured provider serves: what to say.
pub(super) fn default_method_without_provider(
    factor: &FactorConfig,
    method: Method,
) -> Option<&'static str> {
    if method == Method::Totp || factor.default_provider(method).is_some() {
        return None;
    }
    Some(match method {
        Method::Sms => "\"sms\" needs factor.sms_provider",
        Method::Privacyidea => "\"privacyidea\" needs factor.privacyidea_provider",
        _ => "push and phone need factor.push_provider",
    })
}

/// A provider's `ca_file`: readable, with at least one PEM certificate.
pub(super) fn provider_ca(path: PathBuf, key: &str) -> Result<PathBuf, ConfigError> {
    let pem = std::fs::read(&path).map_err(|e| invalid(key, format!("{}: {e}", path.display())))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(path),
        _ => Err(invalid(
            key,
            format!("{}: no PEM certificate in it", path.display()),
        )),
    }
}

/// `factor.<key>` must name a `[[factor.provider]]` that serves `method`.
pub(super) fn method_provider(
    key: &str,
    wanted: Option<String>,
    providers: &[ProviderConfig],
    method: Method,
    kinds: &str,
) -> Result<Option<String>, ConfigError> {
    let Some(wanted) = wanted else {
        return Ok(None);
    };
    if !providers
        .iter()
        .any(|p| p.name() == wanted && p.serves(method))
    {
        return Err(invalid(
            format!("factor.{key}"),
            format!("\"{wanted}\" is not the name of a [[factor.provider]] of kind {kinds}"),
        ));
    }
    Ok(Some(wanted))
}
