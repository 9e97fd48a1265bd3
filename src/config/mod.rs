//! Configuration: the raw TOML shape ([`raw`], unknown keys rejected) and the validated
//! [`Config`] every other module reads. All checks happen at start-up (`check-config` runs the
//! same code), and every message names the key it is about.

mod admin;
mod cluster;
mod email;
mod metrics;
mod portal;
mod prompts;
mod raw;
mod reply;
mod secret;
mod upstream;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

pub use admin::{AdminConfig, AdminTransport};
pub use cluster::{split_host_port, ClusterConfig};
pub use email::{EmailConfig, EmailTls, SmtpLogin};
pub use metrics::MetricsConfig;
pub use portal::{PortalConfig, PortalTls};
pub use prompts::{prompt_with, terminal_prompt, Prompts};
pub use reply::ReplyRule;
pub use secret::Secret;
pub use upstream::{AttrFilter, HealthCheck, UpstreamConfig, UpstreamServer};

/// Shared secrets shorter than this are refused; RFC 2865 asks for at least 16 octets.
pub const MIN_SECRET_LEN: usize = 16;
/// Shorter than this draws a warning (a 16-octet secret is brute-forceable offline from one
/// captured Access-Request when the NAS sends no Message-Authenticator).
pub const RECOMMENDED_SECRET_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub node_name: String,
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub radius: Option<RadiusConfig>,
    pub primary: PrimaryConfig,
    pub factor: FactorConfig,
    pub auth_log: AuthLogConfig,
    /// `[[policy]]` rules in order; the first that matches decides.
    pub policies: Vec<PolicyRule>,
    pub unknown_users: UnknownUsers,
    pub sync: Vec<SyncItem>,
    pub ldap: Option<LdapConfig>,
    pub cluster: Option<ClusterConfig>,
    pub admin: AdminConfig,
    /// `[[upstream]]` RADIUS server groups, by name.
    pub upstreams: Vec<UpstreamConfig>,
    /// `[[reply]]` rules in order; the first that matches adds its attributes to the Accept.
    pub replies: Vec<ReplyRule>,
    /// `[metrics]`: the HTTP listener for `/metrics`, `/healthz` and `/readyz`.
    pub metrics: Option<MetricsConfig>,
    /// `[email]`: the SMTP server and templates of enrolment e-mails.
    pub email: Option<EmailConfig>,
    /// `[portal]`: the self-service enrolment portal.
    pub portal: Option<PortalConfig>,
    /// Things that are allowed but unwise; `check-config` prints them and `serve` logs them.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone)]
pub struct RadiusConfig {
    pub listen: Vec<SocketAddr>,
    pub clients: Vec<RadiusClient>,
    pub max_in_flight: usize,
    pub reply_cache_secs: u64,
    pub reply_cache_max_entries: usize,
    /// Where Accounting-Requests are answered (RFC 2866); empty: no accounting port.
    pub accounting_listen: Vec<SocketAddr>,
    /// The `[[upstream]]` group every accounting record goes to before the NAS is answered.
    pub accounting_upstream: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpMode {
    Challenge,
    Append,
}

#[derive(Debug, Clone)]
pub struct RadiusClient {
    pub name: String,
    pub network: IpNet,
    pub secret: SecretSource,
    pub require_message_authenticator: MaPolicy,
    pub otp_mode: OtpMode,
    pub otp_delimiter: String,
    /// What to do when the second factor's cloud cannot be reached.
    pub failmode: FailMode,
    pub push_mode: PushMode,
    /// The `[[upstream]]` group that checks this client's requests instead of `[primary]`.
    pub primary: Option<String>,
    /// How the Message-Authenticator of its Accounting-Responses is computed; `None`: none.
    pub accounting_message_authenticator: Option<crate::radius::codec::AccountingResponseMa>,
    pub credentials: ClientCredentials,
}

/// What a RADIUS client's requests carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientCredentials {
    /// A password (PAP) or a credential an upstream checks (CHAP, MS-CHAPv2).
    #[default]
    Password,
    /// Only a User-Name: the client (Remote Desktop Gateway) has authenticated the user and
    /// asks for the second factor alone; it cannot show a challenge.
    None,
}

