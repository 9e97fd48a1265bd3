//! `[radius]` and its `[[radius.clients]]`: listeners, networks, secrets, the
//! Message-Authenticator policy and each client's OTP, failmode and push settings.

use super::*;

pub(super) fn warn_short_secret(key: &str, secret: &[u8], warnings: &mut Vec<String>) {
    if secret.len() < RECOMMENDED_SECRET_LEN {
        warnings.push(format!(
            "{key}: shared secret shorter than {RECOMMENDED_SECRET_LEN} bytes; use a longer random one"
        ));
    }
}

/// One shared secret from exactly one of `secret`, `secret_file`, `secret_env` (a RADIUS
/// client's or an upstream server's); `key` names the setting in errors.
pub(in crate::config) fn secret_source(
    secret: Option<String>,
    secret_file: Option<PathBuf>,
    secret_env: Option<String>,
    create_secret_file: bool,
    key: &dyn Fn(&str) -> String,
    warnings: &mut Vec<String>,
) -> Result<SecretSource, ConfigError> {
    let sources = [
        secret.is_some(),
        secret_file.is_some(),
        secret_env.is_some(),
    ];
    if sources.iter().filter(|s| **s).count() != 1 {
        return Err(invalid(
            key("secret"),
            "set exactly one of secret, secret_file, secret_env",
        ));
    }
    if create_secret_file && secret_file.is_none() {
        return Err(invalid(
            key("create_secret_file"),
            "only meaningful with secret_file",
        ));
    }
    let source = if let Some(s) = secret {
        check_secret_len(&key("secret"), s.as_bytes())?;
        SecretSource::Value(Secret::new(s.into_bytes()))
    } else if let Some(var) = secret_env {
        let v = std::env::var(&var).map_err(|_| {
            invalid(
                key("secret_env"),
                format!("environment variable {var} is not set"),
            )
        })?;
        check_secret_len(&key("secret_env"), v.as_bytes())?;
        SecretSource::Value(Secret::new(v.into_bytes()))
    } else {
        let path = secret_file.unwrap_or_default();
        let src = SecretSource::File {
            path: path.clone(),
            create: create_secret_file,
        };
        if path.exists() || !create_secret_file {
            let loaded = src.load(&key("secret_file"))?;
            warn_short_secret(&key("secret_file"), loaded.expose(), warnings);
        }
        src
    };
    if let SecretSource::Value(v) = &source {
        warn_short_secret(&key("secret"), v.expose(), warnings);
    }
    Ok(source)
}

