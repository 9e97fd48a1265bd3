//! The Prometheus figures, in one registry ([`Metrics`]), and the HTTP listener that serves
//! them with `/healthz` and `/readyz` ([`http`]).
//!
//! What the code counts as it runs (requests, decisions, latencies, calls to AD, upstream
//! RADIUS servers and providers) lives in `prometheus-client` counters and histograms that the
//! front-ends, the pipeline and the back-ends hold handles to; what is already counted
//! elsewhere (the RADIUS front-end's drop counters, the reply cache, readiness, the cluster's
//! peers) is read at scrape time from its owner, so nothing is counted twice.
//!
//! Labels are bounded: front-end, RADIUS client or LDAP listener name, method, result, a
//! reason *kind* ([`reason_kind`]), server addresses and provider names, all from the
//! configuration or fixed in the code. User names never appear: they are unbounded (a
//! password spray would make one series per guessed name) and they are personal data.

pub mod http;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::clock::SharedClock;

/// Seconds; from a cached LDAP bind (milliseconds) to a push the user answers (a minute).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
];
/// Seconds; calls to a server (AD, RADIUS, HTTP) end within their timeouts.
const CALL_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Seconds; an empty durable commit is one fsync.
const COMMIT_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// How a request left a front-end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accept,
    Reject,
    Challenge,
    /// Not decided (the store or a back-end failed): not answered (RADIUS) or an LDAP error.
    Error,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::Accept,
        Outcome::Reject,
        Outcome::Challenge,
        Outcome::Error,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Outcome::Accept => "accept",
            Outcome::Reject => "reject",
            Outcome::Challenge => "challenge",
            Outcome::Error => "error",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    frontend: &'static str,
    client: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    frontend: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    method: &'static str,
    result: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerOp {
    server: String,
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    upstream: String,
    server: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderOp {
    provider: String,
    op: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn call() -> Histogram {
    Histogram::new(CALL_BUCKETS)
}

/// One RADIUS client's or LDAP listener's counters and the front-end's latency histograms,
/// resolved once when the front-end starts, so a request costs atomic additions and no
/// label lookup.
#[derive(Clone)]
pub struct ClientMetrics {
    requests: [Counter; 4],
    seconds: [Histogram; 4],
}

impl ClientMetrics {
    pub fn observe(&self, outcome: Outcome, elapsed: Duration) {
        let i = outcome as usize;
        self.requests[i].inc();
        self.seconds[i].observe(elapsed.as_secs_f64());
    }
}

/// Everything that can be read at scrape time from its owner.
pub trait Source: Send + Sync {
    fn collect(&self, out: &mut Samples);
}

/// Values read at scrape time, grouped by metric when encoded.
#[derive(Default)]
pub struct Samples {
    /// name → (help, counter?, samples).
    families: BTreeMap<&'static str, Family_>,
}

struct Family_ {
    help: &'static str,
    counter: bool,
    rows: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Samples {
    /// A counter (the registry adds `_total`).
    pub fn counter(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        v: u64,
    ) {
        self.push(name, help, true, labels, v as f64);
    }

    pub fn gauge(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        v: f64,
    ) {
        self.push(name, help, false, labels, v);
    }

    fn push(
        &mut self,
        name: &'static str,
        help: &'static str,
        counter: bool,
        labels: &[(&'static str, &str)],
        v: f64,
    ) {
        let f = self.families.entry(name).or_insert_with(|| Family_ {
            help,
            counter,
            rows: Vec::new(),
        });
        let labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        f.rows.push((labels, v));
    }
}

/// The registry's view of the scrape-time sources.
#[derive(Default)]
struct Sources {
    list: Mutex<Vec<Weak<dyn Source>>>,
    pending: Mutex<PendingChallenges>,
    clock: OnceLock<SharedClock>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sources")
    }
}

/// Challenges this node sent that are neither answered here nor expired: a count per expiry
/// time, so expired ones fall away without an event. A challenge answered on another cluster
/// node stays counted here until it expires.
#[derive(Default)]
struct PendingChallenges {
    by_expiry: BTreeMap<u64, u32>,
    total: u64,
}

impl PendingChallenges {
    fn expire(&mut self, now_ms: u64) {
        while let Some((&t, &n)) = self.by_expiry.first_key_value() {
            if t > now_ms {
                break;
            }
            self.by_expiry.remove(&t);
            self.total -= u64::from(n);
        }
    }
}

impl Collector for Sources {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut out = Samples::default();
        let sources: Vec<Arc<dyn Source>> = {
            let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
            list.retain(|w| w.strong_count() > 0);
            list.iter().filter_map(Weak::upgrade).collect()
        };
        for s in &sources {
            s.collect(&mut out);
        }
        let now = self.clock.get().map(|c| c.now_ms()).unwrap_or(0);
        let pending = {
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            p.expire(now);
            p.total
        };
        out.gauge(
            "challenges_pending",
            "Access-Challenges sent by this node and neither answered here nor expired",
            &[],
            pending as f64,
        );
        for (name, f) in &out.families {
            let kind = if f.counter {
                MetricType::Counter
            } else {
                MetricType::Gauge
            };
            let mut m = encoder.encode_descriptor(name, f.help, None, kind)?;
            for (labels, v) in &f.rows {
                let e = m.encode_family(labels)?;
                if f.counter {
                    ConstCounter::new(*v as u64).encode(e)?;
                } else {
                    ConstGauge::new(*v).encode(e)?;
                }
            }
        }
        Ok(())
    }
}

/// The registry and the handles everything records into.
pub struct Metrics {
    registry: Registry,
    sources: Arc<Sources>,
    requests: Family<RequestLabels, Counter>,
    decision_seconds: Histograms<LatencyLabels>,
    decisions: Family<DecisionLabels, Counter>,
    pushes_waiting: Gauge,
    ad_seconds: Histograms<ServerOp>,
    ad_errors: Family<ServerOp, Counter>,
    upstream_seconds: Histograms<UpstreamLabels>,
    upstream_errors: Family<UpstreamLabels, Counter>,
    provider_seconds: Histograms<ProviderOp>,
    provider_errors: Family<ProviderOp, Counter>,
    store_commit: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new(clock: SharedClock) -> Arc<Self> {
        let mut registry = Registry::with_prefix("mfagate");
        let m = Self {
            registry: Registry::default(),
            sources: Arc::new(Sources::default()),
            requests: Family::default(),
            decision_seconds: Family::new_with_constructor(latency),
            decisions: Family::default(),
            pushes_waiting: Gauge::default(),
            ad_seconds: Family::new_with_constructor(call),
            ad_errors: Family::default(),
            upstream_seconds: Family::new_with_constructor(call),
            upstream_errors: Family::default(),
            provider_seconds: Family::new_with_constructor(call),
            provider_errors: Family::default(),
            store_commit: Histogram::new(COMMIT_BUCKETS),
        };
        let _ = m.sources.clock.set(clock);
        registry.register(
            "requests",
            "Requests that reached the pipeline, by front-end, RADIUS client or LDAP listener, and result",
            m.requests.clone(),
        );
        registry.register(
            "decision_duration_seconds",
            "Time from a request's arrival at the pipeline to its decision, by front-end and result",
            m.decision_seconds.clone(),
        );
        registry.register(
            "decisions",
            "Authentication decisions (as in the audit log) by method, result and kind of reason",
            m.decisions.clone(),
        );
        registry.register(
            "pushes_waiting",
            "Requests waiting on an answer on the phone (push or call) right now",
            m.pushes_waiting.clone(),
        );
        registry.register(
            "ad_call_duration_seconds",
            "Calls to Active Directory by domain controller and operation (connect, bind, search)",
            m.ad_seconds.clone(),
        );
        registry.register(
            "ad_call_errors",
            "Calls to Active Directory that failed (no answer, connection lost, timeout)",
            m.ad_errors.clone(),
        );
        registry.register(
            "upstream_exchange_duration_seconds",
            "Exchanges with [[upstream]] RADIUS servers that were answered, by group and server",
            m.upstream_seconds.clone(),
        );
        registry.register(
            "upstream_exchange_errors",
            "Exchanges with [[upstream]] RADIUS servers that got no valid answer",
            m.upstream_errors.clone(),
        );
        registry.register(
            "provider_call_duration_seconds",
            "Calls to second-factor providers by provider and operation",
            m.provider_seconds.clone(),
        );
        registry.register(
            "provider_call_errors",
            "Calls to second-factor providers that failed (outage or refusal)",
            m.provider_errors.clone(),
        );
        registry.register(
            "store_commit_duration_seconds",
            "Durable empty commits of the readiness probe (one a second): the store's fsync latency",
            m.store_commit.clone(),
        );
        registry.register_collector(Box::new(m.sources.clone()));
        Arc::new(Self { registry, ..m })
    }

    /// Adds something whose figures are read at each scrape; held weakly, so a source that
    /// is gone drops out.
    pub fn add_source(&self, s: Weak<dyn Source>) {
        self.sources
            .list
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(s);
    }

    /// The handles for one RADIUS client (`frontend` "radius") or LDAP listener ("ldap").
    pub fn client(&self, frontend: &'static str, client: &str) -> ClientMetrics {
        let requests = Outcome::ALL.map(|o| {
            self.requests.get_or_create_owned(&RequestLabels {
                frontend,
                client: client.to_owned(),
                result: o.as_str(),
            })
        });
        let seconds = Outcome::ALL.map(|o| {
            self.decision_seconds.get_or_create_owned(&LatencyLabels {
                frontend,
                result: o.as_str(),
            })
        });
        ClientMetrics { requests, seconds }
    }

    /// One decision, as the pipeline traces it.
    pub fn decision(&self, method: &'static str, result: &'static str, reason: &str) {
        self.decisions
            .get_or_create(&DecisionLabels {
                method,
                result,
                reason: reason_kind(reason),
            })
            .inc();
    }

    /// A challenge was sent that expires at `expires_ms` (the pipeline's clock).
    pub fn challenge_opened(&self, expires_ms: u64) {
        let now = self.sources.clock.get().map(|c| c.now_ms()).unwrap_or(0);
        let mut p = self
            .sources
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        p.expire(now);
        if expires_ms > now {
            *p.by_expiry.entry(expires_ms).or_default() += 1;
            p.total += 1;
        }
    }

    /// A challenge expiring at `expires_ms` was answered (whatever the answer).
    pub fn challenge_closed(&self, expires_ms: u64) {
        let mut p = self
            .sources
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let PendingChallenges { by_expiry, total } = &mut *p;
        if let Some(n) = by_expiry.get_mut(&expires_ms) {
            *n -= 1;
            *total -= 1;
            if *n == 0 {
                by_expiry.remove(&expires_ms);
            }
        }
    }

    /// Counts a request waiting on the phone until the guard is dropped.
    pub fn push_waiting(&self) -> PushWaiting {
        self.pushes_waiting.inc();
        PushWaiting(self.pushes_waiting.clone())
    }

    /// A call to a domain controller (`op`: connect, bind, search) that took `elapsed`.
    pub fn ad_call(&self, server: &str, op: &'static str, elapsed: Duration, ok: bool) {
        let labels = ServerOp {
            server: server.to_owned(),
            op,
        };
        self.ad_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if !ok {
            self.ad_errors.get_or_create(&labels).inc();
        }
    }

    /// An exchange with an upstream server: answered after `elapsed`, or not at all.
    pub fn upstream_exchange(&self, group: &str, server: &str, answered: Option<Duration>) {
        let labels = UpstreamLabels {
            upstream: group.to_owned(),
            server: server.to_owned(),
        };
        match answered {
            Some(d) => self
                .upstream_seconds
                .get_or_create(&labels)
                .observe(d.as_secs_f64()),
            None => {
                self.upstream_errors.get_or_create(&labels).inc();
            }
        }
    }

    /// A call to a provider (`op`: precheck, start, check_code, poll).
    pub fn provider_call(&self, provider: &str, op: &'static str, elapsed: Duration, ok: bool) {
        let labels = ProviderOp {
            provider: provider.to_owned(),
            op,
        };
        self.provider_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if !ok {
            self.provider_errors.get_or_create(&labels).inc();
        }
    }

    pub fn store_commit(&self, elapsed: Duration) {
        self.store_commit.observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text format (0.0.4), or OpenMetrics when `openmetrics`.
    pub fn encode(&self, openmetrics: bool) -> String {
        let mut out = String::new();
        let r = if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &self.registry)
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        };
        if let Err(e) = r {
            tracing::error!(error = %e, "metrics: cannot encode");
        }
        out
    }
}

/// See [`Metrics::push_waiting`].
pub struct PushWaiting(Gauge);

impl Drop for PushWaiting {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A reason's kind, the `reason` label of `mfagate_decisions_total`. The reason text itself
/// cannot be a label: it names servers, providers and counts, and carries what AD or a
/// provider answered (`AD refused the bind: …`, `privacyIDEA rejected the code (…)`, an HTTP
/// error), so its values are unbounded. The kinds are matched on the fixed words the pipeline
/// writes; a reason no rule knows is "other" (the audit log has the text).
pub fn reason_kind(reason: &str) -> &'static str {
    // First match wins: the more specific words come first.
    const KINDS: &[(&str, &str)] = &[
        ("failmode safe", "provider_failed_accepted"),
        ("already used on another node", "cluster_conflict"),
        ("no cluster peer acknowledged", "cluster_no_ack"),
        ("(no peer acknowledged)", "cluster_alone"),
        ("repeated bind within bind_cache_secs", "bind_cache"),
        ("exempt LDAP account", "ldap_exempt"),
        ("bypass by policy", "policy_bypass"),
        ("unknown_users = bypass", "unknown_user_bypass"),
        ("denied by policy", "policy_deny"),
        ("Duo preauth: allow", "provider_bypass"),
        ("Duo preauth", "provider_deny"),
        ("code requested", "code_requested"),
        ("SMS code sent", "sms_sent"),
        ("push sent", "push_sent"),
        ("not answered yet", "push_pending"),
        ("denied by the user", "push_denied"),
        ("not answered in time", "push_timeout"),
        ("reported as fraud", "push_fraud"),
        ("push limit reached", "push_limit"),
        ("push is already outstanding", "push_outstanding"),
        ("approved", "push_approved"),
        ("code already used", "code_replayed"),
        ("locked after repeated wrong codes", "locked"),
        ("replaced by a newer one", "stale_challenge"),
        ("challenge state", "stale_challenge"),
        ("wrong code", "wrong_code"),
        ("rejected the code", "wrong_code"),
        ("passcode rejected", "wrong_code"),
        ("asked for another challenge", "wrong_code"),
        ("code accepted", "code_accepted"),
        ("accepted the code", "code_accepted"),
        ("passcode accepted", "code_accepted"),
        ("upstream", "upstream_reject"),
        ("wrong password", "wrong_password"),
        ("no local password set", "wrong_password"),
        ("empty password", "empty_password"),
        ("unknown user", "unknown_user"),
        ("not in mfagate", "unknown_user"),
        ("login name", "unknown_user"),
        ("disabled", "user_disabled"),
        ("in AD (", "ad_account_state"),
        ("AD refused the bind", "ad_refused"),
        ("no TOTP authenticator enrolled", "not_enrolled"),
        ("cannot be challenged", "needs_code"),
        ("cannot ask for one", "needs_code"),
        ("SMS is not offered over LDAP", "needs_code"),
        ("SMS codes are sent after the password", "needs_code"),
        ("unsupported authentication", "unsupported"),
        ("no provider for the method", "no_provider"),
        ("not delivered", "provider_failed"),
        ("not started", "provider_failed"),
        ("; rejected", "provider_failed"),
    ];
    KINDS
        .iter()
        .find(|(words, _)| reason.contains(words))
        .map_or("other", |(_, kind)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_the_pipeline_writes_has_a_kind() {
        let known = [
            ("password and code accepted", "code_accepted"),
            ("password and SMS code accepted", "code_accepted"),
            ("privacyIDEA accepted the code", "code_accepted"),
            ("Duo passcode accepted", "code_accepted"),
            ("wrong code", "wrong_code"),
            (
                "privacyIDEA rejected the code (wrong otp pin)",
                "wrong_code",
            ),
            ("code already used (replay)", "code_replayed"),
            ("second factor locked after repeated wrong codes", "locked"),
            (
                "unknown, expired or used challenge state",
                "stale_challenge",
            ),
            ("SMS code replaced by a newer one", "stale_challenge"),
            ("password accepted, code requested", "code_requested"),
            (
                "password accepted; code requested through pi",
                "code_requested",
            ),
            ("password accepted, SMS code sent", "sms_sent"),
            (
                "push sent; waiting for the answer to the challenge",
                "push_sent",
            ),
            ("push not answered yet; asked again", "push_pending"),
            ("push approved", "push_approved"),
            ("phone call approved", "push_approved"),
            ("push denied by the user", "push_denied"),
            ("phone call not answered in time", "push_timeout"),
            (
                "push reported as fraud: second factor locked until an administrator unlocks it",
                "push_fraud",
            ),
            (
                "push limit reached: 3 per 600 s (MFA-fatigue protection)",
                "push_limit",
            ),
            (
                "a push is already outstanding for this user",
                "push_outstanding",
            ),
            ("wrong password", "wrong_password"),
            ("wrong password (AD 52e)", "wrong_password"),
            ("unknown user", "unknown_user"),
            ("login name matches 2 AD accounts", "unknown_user"),
            (
                "password accepted, but the user is not in mfagate",
                "unknown_user",
            ),
            (
                "password only: not in mfagate (unknown_users = bypass)",
                "unknown_user_bypass",
            ),
            ("user disabled", "user_disabled"),
            ("account disabled in AD (533)", "user_disabled"),
            ("account locked out in AD (775)", "ad_account_state"),
            (
                "AD refused the bind: result code 49, sub-code None",
                "ad_refused",
            ),
            ("empty password", "empty_password"),
            ("denied by policy", "policy_deny"),
            ("password only: bypass by policy", "policy_bypass"),
            ("password only: exempt LDAP account", "ldap_exempt"),
            (
                "password accepted; code skipped: repeated bind within bind_cache_secs",
                "bind_cache",
            ),
            ("no TOTP authenticator enrolled", "not_enrolled"),
            (
                "rejected by upstream \"nps\" (127.0.0.1:1812)",
                "upstream_reject",
            ),
            (
                "no code appended to the password (an LDAP bind cannot be challenged)",
                "needs_code",
            ),
            (
                "unsupported authentication: no User-Password",
                "unsupported",
            ),
            ("no provider for the method", "no_provider"),
            ("SMS not delivered (HTTP status 500)", "provider_failed"),
            ("HTTP status 503; rejected", "provider_failed"),
            (
                "push not started (timed out); failmode safe: accepted on the password alone",
                "provider_failed_accepted",
            ),
            (
                "code already used on another node (reported by b)",
                "cluster_conflict",
            ),
            ("Duo preauth: deny (locked out)", "provider_deny"),
        ];
        for (reason, kind) in known {
            assert_eq!(reason_kind(reason), kind, "{reason}");
        }
        assert_eq!(reason_kind("something new"), "other");
    }

    #[test]
    fn pending_challenges_fall_away_when_answered_or_expired() {
        let clock = Arc::new(crate::clock::ManualClock::new(1_000));
        let m = Metrics::new(clock.clone());
        m.challenge_opened(5_000);
        m.challenge_opened(5_000);
        m.challenge_opened(9_000);
        m.challenge_opened(500); // already expired: never counted
        let count = |m: &Metrics| {
            let text = m.encode(false);
            text.lines()
                .find_map(|l| l.strip_prefix("mfagate_challenges_pending "))
                .and_then(|v| v.parse::<f64>().ok())
        };
        assert_eq!(count(&m), Some(3.0));
        m.challenge_closed(5_000);
        m.challenge_closed(1_234); // not ours
        assert_eq!(count(&m), Some(2.0));
        clock.advance_ms(4_500);
        assert_eq!(count(&m), Some(1.0));
        let _w = m.push_waiting();
        assert!(m.encode(true).contains("mfagate_pushes_waiting 1"));
        drop(_w);
        assert!(m.encode(true).contains("mfagate_pushes_waiting 0"));
        assert!(m.encode(true).ends_with("# EOF\n"));
    }
}