/// Whether a client's requests must carry Message-Authenticator (BlastRADIUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaPolicy {
    /// Always (the default).
    Required,
    /// Not until the client has sent one signed request (FreeRADIUS 3.2.5's "auto"); a request
    /// without it that carries Proxy-State is always dropped.
    Auto,
    Off,
}

/// How a push is carried over RADIUS: `Wait` holds the Access-Request until the user answers;
/// `Challenge` answers at once with an Access-Challenge, and the user presses Enter after
/// approving (for NASes whose RADIUS timeout is only a few seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PushMode {
    #[default]
    Wait,
    Challenge,
}

/// When a cloud second factor (e.g. the SMS gateway) cannot be reached or fails (connect
/// error, timeout, 5xx, 429): `Secure` rejects; `Safe` accepts on the password alone, logged at
/// warn level every time. Refusals (other 4xx, denials) always reject.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailMode {
    #[default]
    Secure,
    Safe,
}

/// Where a shared secret comes from. Files are read when the server starts, so a secret file
/// that the quick start creates on first run can be validated before it exists.
#[derive(Debug, Clone)]
pub enum SecretSource {
    Value(Secret<Vec<u8>>),
    File { path: PathBuf, create: bool },
}

impl SecretSource {
    /// Reads (and, for a quick-start file, creates) the secret; `key` names it in errors.
    pub fn load(&self, key: &str) -> Result<Secret<Vec<u8>>, ConfigError> {
        match self {
            SecretSource::Value(s) => Ok(s.clone()),
            SecretSource::File { path, create } => {
                if *create && !path.exists() {
                    create_secret_file(path).map_err(|e| {
                        invalid(key, format!("cannot create {}: {e}", path.display()))
                    })?;
                }
                let text = std::fs::read(path)
                    .map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))?;
                let trimmed = trim_newline(&text).to_vec();
                check_secret_len(key, &trimmed)?;
                Ok(Secret::new(trimmed))
            }
        }
    }
}

fn trim_newline(b: &[u8]) -> &[u8] {
    let mut end = b.len();
    while end > 0 && (b[end - 1] == b'\n' || b[end - 1] == b'\r') {
        end -= 1;
    }
    &b[..end]
}

fn create_secret_file(path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        create_private_dir(parent)?;
    }
    let mut bytes = [0u8; 24];
    getrandom::getrandom(&mut bytes).map_err(std::io::Error::other)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut f = private_file_options().create_new(true).open(path)?;
    f.write_all(hex.as_bytes())?;
    f.write_all(b"\n")
}

/// Creates `dir` (and parents) with owner-only permissions on Unix.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// `OpenOptions` for a new file only the owner can read and write.
pub fn private_file_options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

fn check_secret_len(key: &str, s: &[u8]) -> Result<(), ConfigError> {
    if s.len() < MIN_SECRET_LEN {
        return Err(invalid(
            key,
            format!(
                "shared secret is {} bytes; at least {MIN_SECRET_LEN} are required",
                s.len()
            ),
        ));
    }
    Ok(())
}

/// An IP network in CIDR notation; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Option<Self> {
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let mut prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        // Incoming addresses are matched as plain IPv4 (`canonical_ip`), so an IPv4-mapped
        // network is written as the IPv4 network it means, or it would never match.
        let addr = match canonical_ip(addr) {
            IpAddr::V4(v4) if addr.is_ipv6() => {
                prefix = prefix.checked_sub(96)?;
                IpAddr::V4(v4)
            }
            same => same,
        };
        let net = Self { addr, prefix };
        // Host bits set ("10.0.0.1/8") is almost always a typo for a different network.
        (net.mask(addr) == addr).then_some(net)
    }

    fn mask(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let m = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                IpAddr::V4((u32::from(v4) & m).into())
            }
            IpAddr::V6(v6) => {
                let m = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                IpAddr::V6((u128::from(v6) & m).into())
            }
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        ip.is_ipv4() == self.addr.is_ipv4() && self.mask(ip) == self.addr
    }
}

/// Maps IPv4-mapped IPv6 addresses (dual-stack sockets) to plain IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[derive(Debug, Clone)]
pub enum PrimaryConfig {
    Local(LocalPrimaryConfig),
    Ad(Box<AdConfig>),
    /// The `[[upstream]]` group of this name.
    Radius(String),
}