pub(super) fn validate_radius(
    r: Radius,
    upstreams: &[&str],
    warnings: &mut Vec<String>,
) -> Result<RadiusConfig, ConfigError> {
    if r.listen.is_empty() {
        return Err(invalid(
            "radius.listen",
            "list at least one address (e.g. [\"127.0.0.1:1812\"])",
        ));
    }
    let mut listen = Vec::new();
    for (i, l) in r.listen.iter().enumerate() {
        let a: SocketAddr = l.parse().map_err(|_| {
            invalid(
                format!("radius.listen[{i}]"),
                format!("\"{l}\" is not IP:PORT"),
            )
        })?;
        listen.push(a);
    }
    if r.clients.is_empty() {
        return Err(invalid(
            "radius.clients",
            "define at least one [[radius.clients]]",
        ));
    }
    let mut clients: Vec<RadiusClient> = Vec::new();
    for (i, c) in r.clients.into_iter().enumerate() {
        let key = |k: &str| format!("radius.clients[{i}].{k}");
        let name = c.name.ok_or_else(|| invalid(key("name"), "missing"))?;
        if name.is_empty() || clients.iter().any(|o| o.name == name) {
            return Err(invalid(key("name"), "must be non-empty and unique"));
        }
        let addr = c
            .address
            .ok_or_else(|| invalid(key("address"), "missing (an IP or CIDR)"))?;
        let network = IpNet::parse(&addr).ok_or_else(|| {
            invalid(
                key("address"),
                format!("\"{addr}\" is not an IP address or CIDR network (host bits must be 0)"),
            )
        })?;
        if let Some(o) = clients.iter().find(|o| o.network == network) {
            return Err(invalid(
                key("address"),
                format!("{addr} is already the address of client \"{}\"", o.name),
            ));
        }
        let secret = secret_source(
            c.secret,
            c.secret_file,
            c.secret_env,
            c.create_secret_file,
            &key,
            warnings,
        )?;
        let require_ma = match c.require_message_authenticator {
            None | Some(BoolOrWord::Bool(true)) => MaPolicy::Required,
            Some(BoolOrWord::Bool(false)) => {
                warnings.push(format!(
                    "{} (client \"{name}\"): false leaves this client open to BlastRADIUS \
                     (CVE-2024-3596) forgeries",
                    key("require_message_authenticator")
                ));
                MaPolicy::Off
            }
            Some(BoolOrWord::Word(w)) if w == "auto" => {
                warnings.push(format!(
                    "{} (client \"{name}\"): \"auto\" accepts requests without \
                     Message-Authenticator (open to BlastRADIUS forgeries) until the client \
                     sends one signed request; then unsigned ones are dropped",
                    key("require_message_authenticator")
                ));
                MaPolicy::Auto
            }
            Some(BoolOrWord::Word(w)) => {
                return Err(invalid(
                    key("require_message_authenticator"),
                    format!("\"{w}\" is not true, false or \"auto\""),
                ))
            }
        };
        let otp_mode = match c.otp_mode.as_deref() {
            None | Some("challenge") => OtpMode::Challenge,
            Some("append") => OtpMode::Append,
            Some(o) => {
                return Err(invalid(
                    key("otp_mode"),
                    format!("\"{o}\" is not \"challenge\" or \"append\""),
                ))
            }
        };
        let otp_delimiter = otp_delimiter(c.otp_delimiter, &key("otp_delimiter"))?;
        let failmode = failmode(c.failmode, &key("failmode"), &name, warnings)?;
        let push_mode = match c.push_mode.as_deref() {
            None | Some("wait") => PushMode::Wait,
            Some("challenge") => PushMode::Challenge,
            Some(o) => {
                return Err(invalid(
                    key("push_mode"),
                    format!("\"{o}\" is not \"wait\" or \"challenge\""),
                ))
            }
        };
        let primary = match c.primary {
            None => None,
            Some(p) if p == "default" => None,
            Some(p) if upstreams.contains(&p.as_str()) => Some(p),
            Some(p) => {
                return Err(invalid(
                    key("primary"),
                    format!("no [[upstream]] is named \"{p}\" (or use \"default\")"),
                ))
            }
        };
        let credentials = match c.credentials.as_deref() {
            None | Some("password") => ClientCredentials::Password,
            Some("none") => {
                if push_mode == PushMode::Challenge {
                    return Err(invalid(
                        key("push_mode"),
                        "\"challenge\" cannot work with credentials = \"none\": the client \
                         (an RD Gateway) cannot show a challenge",
                    ));
                }
                if require_ma != MaPolicy::Required {
                    warnings.push(format!(
                        "{} (client \"{name}\"): with credentials = \"none\" a forged \
                         request needs only a user name; require Message-Authenticator",
                        key("require_message_authenticator")
                    ));
                }
                ClientCredentials::None
            }
            Some(o) => {
                return Err(invalid(
                    key("credentials"),
                    format!("\"{o}\" is not \"password\" or \"none\""),
                ))
            }
        };
        let accounting_message_authenticator = accounting_ma(
            c.accounting_message_authenticator.as_deref(),
            &key("accounting_message_authenticator"),
        )?;
        clients.push(RadiusClient {
            credentials,
            accounting_message_authenticator,
            primary,
            name,
            network,
            secret,
            require_message_authenticator: require_ma,
            otp_mode,
            otp_delimiter,
            failmode,
            push_mode,
        });
    }
    let (accounting_listen, accounting_upstream) = validate_accounting(
        &r.accounting_listen,
        r.accounting_upstream,
        &listen,
        upstreams,
    )?;
    Ok(RadiusConfig {
        accounting_listen,
        accounting_upstream,
        listen,
        clients,
        max_in_flight: in_range(
            "radius.max_in_flight",
            r.max_in_flight.unwrap_or(1024),
            1,
            100_000,
        )?,
        reply_cache_secs: in_range(
            "radius.reply_cache_secs",
            r.reply_cache_secs.unwrap_or(30),
            30,
            600,
        )?,
        reply_cache_max_entries: in_range(
            "radius.reply_cache_max_entries",
            r.reply_cache_max_entries.unwrap_or(200_000),
            1_000,
            10_000_000,
        )?,
    })
}
