//! The TOML file as written by the administrator. Every table rejects unknown keys, so a typo
//! is an error at start-up instead of a silently ignored setting.

mod accounting;
mod ad;
mod ldap;
mod providers;
mod radius;
mod sync;
pub(super) use radius::secret_source;

use super::*;
use accounting::*;
use ad::*;
use ldap::*;
use providers::*;
use radius::*;
use serde::Deserialize;
use sync::*;

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
    #[serde(default)]
    upstream: Vec<super::upstream::UpstreamRaw>,
    #[serde(default)]
    reply: Vec<super::reply::ReplyRaw>,
    #[serde(default)]
    admin: super::admin::AdminRaw,
    metrics: Option<super::metrics::MetricsRaw>,
    email: Option<super::email::EmailRaw>,
    portal: Option<super::portal::PortalRaw>,
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
    #[serde(default)]
    accounting_listen: Vec<String>,
    accounting_upstream: Option<String>,
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
    primary: Option<String>,
    credentials: Option<String>,
    accounting_message_authenticator: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Primary {
    backend: Option<String>,
    local: Option<Local>,
    ad: Option<Ad>,
    upstream: Option<String>,
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

pub(super) fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
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

        let mut upstreams: Vec<UpstreamConfig> = Vec::new();
        for (i, u) in self.upstream.into_iter().enumerate() {
            let u = u.validate(i, &mut warnings)?;
            if upstreams.iter().any(|o| o.name == u.name) {
                return Err(invalid(format!("upstream[{i}].name"), "must be unique"));
            }
            upstreams.push(u);
        }
        let upstream_names: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();
        let radius = self
            .radius
            .map(|r| validate_radius(r, &upstream_names, &mut warnings))
            .transpose()?;
        warn_accounting_ports(radius.as_ref(), &upstreams, &mut warnings);

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
                Some("radius") => {
                    let name = p.upstream.ok_or_else(|| {
                        invalid(
                            "primary.upstream",
                            "missing: name the [[upstream]] group for backend = \"radius\"",
                        )
                    })?;
                    if !upstream_names.contains(&name.as_str()) {
                        return Err(invalid(
                            "primary.upstream",
                            format!("no [[upstream]] is named \"{name}\""),
                        ));
                    }
                    PrimaryConfig::Radius(name)
                }
                Some(other) => {
                    return Err(invalid(
                        "primary.backend",
                        format!(
                            "\"{other}\" is not supported (use \"local\", \"ad\" or \"radius\")"
                        ),
                    ))
                }
                None => {
                    return Err(invalid(
                        "primary.backend",
                        "missing (use \"local\", \"ad\" or \"radius\")",
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
        let mut replies: Vec<ReplyRule> = Vec::new();
        for (i, r) in self.reply.into_iter().enumerate() {
            let rule = r.validate(i)?;
            if replies.iter().any(|o| o.name == rule.name) {
                return Err(invalid(
                    format!("reply[{i}].name"),
                    format!("\"{}\" is used by another rule", rule.name),
                ));
            }
            if !rule.groups.is_empty() && !matches!(primary, PrimaryConfig::Ad(_)) {
                return Err(invalid(
                    format!("reply[{i}].groups"),
                    "group rules need primary.backend = \"ad\"",
                ));
            }
            for (j, c) in rule.clients.iter().enumerate() {
                if !radius
                    .as_ref()
                    .is_some_and(|r| r.clients.iter().any(|rc| &rc.name == c))
                {
                    return Err(invalid(
                        format!("reply[{i}].clients[{j}]"),
                        format!("\"{c}\" is not the name of a [[radius.clients]] entry"),
                    ));
                }
            }
            replies.push(rule);
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
        let sync = sync_items(self.sync, &primary, &factor)?;
        let cluster = self.cluster.map(|c| c.validate(&node_name)).transpose()?;
        let metrics = self
            .metrics
            .map(|m| m.validate(&mut warnings))
            .transpose()?;
        let email = self.email.map(|e| e.validate(&mut warnings)).transpose()?;
        let portal = self.portal.map(|p| p.validate(&mut warnings)).transpose()?;
        if let Some(p) = &portal {
            if p.methods.contains(&Method::Sms) && factor.default_provider(Method::Sms).is_none() {
                return Err(invalid(
                    "portal.methods",
                    "\"sms\" needs a [[factor.provider]] that sends SMS codes",
                ));
            }
        }
        if email.is_none() {
            if let Some(it) = sync.iter().find(|s| s.invite_new_users) {
                return Err(invalid(
                    format!("sync.{}.invite_new_users", it.name),
                    "invitations are e-mailed: add an [email] section",
                ));
            }
        }
        Ok(Config {
            email,
            admin: self.admin.validate()?,
            metrics,
            portal,
            upstreams,
            replies,
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