/// Active Directory as the primary: search-then-bind over LDAPS or StartTLS, certificates
/// always verified against `ca_file`.
#[derive(Debug, Clone)]
pub struct AdConfig {
    pub urls: Vec<String>,
    pub ca_file: PathBuf,
    pub starttls: bool,
    pub base_dn: String,
    pub bind_dn: String,
    pub bind_password: Secret<String>,
    pub netbios_domain: Option<String>,
    pub upn_suffixes: Vec<String>,
    pub timeout_secs: u64,
    pub pool_size: usize,
    pub user_filter: String,
}

/// argon2id cost for new password hashes (existing hashes keep the cost they were made with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalPrimaryConfig {
    pub hash_memory_kib: u32,
    pub hash_iterations: u32,
    pub hash_parallelism: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    #[default]
    Totp,
    /// A one-way code sent by text message through `factor.sms_provider`.
    Sms,
    /// A push to the user's phone through `factor.push_provider`.
    Push,
    /// A phone call (press a key to approve) through `factor.push_provider`.
    Phone,
    /// Whatever token privacyIDEA has for the user (`factor.privacyidea_provider`).
    Privacyidea,
}

impl Method {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "totp" => Some(Method::Totp),
            "sms" => Some(Method::Sms),
            "push" => Some(Method::Push),
            "phone" => Some(Method::Phone),
            "privacyidea" => Some(Method::Privacyidea),
            _ => None,
        }
    }

    /// Push and phone: the user answers on the phone, through the push provider.
    pub fn is_out_of_band(&self) -> bool {
        matches!(self, Method::Push | Method::Phone)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::Sms => "sms",
            Method::Push => "push",
            Method::Phone => "phone",
            Method::Privacyidea => "privacyidea",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FactorConfig {
    pub default_method: Method,
    pub challenge_ttl_secs: u64,
    pub challenge_max_attempts: u32,
    pub prompts: Prompts,
    pub totp: TotpConfig,
    pub max_failures: u32,
    pub lockout_secs: u64,
    /// Every `[[factor.provider]]`.
    pub providers: Vec<ProviderConfig>,
    /// The provider of each method unless a user names their own (`user set --provider`).
    pub sms_provider: Option<String>,
    pub push_provider: Option<String>,
    pub privacyidea_provider: Option<String>,
    pub sms: SmsSettings,
    pub push: PushSettings,
}

/// `factor.push_*`: limits of pushes and phone calls, whichever provider sends them.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// How long a login waits for the user to answer.
    pub timeout_secs: u64,
    /// MFA-fatigue protection: at most this many pushes per user per `window_secs`.
    pub max_per_window: u32,
    pub window_secs: u64,
}

/// `factor.sms_*`: the codes mfagate makes for a gateway to carry.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    pub code_digits: u32,
    pub code_ttl_secs: u64,
    pub max_attempts: u32,
}

/// One `[[factor.provider]]`.
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    SmsHttp(SmsProvider),
    Duo(DuoProvider),
    Privacyidea(PrivacyideaProvider),
}

impl ProviderConfig {
    pub fn name(&self) -> &str {
        match self {
            ProviderConfig::SmsHttp(p) => &p.name,
            ProviderConfig::Duo(p) => &p.name,
            ProviderConfig::Privacyidea(p) => &p.name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ProviderConfig::SmsHttp(_) => "sms_http",
            ProviderConfig::Duo(_) => "duo",
            ProviderConfig::Privacyidea(_) => "privacyidea",
        }
    }

    /// The methods this kind of provider can serve. Duo texts passcodes itself (`sms`);
    /// privacyIDEA serves whatever tokens the user has there, pushes included.
    pub fn serves(&self, method: Method) -> bool {
        match self {
            ProviderConfig::SmsHttp(_) => method == Method::Sms,
            ProviderConfig::Duo(_) => {
                matches!(method, Method::Push | Method::Phone | Method::Sms)
            }
            ProviderConfig::Privacyidea(_) => method == Method::Privacyidea,
        }
    }

    /// Whether mfagate must know the user's phone number for `method` (an SMS gateway
    /// needs it; Duo and privacyIDEA know their users' phones).
    pub fn needs_phone(&self, method: Method) -> bool {
        matches!(self, ProviderConfig::SmsHttp(_)) && method == Method::Sms
    }
}

