//! The TOML file as written by the administrator. Every table rejects unknown keys, so a typo
//! is an error at start-up instead of a silently ignored setting.

use super::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Root {
    node_name: Option<String>,
    data_dir: Option<PathBuf>,
    #[serde(default)]
    log: Log,
    radius: Option<Radius>,
    primary: Option<Primary>,
    #[serde(default)]
    factor: Factor,
    #[serde(default)]
    auth_log: AuthLog,
    #[serde(default)]
    policy: Vec<Policy>,
    #[serde(default)]
    auth: Auth,
    #[serde(default)]
    sync: Vec<Sync>,
    ldap: Option<Ldap>,
    cluster: Option<super::cluster::ClusterRaw>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ldap {
    #[serde(default)]
    listeners: Vec<LdapListenerRaw>,
    #[serde(default)]
    exempt: LdapExemptRaw,
    bind_cache_secs: Option<u64>,
    search_as: Option<String>,
    max_message_bytes: Option<usize>,
    idle_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_ip: Option<usize>,
    max_filter_depth: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LdapExemptRaw {
    #[serde(default)]
    dns: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LdapListenerRaw {
    name: Option<String>,
    address: Option<String>,
    tls: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    #[serde(default)]
    allow_cleartext_bind: bool,
    otp_delimiter: Option<String>,
    failmode: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sync {
    name: Option<String>,
    base_dn: Option<String>,
    group: Option<String>,
    default_method: Option<String>,
    phone_attributes: Option<Vec<String>>,
    email_attribute: Option<String>,
    name_attribute: Option<String>,
    interval: Option<String>,
    #[serde(default)]
    directory_wins: bool,
    max_disable: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Policy {
    name: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    clients: Vec<String>,
    action: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Auth {
    unknown_users: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Log {
    format: Option<String>,
    level: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Radius {
    #[serde(default)]
    listen: Vec<String>,
    #[serde(default)]
    clients: Vec<Client>,
    max_in_flight: Option<usize>,
    reply_cache_secs: Option<u64>,
    reply_cache_max_entries: Option<usize>,
}

/// A setting that is `true`/`false` or a word (`require_message_authenticator = "auto"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrWord {
    Bool(bool),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Client {
    name: Option<String>,
    address: Option<String>,
    secret: Option<String>,
    secret_file: Option<PathBuf>,
    secret_env: Option<String>,
    #[serde(default)]
    create_secret_file: bool,
    require_message_authenticator: Option<BoolOrWord>,
    otp_mode: Option<String>,
    otp_delimiter: Option<String>,
    failmode: Option<String>,
    push_mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Primary {
    backend: Option<String>,
    local: Option<Local>,
    ad: Option<Ad>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ad {
    #[serde(default)]
    urls: Vec<String>,
    ca_file: Option<PathBuf>,
    #[serde(default)]
    starttls: bool,
    base_dn: Option<String>,
    bind_dn: Option<String>,
    bind_password_file: Option<PathBuf>,
    bind_password_env: Option<String>,
    netbios_domain: Option<String>,
    #[serde(default)]
    upn_suffixes: Vec<String>,
    timeout_secs: Option<u64>,
    pool_size: Option<usize>,
    user_filter: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Local {
    hash_memory_kib: Option<u32>,
    hash_iterations: Option<u32>,
    hash_parallelism: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Factor {
    default_method: Option<String>,
    challenge_ttl_secs: Option<u64>,
    challenge_max_attempts: Option<u32>,
    challenge_prompt: Option<String>,
    #[serde(default)]
    prompts: super::prompts::PromptsRaw,
    max_failures: Option<u32>,
    lockout_secs: Option<u64>,
    #[serde(default)]
    totp: Totp,
    sms_provider: Option<String>,
    sms_code_digits: Option<u32>,
    sms_code_ttl_secs: Option<u64>,
    sms_max_attempts: Option<u32>,
    push_provider: Option<String>,
    push_timeout_secs: Option<u64>,
    push_max_per_window: Option<u32>,
    push_window_secs: Option<u64>,
    privacyidea_provider: Option<String>,
    #[serde(default)]
    provider: Vec<ProviderRaw>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderRaw {
    name: Option<String>,
    kind: Option<String>,
    preset: Option<String>,
    url: Option<String>,
    method: Option<String>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    body: Option<String>,
    secret_env: Option<String>,
    secret_file: Option<PathBuf>,
    timeout_secs: Option<u64>,
    account_sid: Option<String>,
    from: Option<String>,
    api_host: Option<String>,
    ikey: Option<String>,
    realm: Option<String>,
    service_user: Option<String>,
    ca_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Totp {
    issuer: Option<String>,
    digits: Option<u32>,
    period_secs: Option<u64>,
    skew_steps: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuthLog {
    retention_days: Option<u64>,
}

fn validate_providers(providers: Vec<ProviderRaw>) -> Result<Vec<ProviderConfig>, ConfigError> {
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
fn default_method_without_provider(factor: &FactorConfig, method: Method) -> Option<&'static str> {
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
fn provider_ca(path: PathBuf, key: &str) -> Result<PathBuf, ConfigError> {
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
fn method_provider(
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

/// `failmode` of a RADIUS client or LDAP listener: `secure` (default) or `safe`, which is
/// warned about at every start.
fn failmode(
    value: Option<String>,
    key: &str,
    client: &str,
    warnings: &mut Vec<String>,
) -> Result<FailMode, ConfigError> {
    match value.as_deref() {
        None | Some("secure") => Ok(FailMode::Secure),
        Some("safe") => {
            warnings.push(format!(
                "{key}: \"safe\" lets users of \"{client}\" in with their password alone \
                 while the second factor's provider is unreachable"
            ));
            Ok(FailMode::Safe)
        }
        Some(o) => Err(invalid(
            key,
            format!("\"{o}\" is not \"secure\" or \"safe\""),
        )),
    }
}

/// The separator between password and appended code (default `,`): a digit would make
/// `password<delimiter>code` ambiguous.
fn otp_delimiter(value: Option<String>, key: &str) -> Result<String, ConfigError> {
    let d = value.unwrap_or_else(|| ",".into());
    if d.is_empty() || d.chars().any(|ch| ch.is_ascii_digit()) {
        return Err(invalid(key, "must be non-empty and contain no digit"));
    }
    Ok(d)
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    v: T,
    lo: T,
    hi: T,
) -> Result<T, ConfigError> {
    if v < lo || v > hi {
        Err(invalid(key, format!("{v} is outside {lo}..={hi}")))
    } else {
        Ok(v)
    }
}

impl Root {
    pub(super) fn validate(self) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();
        let node_name = self
            .node_name
            .ok_or_else(|| invalid("node_name", "missing (e.g. node_name = \"mfa1\")"))?;
        if node_name.is_empty()
            || node_name.len() > 64
            || !node_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(invalid(
                "node_name",
                "use 1-64 characters from A-Z a-z 0-9 - _ .",
            ));
        }
        let data_dir = self
            .data_dir
            .ok_or_else(|| invalid("data_dir", "missing (e.g. data_dir = \"./data\")"))?;
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }

        let log = LogConfig {
            format: match self.log.format.as_deref() {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(o) => {
                    return Err(invalid(
                        "log.format",
                        format!("\"{o}\" is not \"text\" or \"json\""),
                    ))
                }
            },
            level: self.log.level.unwrap_or_else(|| "info".into()),
        };
        if tracing_subscriber::EnvFilter::try_new(&log.level).is_err() {
            return Err(invalid(
                "log.level",
                format!("\"{}\" is not a log filter", log.level),
            ));
        }

        let radius = self
            .radius
            .map(|r| validate_radius(r, &mut warnings))
            .transpose()?;

        let primary = match self.primary {
            None => {
                return Err(invalid(
                    "primary",
                    "missing section [primary] (e.g. backend = \"local\")",
                ))
            }
            Some(p) => match p.backend.as_deref() {
                Some("local") => {
                    let l = p.local.unwrap_or_default();
                    let cfg = LocalPrimaryConfig {
                        hash_memory_kib: in_range(
                            "primary.local.hash_memory_kib",
                            l.hash_memory_kib.unwrap_or(19_456),
                            8,
                            4 * 1024 * 1024,
                        )?,
                        hash_iterations: in_range(
                            "primary.local.hash_iterations",
                            l.hash_iterations.unwrap_or(2),
                            1,
                            100,
                        )?,
                        hash_parallelism: in_range(
                            "primary.local.hash_parallelism",
                            l.hash_parallelism.unwrap_or(1),
                            1,
                            16,
                        )?,
                    };
                    if cfg.hash_memory_kib < 8 * cfg.hash_parallelism {
                        return Err(invalid(
                            "primary.local.hash_memory_kib",
                            "must be at least 8 x hash_parallelism",
                        ));
                    }
                    if cfg.hash_memory_kib < 19_456 {
                        warnings.push(
                            "primary.local.hash_memory_kib: below the OWASP minimum for argon2id \
                             (19456 KiB); stolen password hashes will be cheap to crack"
                                .into(),
                        );
                    }
                    PrimaryConfig::Local(cfg)
                }
                Some("ad") => {
                    let ad = p.ad.ok_or_else(|| {
                        invalid(
                            "primary.ad",
                            "missing section [primary.ad] for backend = \"ad\"",
                        )
                    })?;
                    PrimaryConfig::Ad(Box::new(validate_ad(ad)?))
                }
                Some(other) => {
                    return Err(invalid(
                        "primary.backend",
                        format!("\"{other}\" is not supported (use \"local\" or \"ad\")"),
                    ))
                }
                None => {
                    return Err(invalid(
                        "primary.backend",
                        "missing (use \"local\" or \"ad\")",
                    ))
                }
            },
        };

        let f = self.factor;
        let default_method = match f.default_method.as_deref() {
            None => Method::Totp,
            Some(m) => Method::parse(m).ok_or_else(|| {
                invalid(
                    "factor.default_method",
                    format!(
                        "\"{m}\" is not \"totp\", \"sms\", \"push\", \"phone\" or \"privacyidea\""
                    ),
                )
            })?,
        };
        let providers = validate_providers(f.provider)?;
        let sms_provider = method_provider(
            "sms_provider",
            f.sms_provider,
            &providers,
            Method::Sms,
            "\"sms_http\" or \"duo\"",
        )?;
        let push_provider = method_provider(
            "push_provider",
            f.push_provider,
            &providers,
            Method::Push,
            "\"duo\"",
        )?;
        let privacyidea_provider = method_provider(
            "privacyidea_provider",
            f.privacyidea_provider,
            &providers,
            Method::Privacyidea,
            "\"privacyidea\"",
        )?;
        let sms = SmsSettings {
            code_digits: in_range(
                "factor.sms_code_digits",
                f.sms_code_digits.unwrap_or(6),
                6,
                8,
            )?,
            code_ttl_secs: in_range(
                "factor.sms_code_ttl_secs",
                f.sms_code_ttl_secs.unwrap_or(300),
                30,
                3600,
            )?,
            max_attempts: in_range(
                "factor.sms_max_attempts",
                f.sms_max_attempts.unwrap_or(3),
                1,
                10,
            )?,
        };
        let push = PushSettings {
            timeout_secs: in_range(
                "factor.push_timeout_secs",
                f.push_timeout_secs.unwrap_or(60),
                5,
                300,
            )?,
            max_per_window: in_range(
                "factor.push_max_per_window",
                f.push_max_per_window.unwrap_or(5),
                1,
                100,
            )?,
            window_secs: in_range(
                "factor.push_window_secs",
                f.push_window_secs.unwrap_or(600),
                60,
                86_400,
            )?,
        };
        let digits = f.totp.digits.unwrap_or(6);
        if digits != 6 && digits != 8 {
            return Err(invalid("factor.totp.digits", "must be 6 or 8"));
        }
        let period_secs = f.totp.period_secs.unwrap_or(30);
        if period_secs != 30 && period_secs != 60 {
            return Err(invalid("factor.totp.period_secs", "must be 30 or 60"));
        }
        let issuer = f.totp.issuer.unwrap_or_else(|| "mfagate".into());
        if issuer.is_empty() || issuer.contains(':') {
            return Err(invalid(
                "factor.totp.issuer",
                "must be non-empty and contain no ':'",
            ));
        }
        let prompts = f.prompts.validate(f.challenge_prompt)?;
        let factor = FactorConfig {
            default_method,
            challenge_ttl_secs: in_range(
                "factor.challenge_ttl_secs",
                f.challenge_ttl_secs.unwrap_or(300),
                30,
                3600,
            )?,
            challenge_max_attempts: in_range(
                "factor.challenge_max_attempts",
                f.challenge_max_attempts.unwrap_or(3),
                1,
                10,
            )?,
            prompts,
            totp: TotpConfig {
                issuer,
                digits,
                period_secs,
                skew_steps: in_range(
                    "factor.totp.skew_steps",
                    f.totp.skew_steps.unwrap_or(1),
                    0,
                    2,
                )?,
            },
            max_failures: in_range("factor.max_failures", f.max_failures.unwrap_or(5), 1, 100)?,
            lockout_secs: in_range(
                "factor.lockout_secs",
                f.lockout_secs.unwrap_or(900),
                10,
                7 * 86_400,
            )?,
            providers,
            sms_provider,
            push_provider,
            privacyidea_provider,
            sms,
            push,
        };
        if let Some(m) = default_method_without_provider(&factor, default_method) {
            return Err(invalid("factor.default_method", m));
        }
        let auth_log = AuthLogConfig {
            retention_days: in_range(
                "auth_log.retention_days",
                self.auth_log.retention_days.unwrap_or(90),
                1,
                3650,
            )?,
        };
        let ldap = self
            .ldap
            .map(|l| validate_ldap(l, &primary, &mut warnings))
            .transpose()?;
        let mut policies: Vec<PolicyRule> = Vec::new();
        for (i, p) in self.policy.into_iter().enumerate() {
            let key = |k: &str| format!("policy[{i}].{k}");
            let name = p
                .name
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| invalid(key("name"), "missing (it names the rule in the log)"))?;
            if policies.iter().any(|o| o.name == name) {
                return Err(invalid(
                    key("name"),
                    format!("\"{name}\" is used by another rule"),
                ));
            }
            let action = match p.action.as_deref() {
                None | Some("mfa") => PolicyAction::Mfa,
                Some("bypass") => PolicyAction::Bypass,
                Some("deny") => PolicyAction::Deny,
                Some(o) => {
                    return Err(invalid(
                        key("action"),
                        format!("\"{o}\" is not \"mfa\", \"bypass\" or \"deny\""),
                    ))
                }
            };
            for (j, g) in p.groups.iter().enumerate() {
                if !g.contains('=') {
                    return Err(invalid(
                        format!("policy[{i}].groups[{j}]"),
                        format!("\"{g}\" is not a distinguished name (e.g. \"CN=vpn-users,OU=Groups,DC=corp,DC=example\")"),
                    ));
                }
            }
            if !p.groups.is_empty() && !matches!(primary, PrimaryConfig::Ad(_)) {
                return Err(invalid(
                    key("groups"),
                    "group rules need primary.backend = \"ad\"",
                ));
            }
            for (j, c) in p.clients.iter().enumerate() {
                let known = radius
                    .as_ref()
                    .is_some_and(|r| r.clients.iter().any(|rc| &rc.name == c))
                    || ldap
                        .as_ref()
                        .is_some_and(|l| l.listeners.iter().any(|ll| &ll.name == c));
                if !known {
                    return Err(invalid(
                        format!("policy[{i}].clients[{j}]"),
                        format!("\"{c}\" is not the name of a [[radius.clients]] entry or an [[ldap.listeners]] entry"),
                    ));
                }
            }
            policies.push(PolicyRule {
                name,
                groups: p.groups,
                clients: p.clients,
                action,
            });
        }
        let unknown_users = match self.auth.unknown_users.as_deref() {
            None | Some("reject") => UnknownUsers::Reject,
            Some("bypass") => {
                warnings.push(
                    "auth.unknown_users: \"bypass\" lets users without an mfagate record in with \
                     their password alone"
                        .into(),
                );
                UnknownUsers::Bypass
            }
            Some(o) => {
                return Err(invalid(
                    "auth.unknown_users",
                    format!("\"{o}\" is not \"reject\" or \"bypass\""),
                ))
            }
        };
        let mut sync: Vec<SyncItem> = Vec::new();
        for (i, it) in self.sync.into_iter().enumerate() {
            let key = |k: &str| format!("sync[{i}].{k}");
            let name = it
                .name
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| invalid(key("name"), "missing (e.g. name = \"people\")"))?;
            if sync.iter().any(|o| o.name == name) {
                return Err(invalid(
                    key("name"),
                    format!("\"{name}\" is used by another item"),
                ));
            }
            if !matches!(primary, PrimaryConfig::Ad(_)) {
                return Err(invalid(
                    key("name"),
                    "sync reads Active Directory: it needs primary.backend = \"ad\"",
                ));
            }
            let scope = match (it.base_dn, it.group) {
                (Some(b), None) if b.contains('=') => SyncScope::Subtree(b),
                (None, Some(g)) if g.contains('=') => SyncScope::Group(g),
                _ => {
                    return Err(invalid(
                        key("base_dn"),
                        "set exactly one of base_dn (an OU) or group (a group's DN)",
                    ))
                }
            };
            let default_method = match it.default_method.as_deref() {
                None => Method::Totp,
                Some(o) => Method::parse(o).ok_or_else(|| {
                    invalid(
                        key("default_method"),
                        format!("\"{o}\" is not \"totp\", \"sms\", \"push\", \"phone\" or \"privacyidea\""),
                    )
                })?,
            };
            if let Some(m) = default_method_without_provider(&factor, default_method) {
                return Err(invalid(key("default_method"), m));
            }
            let interval = it.interval.unwrap_or_else(|| "1h".into());
            let interval_ms = crate::timefmt::parse_duration_ms(&interval)
                .filter(|ms| (60_000..=86_400_000).contains(ms))
                .ok_or_else(|| {
                    invalid(
                        key("interval"),
                        format!("\"{interval}\" is not a duration from 1m to 24h (e.g. \"15m\")"),
                    )
                })?;
            let phone_attributes = it.phone_attributes.unwrap_or_else(|| {
                vec![
                    "mobile".into(),
                    "telephoneNumber".into(),
                    "otherTelephone".into(),
                ]
            });
            sync.push(SyncItem {
                name,
                scope,
                default_method,
                phone_attributes,
                email_attribute: it.email_attribute.unwrap_or_else(|| "mail".into()),
                name_attribute: it.name_attribute.unwrap_or_else(|| "displayName".into()),
                interval_ms,
                directory_wins: it.directory_wins,
                max_disable: in_range(
                    &key("max_disable"),
                    it.max_disable.unwrap_or(5),
                    0,
                    1_000_000,
                )?,
            });
        }
        let cluster = self.cluster.map(|c| c.validate(&node_name)).transpose()?;
        Ok(Config {
            node_name,
            cluster,
            sync,
            ldap,
            policies,
            unknown_users,
            data_dir,
            log,
            radius,
            primary,
            factor,
            auth_log,
            warnings,
        })
    }
}

fn validate_ad(a: Ad) -> Result<AdConfig, ConfigError> {
    if a.urls.is_empty() {
        return Err(invalid(
            "primary.ad.urls",
            "list at least one domain controller (e.g. [\"ldaps://dc1.corp.example:636\"])",
        ));
    }
    for (i, u) in a.urls.iter().enumerate() {
        let key = format!("primary.ad.urls[{i}]");
        match (u.split_once("://").map(|(s, _)| s), a.starttls) {
            (Some("ldaps"), false) | (Some("ldap"), true) => {}
            (Some("ldaps"), true) => {
                return Err(invalid(
                    key,
                    "an ldaps:// URL is already TLS; set starttls = false or use ldap://",
                ))
            }
            (Some("ldap"), false) => return Err(invalid(
                key,
                "ldap:// would send passwords in clear text: use ldaps:// or set starttls = true",
            )),
            _ => {
                return Err(invalid(
                    key,
                    format!("\"{u}\" is not an ldap:// or ldaps:// URL"),
                ))
            }
        }
    }
    let ca_file = a.ca_file.ok_or_else(|| {
        invalid(
            "primary.ad.ca_file",
            "missing: the PEM file of the CA that issued the domain controllers' certificates \
             (certificates are always verified)",
        )
    })?;
    crate::primary::ad::load_roots(&ca_file)
        .map_err(|e| invalid("primary.ad.ca_file", e.to_string()))?;
    let base_dn = a.base_dn.filter(|b| !b.trim().is_empty()).ok_or_else(|| {
        invalid(
            "primary.ad.base_dn",
            "missing (e.g. \"DC=corp,DC=example\")",
        )
    })?;
    let bind_dn = a.bind_dn.filter(|b| !b.trim().is_empty()).ok_or_else(|| {
        invalid(
            "primary.ad.bind_dn",
            "missing: the service account that searches for users",
        )
    })?;
    let bind_password = match (a.bind_password_file, a.bind_password_env) {
        (Some(path), None) => {
            let text = std::fs::read(&path).map_err(|e| {
                invalid(
                    "primary.ad.bind_password_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            String::from_utf8(trim_newline(&text).to_vec())
                .map_err(|_| invalid("primary.ad.bind_password_file", "not UTF-8"))?
        }
        (None, Some(var)) => std::env::var(&var).map_err(|_| {
            invalid(
                "primary.ad.bind_password_env",
                format!("environment variable {var} is not set"),
            )
        })?,
        _ => {
            return Err(invalid(
                "primary.ad.bind_password_file",
                "set exactly one of bind_password_file, bind_password_env",
            ))
        }
    };
    if bind_password.is_empty() {
        return Err(invalid(
            "primary.ad.bind_password_file",
            "the password is empty",
        ));
    }
    let upn_suffixes: Vec<String> = a
        .upn_suffixes
        .iter()
        .map(|s| s.trim().to_lowercase())
        .collect();
    if let Some(i) = upn_suffixes
        .iter()
        .position(|s| s.is_empty() || s.contains('@'))
    {
        return Err(invalid(
            format!("primary.ad.upn_suffixes[{i}]"),
            "a DNS suffix such as \"corp.example\"",
        ));
    }
    Ok(AdConfig {
        urls: a.urls,
        ca_file,
        starttls: a.starttls,
        base_dn,
        bind_dn,
        bind_password: Secret::new(bind_password),
        netbios_domain: a
            .netbios_domain
            .map(|d| d.trim().to_uppercase())
            .filter(|d| !d.is_empty()),
        upn_suffixes,
        timeout_secs: in_range(
            "primary.ad.timeout_secs",
            a.timeout_secs.unwrap_or(10),
            1,
            120,
        )?,
        pool_size: in_range("primary.ad.pool_size", a.pool_size.unwrap_or(4), 1, 64)?,
        user_filter: a
            .user_filter
            .unwrap_or_else(|| "(&(objectCategory=person)(objectClass=user))".into()),
    })
}

fn warn_short_secret(key: &str, secret: &[u8], warnings: &mut Vec<String>) {
    if secret.len() < RECOMMENDED_SECRET_LEN {
        warnings.push(format!(
            "{key}: shared secret shorter than {RECOMMENDED_SECRET_LEN} bytes; use a longer random one"
        ));
    }
}

fn validate_radius(r: Radius, warnings: &mut Vec<String>) -> Result<RadiusConfig, ConfigError> {
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
        let sources = [
            c.secret.is_some(),
            c.secret_file.is_some(),
            c.secret_env.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(invalid(
                key("secret"),
                "set exactly one of secret, secret_file, secret_env",
            ));
        }
        if c.create_secret_file && c.secret_file.is_none() {
            return Err(invalid(
                key("create_secret_file"),
                "only meaningful with secret_file",
            ));
        }
        let secret = if let Some(s) = c.secret {
            check_secret_len(&key("secret"), s.as_bytes())?;
            SecretSource::Value(Secret::new(s.into_bytes()))
        } else if let Some(var) = c.secret_env {
            let v = std::env::var(&var).map_err(|_| {
                invalid(
                    key("secret_env"),
                    format!("environment variable {var} is not set"),
                )
            })?;
            check_secret_len(&key("secret_env"), v.as_bytes())?;
            SecretSource::Value(Secret::new(v.into_bytes()))
        } else {
            let path = c.secret_file.unwrap_or_default();
            let src = SecretSource::File {
                path: path.clone(),
                create: c.create_secret_file,
            };
            if path.exists() || !c.create_secret_file {
                let loaded = src.load(&key("secret_file"))?;
                warn_short_secret(&key("secret_file"), loaded.expose(), warnings);
            }
            src
        };
        if let SecretSource::Value(v) = &secret {
            warn_short_secret(&key("secret"), v.expose(), warnings);
        }
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
        clients.push(RadiusClient {
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
    Ok(RadiusConfig {
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

fn validate_ldap(
    l: Ldap,
    primary: &PrimaryConfig,
    warnings: &mut Vec<String>,
) -> Result<LdapConfig, ConfigError> {
    if l.listeners.is_empty() {
        return Err(invalid(
            "ldap.listeners",
            "define at least one [[ldap.listeners]] (or remove [ldap])",
        ));
    }
    let is_ad = matches!(primary, PrimaryConfig::Ad(_));
    let mut listeners: Vec<LdapListener> = Vec::new();
    for (i, r) in l.listeners.into_iter().enumerate() {
        let key = |k: &str| format!("ldap.listeners[{i}].{k}");
        let addr = r
            .address
            .ok_or_else(|| invalid(key("address"), "missing (e.g. \"0.0.0.0:636\")"))?;
        let address: SocketAddr = addr
            .parse()
            .map_err(|_| invalid(key("address"), format!("\"{addr}\" is not IP:PORT")))?;
        let name = r.name.unwrap_or_else(|| format!("ldap:{address}"));
        if name.trim().is_empty() || listeners.iter().any(|o| o.name == name) {
            return Err(invalid(key("name"), "must be non-empty and unique"));
        }
        let tls = match r.tls.as_deref() {
            Some("ldaps") => LdapTls::Ldaps,
            Some("starttls") => LdapTls::StartTls,
            Some("none") => LdapTls::None,
            Some(o) => {
                return Err(invalid(
                    key("tls"),
                    format!("\"{o}\" is not \"ldaps\", \"starttls\" or \"none\""),
                ))
            }
            None => {
                return Err(invalid(
                    key("tls"),
                    "missing: \"ldaps\", \"starttls\" or \"none\"",
                ))
            }
        };
        match tls {
            LdapTls::None => {
                if r.cert_file.is_some() || r.key_file.is_some() {
                    return Err(invalid(
                        key("cert_file"),
                        "a listener with tls = \"none\" takes no certificate",
                    ));
                }
                if !r.allow_cleartext_bind {
                    return Err(invalid(
                        key("allow_cleartext_bind"),
                        "with tls = \"none\" every bind would be refused; set \
                         allow_cleartext_bind = true (loopback tests only) or use TLS",
                    ));
                }
            }
            LdapTls::Ldaps | LdapTls::StartTls => {
                if r.cert_file.is_none() {
                    return Err(invalid(key("cert_file"), "missing (PEM certificate chain)"));
                }
                if r.key_file.is_none() {
                    return Err(invalid(key("key_file"), "missing (PEM private key)"));
                }
            }
        }
        if r.allow_cleartext_bind {
            warnings.push(format!(
                "{}: passwords and codes cross the network unencrypted on this listener",
                key("allow_cleartext_bind")
            ));
        }
        let otp_delimiter = otp_delimiter(r.otp_delimiter, &key("otp_delimiter"))?;
        let failmode = failmode(r.failmode, &key("failmode"), &name, warnings)?;
        listeners.push(LdapListener {
            name,
            address,
            tls,
            cert_file: r.cert_file,
            key_file: r.key_file,
            allow_cleartext_bind: r.allow_cleartext_bind,
            otp_delimiter,
            failmode,
        });
    }
    for (j, d) in l.exempt.dns.iter().enumerate() {
        if !d.contains('=') {
            return Err(invalid(
                format!("ldap.exempt.dns[{j}]"),
                format!("\"{d}\" is not a distinguished name"),
            ));
        }
    }
    for (j, g) in l.exempt.groups.iter().enumerate() {
        if !g.contains('=') {
            return Err(invalid(
                format!("ldap.exempt.groups[{j}]"),
                format!("\"{g}\" is not a distinguished name"),
            ));
        }
    }
    if !l.exempt.groups.is_empty() && !is_ad {
        return Err(invalid(
            "ldap.exempt.groups",
            "group rules need primary.backend = \"ad\"",
        ));
    }
    let search_as = match l.search_as.as_deref() {
        None | Some("service") => SearchAs::Service,
        Some("user") if is_ad => SearchAs::User,
        Some("user") => {
            return Err(invalid(
                "ldap.search_as",
                "\"user\" needs primary.backend = \"ad\"",
            ))
        }
        Some(o) => {
            return Err(invalid(
                "ldap.search_as",
                format!("\"{o}\" is not \"service\" or \"user\""),
            ))
        }
    };
    Ok(LdapConfig {
        listeners,
        exempt_dns: l.exempt.dns,
        exempt_groups: l.exempt.groups,
        bind_cache_secs: in_range(
            "ldap.bind_cache_secs",
            l.bind_cache_secs.unwrap_or(0),
            0,
            3600,
        )?,
        search_as,
        max_message_bytes: in_range(
            "ldap.max_message_bytes",
            l.max_message_bytes.unwrap_or(256 * 1024),
            1024,
            16 * 1024 * 1024,
        )?,
        idle_timeout_secs: in_range(
            "ldap.idle_timeout_secs",
            l.idle_timeout_secs.unwrap_or(300),
            1,
            86_400,
        )?,
        max_connections: in_range(
            "ldap.max_connections",
            l.max_connections.unwrap_or(4096),
            1,
            1_000_000,
        )?,
        max_connections_per_ip: in_range(
            "ldap.max_connections_per_ip",
            l.max_connections_per_ip.unwrap_or(256),
            1,
            1_000_000,
        )?,
        max_filter_depth: in_range(
            "ldap.max_filter_depth",
            l.max_filter_depth.unwrap_or(32),
            2,
            1000,
        )?,
    })
}
