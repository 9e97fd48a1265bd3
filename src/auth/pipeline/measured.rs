//! A provider wrapped so that each of its calls is timed and its failures counted by provider
//! name (`mfagate_provider_call_*`). Done here, around the trait, so that the providers stay
//! as they are and every provider, present or future, is measured the same way.

use std::sync::Arc;
use std::time::Instant;

use crate::config::Method;
use crate::factor::{
    Answer, CodeVerdict, FactorCall, FactorError, Precheck, Recipient, SecondFactor, Started,
};
use crate::metrics::Metrics;

pub(super) struct Measured {
    inner: Arc<dyn SecondFactor>,
    metrics: Arc<Metrics>,
}

impl Measured {
    pub(super) fn wrap(
        inner: Arc<dyn SecondFactor>,
        metrics: Arc<Metrics>,
    ) -> Arc<dyn SecondFactor> {
        Arc::new(Self { inner, metrics })
    }

    fn timed<'a, T: Send + 'a>(
        &'a self,
        op: &'static str,
        call: FactorCall<'a, T>,
    ) -> FactorCall<'a, T> {
        Box::pin(async move {
            let started = Instant::now();
            let r: Result<T, FactorError> = call.await;
            self.metrics
                .provider_call(self.inner.name(), op, started.elapsed(), r.is_ok());
            r
        })
    }
}

impl SecondFactor for Measured {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn carries_our_code(&self) -> bool {
        self.inner.carries_our_code()
    }

    fn may_push(&self, method: Method) -> bool {
        self.inner.may_push(method)
    }

    fn precheck<'a>(&'a self, user: Recipient<'a>) -> FactorCall<'a, Precheck> {
        self.timed("precheck", self.inner.precheck(user))
    }

    fn start<'a>(
        &'a self,
        user: Recipient<'a>,
        method: Method,
        our_code: Option<&'a str>,
        can_ask: bool,
    ) -> FactorCall<'a, Started> {
        self.timed("start", self.inner.start(user, method, our_code, can_ask))
    }

    fn check_code<'a>(
        &'a self,
        user: &'a str,
        code: &'a str,
        transaction: Option<&'a str>,
    ) -> FactorCall<'a, CodeVerdict> {
        self.timed("check_code", self.inner.check_code(user, code, transaction))
    }

    fn poll<'a>(&'a self, user: &'a str, transaction: &'a str) -> FactorCall<'a, Answer> {
        self.timed("poll", self.inner.poll(user, transaction))
    }

    fn health(&self) -> FactorCall<'_, String> {
        self.inner.health()
    }
}