impl FactorConfig {
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name() == name)
    }

    /// The configured provider of a method (`factor.sms_provider` and friends).
    pub fn default_provider(&self, method: Method) -> Option<&ProviderConfig> {
        let name = match method {
            Method::Totp => None,
            Method::Sms => self.sms_provider.as_deref(),
            Method::Push | Method::Phone => self.push_provider.as_deref(),
            Method::Privacyidea => self.privacyidea_provider.as_deref(),
        };
        name.and_then(|n| self.provider(n))
    }

    /// The provider a user's `method` goes through: the user's own provider when it serves
    /// the method, else the configured one. `None` for TOTP and for a method nothing serves.
    pub fn provider_for(&self, method: Method, own: Option<&str>) -> Option<&ProviderConfig> {
        own.and_then(|n| self.provider(n))
            .filter(|p| p.serves(method))
            .or_else(|| self.default_provider(method))
    }

    /// Why `method` cannot be served for a user with this provider and phone, if it cannot.
    pub fn unservable(
        &self,
        method: Method,
        own: Option<&str>,
        phone: Option<&str>,
    ) -> Option<String> {
        if method == Method::Totp {
            return None;
        }
        let Some(p) = self.provider_for(method, own) else {
            let key = match method {
                Method::Sms => "factor.sms_provider",
                Method::Privacyidea => "factor.privacyidea_provider",
                _ => "factor.push_provider",
            };
            return Some(format!(
                "method {}, but no provider serves it (set {key} or the user's provider)",
                method.as_str()
            ));
        };
        if p.needs_phone(method) && phone.is_none_or(|p| p.trim().is_empty()) {
            return Some(format!("method {}, but no phone number", method.as_str()));
        }
        None
    }
}

/// An HTTP SMS gateway (`kind = "sms_http"`). Templates may use `{phone}`, `{code}` and
/// `{user}`; header values may use `{secret}` (from `secret_env`/`secret_file`).
#[derive(Debug, Clone)]
pub struct SmsProvider {
    pub name: String,
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub secret: Option<Secret<String>>,
    pub timeout_secs: u64,
    /// Extra CAs (PEM) trusted for this provider's HTTPS, besides the system's: an
    /// on-premises privacyIDEA or gateway with an internal CA.
    pub ca_file: Option<PathBuf>,
    /// `preset = "twilio"`: form fields To/From/Body and HTTP basic auth.
    pub twilio: Option<TwilioPreset>,
}

/// privacyIDEA (`kind = "privacyidea"`): the users' tokens live there.
#[derive(Debug, Clone)]
pub struct PrivacyideaProvider {
    pub name: String,
    /// Base URL, e.g. `https://pi.corp.example` (no trailing slash).
    pub url: String,
    pub realm: Option<String>,
    /// Admin user and password for `/validate/triggerchallenge` (optional).
    pub service: Option<(String, Secret<String>)>,
    pub timeout_secs: u64,
    /// Extra CAs (PEM) trusted for this provider's HTTPS, besides the system's: an
    /// on-premises privacyIDEA or gateway with an internal CA.
    pub ca_file: Option<PathBuf>,
}

/// Duo's Auth API v2 (`kind = "duo"`): push to the user's phone.
#[derive(Debug, Clone)]
pub struct DuoProvider {
    pub name: String,
    pub api_host: String,
    pub ikey: String,
    pub skey: Secret<String>,
    /// Where requests go instead of `https://<api_host>` (a proxy or a test double); the
    /// signature still names `api_host`.
    pub url: Option<String>,
    pub timeout_secs: u64,
    /// Extra CAs (PEM) trusted for this provider's HTTPS, besides the system's: an
    /// on-premises privacyIDEA or gateway with an internal CA.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct TwilioPreset {
    pub account_sid: String,
    pub from: String,
}

#[derive(Debug, Clone)]
pub struct TotpConfig {
    pub issuer: String,
    pub digits: u32,
    pub period_secs: u64,
    pub skew_steps: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyAction {
    /// Password and second factor (what happens when no rule matches).
    Mfa,
    /// Password only (service accounts, staged roll-outs).
    Bypass,
    /// Always rejected.
    Deny,
}

impl PolicyAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            PolicyAction::Mfa => "mfa",
            PolicyAction::Bypass => "bypass",
            PolicyAction::Deny => "deny",
        }
    }
}

