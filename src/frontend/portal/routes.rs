//! What each portal address does: the session and form-token checks, then a call into the
//! pipeline (which decides) and the page that shows the outcome. Every POST carries a form
//! token: the session's once signed in, a double-submitted cookie before.

use std::net::IpAddr;

use subtle::ConstantTimeEq;

use super::http::{self, clear_cookie, cookie, Reply, Req, Verb};
use super::i18n::Lang;
use super::pages::{self, Frame};
use super::Portal;
use crate::auth::portal::{token_hash, PortalLogin, PortalStep, TOTP_CONFIRM_ATTEMPTS};
use crate::auth::AuthError;
use crate::config::{Method, Secret};
use crate::factor::{sms::mask_phone, totp};
use crate::store::model::{
    hex, unhex, user_key, AuthResult, PendingEnrolment, PortalSession, UserRecord,
};
use crate::store::StoreError;

/// How far back "my recent sign-ins" looks, and how much of the log it reads for it.
const RECENT_MS: u64 = 14 * 24 * 3_600_000;
const RECENT_ROWS: usize = 50;
const RECENT_SCAN: usize = 200_000;

/// A signed-in request's session.
pub(super) struct Signed {
    id: String,
    session: PortalSession,
    user: UserRecord,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum Failed {
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

fn random_hex(n: usize) -> Result<String, Failed> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).map_err(|e| AuthError::Unavailable(e.to_string()))?;
    Ok(hex(&b))
}

fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A token from an invitation link, if it has the shape we make (64 hex digits).
fn invitation_token(s: &str) -> Option<&str> {
    (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then_some(s)
}

/// `+` and 8 to 15 digits (E.164), spaces, dots and dashes dropped.
pub fn normalise_phone(s: &str) -> Option<String> {
    let compact: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = compact.strip_prefix('+')?;
    ((8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(compact)
}

impl Portal {
    pub(super) async fn route(&self, req: Req) -> Reply {
        let lang_choice = req.query.get("lang").and_then(|l| Lang::parse(l));
        let lang = lang_choice
            .or_else(|| {
                req.cookies
                    .get(http::LANG_COOKIE)
                    .and_then(|l| Lang::parse(l))
            })
            .unwrap_or_else(|| Lang::negotiate(req.accept_language.as_deref()));
        let mut reply = match self.dispatch(&req, lang).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "portal: request failed");
                let f = Frame {
                    lang,
                    path: "/",
                    signed_in: None,
                };
                Reply::html(503, pages::problem(&f, lang.t().unavailable))
            }
        };
        if let Some(l) = lang_choice {
            reply = reply.with_cookie(cookie(http::LANG_COOKIE, l.code(), Some(365 * 86_400)));
        }
        reply
    }

    async fn dispatch(&self, req: &Req, lang: Lang) -> Result<Reply, Failed> {
        let path = req.path.as_str();
        if req.verb == Verb::Get && path == "/style.css" {
            return Ok(Reply {
                status: 200,
                body: http::Body::Css(pages::STYLE),
                set_cookies: Vec::new(),
            });
        }
        let signed = self.session(req).await?;
        let frame = |p: &'static str| Frame {
            lang,
            path: p,
            signed_in: None,
        };
        match (req.verb, path) {
            (Verb::Get, "/") => match &signed {
                Some(s) => self.home(req, lang, s, None).await,
                None => {
                    let notice = if req.query.contains_key("bye") {
                        Some(pages::message(lang.t().signed_out))
                    } else if req.cookies.contains_key(http::SESSION_COOKIE) {
                        Some(pages::error(lang.t().expired))
                    } else {
                        None
                    };
                    self.sign_in_page(req, lang, None, "", notice, 200)
                }
            },
            (Verb::Get, p) if p.starts_with("/invite/") => {
                let token = invitation_token(&p["/invite/".len()..]);
                self.sign_in_page(req, lang, token, "", None, 200)
            }
            (Verb::Post, "/signin") | (Verb::Post, "/signin/code") => {
                let form_token = req.cookies.get(http::FORM_COOKIE).map(String::as_str);
                if !form_token.is_some_and(|t| same(req.field("csrf"), t)) {
                    return Ok(self.forbidden(lang));
                }
                if !self.allow_attempt(req.peer) {
                    let notice = Some(pages::error(lang.t().too_many));
                    let inv = invitation_token(req.field("invitation"));
                    return self.sign_in_page(req, lang, inv, req.field("user"), notice, 429);
                }
                let step = if path == "/signin" {
                    self.sign_in(req).await?
                } else {
                    self.answer(req).await?
                };
                self.after_step(req, lang, step).await
            }
            (Verb::Post, _) => {
                let Some(s) = signed else {
                    return Ok(self.forbidden(lang));
                };
                if !same(req.field("csrf"), &s.session.csrf) {
                    return Ok(self.forbidden(lang));
                }
                self.signed_post(req, lang, s).await
            }
            (Verb::Get, "/totp" | "/phone" | "/phone/confirm" | "/activity") => match signed {
                None => Ok(Reply::see_other("/")),
                Some(s) => self.signed_get(req, lang, s).await,
            },
            (Verb::Get, _) => Ok(Reply::html(
                404,
                pages::problem(&frame("/"), lang.t().not_found),
            )),
            (Verb::Other, _) => Ok(Reply::html(
                405,
                pages::problem(&frame("/"), lang.t().not_found),
            )),
        }
    }

    fn forbidden(&self, lang: Lang) -> Reply {
        let f = Frame {
            lang,
            path: "/",
            signed_in: None,
        };
        Reply::html(403, pages::problem(&f, lang.t().forbidden))
    }

    /// The sign-in form, with a fresh form token when the browser has none.
    fn sign_in_page(
        &self,
        req: &Req,
        lang: Lang,
        invitation: Option<&str>,
        user: &str,
        notice: Option<String>,
        status: u16,
    ) -> Result<Reply, Failed> {
        let (token, fresh) = match req.cookies.get(http::FORM_COOKIE) {
            Some(t) if t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (t.clone(), false)
            }
            _ => (random_hex(16)?, true),
        };
        let path = if invitation.is_some() {
            req.path.as_str()
        } else {
            "/"
        };
        let f = Frame {
            lang,
            path,
            signed_in: None,
        };
        let html = pages::sign_in(
            &f,
            &pages::SignIn {
                csrf: &token,
                invitation,
                user,
                notice,
            },
        );
        let mut reply = Reply::html(status, html);
        if fresh {
            reply = reply.with_cookie(cookie(http::FORM_COOKIE, &token, None));
        }
        Ok(reply)
    }

    async fn sign_in(&self, req: &Req) -> Result<PortalStep, Failed> {
        let cfg = self.cfg.get();
        let require_invitation = cfg.portal.as_ref().is_some_and(|p| p.require_invitation);
        let login = PortalLogin {
            user_name: req.field("user").trim().to_owned(),
            password: Secret::new(req.field("password").to_owned()),
            client_ip: req.peer,
            invitation: invitation_token(req.field("invitation")).map(|t| Secret::new(t.into())),
            require_invitation,
        };
        if login.user_name.is_empty() || login.user_name.len() > 256 {
            return Ok(PortalStep::Refused);
        }
        Ok(self.pipeline.get().portal_sign_in(login).await?)
    }

    async fn answer(&self, req: &Req) -> Result<PortalStep, Failed> {
        let Some(state) = unhex(req.field("state")).filter(|s| !s.is_empty() && s.len() <= 64)
        else {
            return Ok(PortalStep::Refused);
        };
        let invitation = invitation_token(req.field("invitation")).map(|t| Secret::new(t.into()));
        let code = Secret::new(req.field("code").to_owned());
        let cfg = self.cfg.get();
        let require_invitation = cfg.portal.as_ref().is_some_and(|p| p.require_invitation);
        Ok(self
            .pipeline
            .get()
            .portal_answer(
                req.field("user").trim(),
                req.peer,
                state,
                code,
                invitation,
                require_invitation,
            )
            .await?)
    }

    async fn after_step(&self, req: &Req, lang: Lang, step: PortalStep) -> Result<Reply, Failed> {
        let invitation = invitation_token(req.field("invitation"));
        match step {
            PortalStep::Refused => {
                let notice = Some(pages::error(lang.t().sign_in_failed));
                self.sign_in_page(req, lang, invitation, req.field("user"), notice, 200)
            }
            PortalStep::Challenge {
                state, out_of_band, ..
            } => {
                let f = Frame {
                    lang,
                    path: "/",
                    signed_in: None,
                };
                let html = pages::code_asked(
                    &f,
                    &pages::CodeAsked {
                        csrf: req.field("csrf"),
                        user: req.field("user").trim(),
                        state: &hex(&state),
                        invitation,
                        push: out_of_band,
                    },
                );
                Ok(Reply::html(200, html))
            }
            PortalStep::SignedIn { user } => {
                let token = random_hex(32)?;
                let now = self.clock.now_ms();
                let session = PortalSession {
                    user_key: user_key(&user.name),
                    created_ms: now,
                    seen_ms: now,
                    csrf: random_hex(16)?,
                    signed_out: false,
                    updated_ms: now,
                    pending: None,
                };
                let id = token_hash(&token);
                self.store
                    .write(move |tx| tx.put_portal_session(&id, &session))
                    .await?;
                let mut reply = Reply::see_other("/")
                    .with_cookie(cookie(http::SESSION_COOKIE, &token, None))
                    .with_cookie(clear_cookie(http::FORM_COOKIE));
                // The user's own language (the one their mails are in) once we know who they
                // are, unless they picked one on the page; for this browser session only, so a
                // shared computer does not keep it for the next person.
                let picked =
                    req.query.contains_key("lang") || req.cookies.contains_key(http::LANG_COOKIE);
                if let Some(own) = user.language.as_deref().and_then(Lang::parse) {
                    if !picked {
                        reply = reply.with_cookie(cookie(http::LANG_COOKIE, own.code(), None));
                    }
                }
                Ok(reply)
            }
        }
    }

    /// The request's session if it is current: not signed out, not idle past the timeout,
    /// its user still there and enabled. A request now counts as activity.
    async fn session(&self, req: &Req) -> Result<Option<Signed>, Failed> {
        let Some(token) = req.cookies.get(http::SESSION_COOKIE) else {
            return Ok(None);
        };
        if token.len() != 64 {
            return Ok(None);
        }
        let id = token_hash(token);
        let Some(session) = self.store.read(|r| r.portal_session(&id))? else {
            return Ok(None);
        };
        let idle = self.idle_ms();
        let now = self.clock.now_ms();
        if session.signed_out || now.saturating_sub(session.seen_ms) >= idle {
            return Ok(None);
        }
        let Some(user) = self.store.read(|r| r.user(&session.user_key))? else {
            return Ok(None);
        };
        if !user.enabled {
            return Ok(None);
        }
        let mut session = session;
        // Not every request is a write: often enough that the timeout is measured well.
        if now.saturating_sub(session.seen_ms) >= (idle / 4).min(30_000) {
            session.seen_ms = now;
            session.updated_ms = now;
            self.save(&id, &session).await?;
        }
        Ok(Some(Signed { id, session, user }))
    }

    fn idle_ms(&self) -> u64 {
        self.cfg
            .get()
            .portal
            .as_ref()
            .map(|p| p.idle_timeout_ms)
            .unwrap_or(15 * 60_000)
    }

    async fn save(&self, id: &str, session: &PortalSession) -> Result<(), Failed> {
        let (id, s) = (id.to_owned(), session.clone());
        self.store
            .write(move |tx| tx.put_portal_session(&id, &s))
            .await?;
        Ok(())
    }

    fn may(&self, m: Method) -> bool {
        self.cfg
            .get()
            .portal
            .as_ref()
            .is_some_and(|p| p.methods.contains(&m))
    }

    async fn home(
        &self,
        req: &Req,
        lang: Lang,
        s: &Signed,
        notice: Option<String>,
    ) -> Result<Reply, Failed> {
        let t = lang.t();
        let notice = notice.or_else(|| match req.query.get("done").map(String::as_str) {
            Some("app") => Some(pages::message(t.app_saved)),
            Some("phone") => Some(pages::message(t.phone_saved)),
            _ => None,
        });
        let locked = self.pipeline.get().portal_factor_locked(&s.user.name)?;
        let name = s.user.display_name.as_deref().unwrap_or(&s.user.name);
        let f = Frame {
            lang,
            path: "/",
            signed_in: Some((name, &s.session.csrf)),
        };
        let html = pages::home(
            &f,
            &pages::Home {
                csrf: &s.session.csrf,
                app: s.user.totp.is_some(),
                phone: s.user.phone.as_deref().map(mask_phone),
                may_app: self.may(Method::Totp) && !locked,
                may_phone: self.may(Method::Sms) && !locked,
                locked,
                notice,
            },
        );
        Ok(Reply::html(200, html))
    }

    async fn signed_get(&self, req: &Req, lang: Lang, s: Signed) -> Result<Reply, Failed> {
        let name = s.user.display_name.clone().unwrap_or(s.user.name.clone());
        let f = Frame {
            lang,
            path: match req.path.as_str() {
                "/totp" => "/totp",
                "/phone" => "/phone",
                "/phone/confirm" => "/phone/confirm",
                _ => "/activity",
            },
            signed_in: Some((&name, &s.session.csrf)),
        };
        let csrf = &s.session.csrf;
        match (req.path.as_str(), &s.session.pending) {
            ("/totp", Some(PendingEnrolment::Totp { seed, .. })) => {
                self.totp_page(&f, &s, seed, None)
            }
            ("/phone", _) if self.may(Method::Sms) => {
                Ok(Reply::html(200, pages::phone_form(&f, csrf, "", None)))
            }
            ("/phone/confirm", Some(PendingEnrolment::Phone { phone, .. })) => Ok(Reply::html(
                200,
                pages::phone_confirm(&f, csrf, &mask_phone(phone), None),
            )),
            ("/activity", _) => {
                let key = user_key(&s.user.name);
                let since = self.clock.now_ms().saturating_sub(RECENT_MS);
                let records = self
                    .store
                    .read(|r| r.user_auth_log(&key, since, RECENT_ROWS, RECENT_SCAN))?;
                let t = lang.t();
                let rows: Vec<pages::SignInRow> = records
                    .into_iter()
                    .filter(|r| r.result != AuthResult::Event && r.result != AuthResult::Granted)
                    .map(|r| pages::SignInRow {
                        when: crate::timefmt::rfc3339_ms(r.time_ms),
                        time_ms: r.time_ms,
                        client: r.client_name,
                        result: match r.result {
                            AuthResult::Accept => t.accepted,
                            AuthResult::Challenge => t.asked,
                            _ => t.refused,
                        },
                        reportable: r.result != AuthResult::Reject,
                    })
                    .collect();
                Ok(Reply::html(200, pages::activity(&f, csrf, &rows)))
            }
            _ => Ok(Reply::see_other("/")),
        }
    }

    fn totp_page(
        &self,
        f: &Frame<'_>,
        s: &Signed,
        sealed: &crate::store::model::SealedSeed,
        error: Option<&str>,
    ) -> Result<Reply, Failed> {
        let seed = self.store.sealer().open(sealed, &user_key(&s.user.name))?;
        let cfg = self.cfg.get();
        let uri = totp::otpauth_uri(&s.user.name, &seed, &cfg.factor.totp);
        let svg = super::qr_svg(&uri);
        let html = pages::totp_enrol(
            f,
            &pages::TotpEnrol {
                csrf: &s.session.csrf,
                qr_svg: &svg,
                secret: &totp::base32(&seed),
                error,
            },
        );
        Ok(Reply::html(200, html))
    }

    async fn signed_post(&self, req: &Req, lang: Lang, mut s: Signed) -> Result<Reply, Failed> {
        let t = lang.t();
        let pipeline = self.pipeline.get();
        let name = s.user.display_name.clone().unwrap_or(s.user.name.clone());
        let csrf = s.session.csrf.clone();
        let f = Frame {
            lang,
            path: "/",
            signed_in: Some((&name, &csrf)),
        };
        let now = self.clock.now_ms();
        let locked = pipeline.portal_factor_locked(&s.user.name)?;
        match req.path.as_str() {
            "/signout" => {
                s.session.signed_out = true;
                s.session.updated_ms = now;
                s.session.pending = None;
                self.save(&s.id, &s.session).await?;
                pipeline
                    .portal_note(&s.user.name, req.peer, "portal: signed out")
                    .await?;
                Ok(Reply::see_other("/?bye=1").with_cookie(clear_cookie(http::SESSION_COOKIE)))
            }
            "/totp/new" if self.may(Method::Totp) && !locked => {
                let seed =
                    totp::generate_seed().map_err(|e| AuthError::Unavailable(e.to_string()))?;
                let sealed = self.store.sealer().seal(&seed, &user_key(&s.user.name))?;
                s.session.pending = Some(PendingEnrolment::Totp {
                    seed: sealed,
                    attempts_left: TOTP_CONFIRM_ATTEMPTS,
                });
                s.session.updated_ms = now;
                self.save(&s.id, &s.session).await?;
                Ok(Reply::see_other("/totp"))
            }
            "/totp/confirm" => {
                let Some(PendingEnrolment::Totp {
                    seed,
                    attempts_left,
                }) = s.session.pending.clone()
                else {
                    return Ok(Reply::see_other("/"));
                };
                let saved = pipeline
                    .portal_confirm_totp(&s.user.name, req.peer, &seed, req.field("code"))
                    .await?;
                if saved {
                    s.session.pending = None;
                    s.session.updated_ms = now;
                    self.save(&s.id, &s.session).await?;
                    return Ok(Reply::see_other("/?done=app"));
                }
                let left = attempts_left.saturating_sub(1);
                s.session.updated_ms = now;
                if left == 0 {
                    s.session.pending = None;
                    self.save(&s.id, &s.session).await?;
                    return self
                        .home(req, lang, &s, Some(pages::error(t.app_gave_up)))
                        .await;
                }
                s.session.pending = Some(PendingEnrolment::Totp {
                    seed: seed.clone(),
                    attempts_left: left,
                });
                self.save(&s.id, &s.session).await?;
                let f = Frame { path: "/totp", ..f };
                let mut r = self.totp_page(&f, &s, &seed, Some(t.app_wrong))?;
                r.status = 422;
                Ok(r)
            }
            "/totp/cancel" => {
                s.session.pending = None;
                s.session.updated_ms = now;
                self.save(&s.id, &s.session).await?;
                Ok(Reply::see_other("/"))
            }
            "/phone" if self.may(Method::Sms) && !locked => {
                let typed = req.field("phone");
                let f = Frame {
                    path: "/phone",
                    ..f
                };
                let Some(phone) = normalise_phone(typed) else {
                    return Ok(Reply::html(
                        422,
                        pages::phone_form(&f, &csrf, typed, Some(t.phone_bad)),
                    ));
                };
                match pipeline
                    .portal_send_phone_code(&s.user.name, req.peer, &phone)
                    .await?
                {
                    Some(state) => {
                        s.session.pending = Some(PendingEnrolment::Phone {
                            phone,
                            state: hex(&state),
                        });
                        s.session.updated_ms = now;
                        self.save(&s.id, &s.session).await?;
                        Ok(Reply::see_other("/phone/confirm"))
                    }
                    None => Ok(Reply::html(
                        503,
                        pages::phone_form(&f, &csrf, &phone, Some(t.phone_not_sent)),
                    )),
                }
            }
            "/phone/confirm" => {
                let Some(PendingEnrolment::Phone { phone, state }) = s.session.pending.clone()
                else {
                    return Ok(Reply::see_other("/"));
                };
                let code = Secret::new(req.field("code").to_owned());
                let state = unhex(&state).unwrap_or_default();
                let saved = pipeline
                    .portal_confirm_phone(&s.user.name, req.peer, state, code, &phone)
                    .await?;
                if saved {
                    s.session.pending = None;
                    s.session.updated_ms = now;
                    self.save(&s.id, &s.session).await?;
                    return Ok(Reply::see_other("/?done=phone"));
                }
                let f = Frame {
                    path: "/phone/confirm",
                    ..f
                };
                Ok(Reply::html(
                    422,
                    pages::phone_confirm(&f, &csrf, &mask_phone(&phone), Some(t.phone_wrong)),
                ))
            }
            "/report" => {
                let when = req
                    .field("time")
                    .parse::<u64>()
                    .map(crate::timefmt::rfc3339_ms)
                    .unwrap_or_else(|_| "an unknown time".into());
                pipeline
                    .portal_report_fraud(&s.user.name, req.peer, &when)
                    .await?;
                let helpdesk = self
                    .cfg
                    .get()
                    .portal
                    .as_ref()
                    .and_then(|p| p.helpdesk.clone());
                Ok(Reply::html(200, pages::reported(&f, helpdesk.as_deref())))
            }
            _ => Ok(Reply::html(404, pages::problem(&f, t.not_found))),
        }
    }

    /// At most [`super::SIGN_IN_PER_MINUTE`] sign-in steps a minute from one address.
    fn allow_attempt(&self, peer: IpAddr) -> bool {
        let now = self.clock.now_ms();
        let mut m = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 10_000 {
            m.retain(|_, (start, _)| now.saturating_sub(*start) < 60_000);
        }
        let e = m
            .entry(crate::config::canonical_ip(peer))
            .or_insert((now, 0));
        if now.saturating_sub(e.0) >= 60_000 {
            *e = (now, 0);
        }
        e.1 += 1;
        e.1 <= super::SIGN_IN_PER_MINUTE
    }
}