/// A rule matches when the client is one of `clients` (or `clients` is empty) and the user is
/// a member, directly or through nested groups, of one of `groups` (or `groups` is empty).
#[derive(Debug, Clone)]
pub struct PolicyRule {
    pub name: String,
    pub groups: Vec<String>,
    pub clients: Vec<String>,
    pub action: PolicyAction,
}

/// Where a `[[sync]]` item finds its users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncScope {
    /// Every user under this DN (subtree).
    Subtree(String),
    /// Every member of this group, nested groups included.
    Group(String),
}

#[derive(Debug, Clone)]
pub struct SyncItem {
    pub name: String,
    pub scope: SyncScope,
    pub default_method: Method,
    /// The first non-empty of these attributes is the phone number.
    pub phone_attributes: Vec<String>,
    pub email_attribute: String,
    pub name_attribute: String,
    pub interval_ms: u64,
    /// Directory values overwrite values an administrator set in mfagate.
    pub directory_wins: bool,
    /// Each user this item adds is sent a portal invitation (`[email]`).
    pub invite_new_users: bool,
    /// The attribute holding the user's language for mails (e.g. `preferredLanguage`:
    /// `sv-SE`, `nl`); None: every mail in `[email] language`.
    pub language_attribute: Option<String>,
    /// More disables than this in one run wait for `mfagate sync approve`.
    pub max_disable: usize,
}

/// What happens to a user whose password is right but who has no mfagate record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownUsers {
    Reject,
    /// Password only, for staged roll-outs.
    Bypass,
}

#[derive(Debug, Clone)]
pub struct AuthLogConfig {
    pub retention_days: u64,
}

/// A TOML error as line, column, the key the line starts with and what is wrong — never the
/// line itself, which may hold (part of) a secret.
fn parse_error_without_text(text: &str, e: &toml::de::Error) -> String {
    let what = e.message().trim_end().replace('\n', " | ");
    let Some(at) = e.span().map(|s| s.start.min(text.len())) else {
        return what;
    };
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[start..].chars().count() + 1;
    let key: String = text[start..]
        .lines()
        .next()
        .and_then(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.\"' []".contains(c))
        })
        .unwrap_or_default();
    if key.is_empty() {
        format!("line {line}, column {column}: {what}")
    } else {
        format!("line {line}, column {column} (key {key}): {what}")
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: raw::Root = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: parse_error_without_text(text, &e),
        })?;
        raw.validate()
    }

    pub fn admin_socket_path(&self) -> PathBuf {
        self.data_dir.join("admin.sock")
    }
}

#[cfg(test)]
mod tests;

/// `[ldap]`: the LDAP front-end for applications that authenticate with a simple bind.
#[derive(Debug, Clone)]
pub struct LdapConfig {
    pub listeners: Vec<LdapListener>,
    /// Bind DNs that skip the second factor (service accounts), compared case-insensitively.
    pub exempt_dns: Vec<String>,
    /// Groups (nested membership counts) whose members skip the second factor.
    pub exempt_groups: Vec<String>,
    /// 0 = off. See `auth::bind_cache`.
    pub bind_cache_secs: u64,
    pub search_as: SearchAs,
    pub max_message_bytes: usize,
    pub idle_timeout_secs: u64,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub max_filter_depth: usize,
}

#[derive(Debug, Clone)]
pub struct LdapListener {
    /// Names the listener in the auth log and in `[[policy]] clients`.
    pub name: String,
    pub address: SocketAddr,
    pub tls: LdapTls,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub allow_cleartext_bind: bool,
    pub otp_delimiter: String,
    /// When the second factor's provider is unreachable (a push inside a bind, an appended
    /// code a provider checks): `secure` rejects, `safe` accepts on the password alone.
    pub failmode: FailMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdapTls {
    Ldaps,
    StartTls,
    None,
}

/// Whose AD connection answers proxied searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchAs {
    /// The service account's pool (what the app would see binding as the service account).
    Service,
    /// A connection bound as the user who bound to mfagate (AD's access rules apply to them).
    User,
}
