//! Primary authentication ("is the password right?"). Back-ends only answer that question;
//! they never see LDAP operations, and only the upstream RADIUS back-end sees RADIUS
//! attributes (the ones it relays).
//!
//! [`Primary`] is a closed enum rather than a trait object: the set of back-ends is fixed by
//! the config's `backend` word, and most of the surface (directory reads, group membership,
//! DNs) exists for AD alone, so a trait would be one real implementation and defaults.
//!
//! The directory proxy ([`DirQuery`] and friends) also lives here: the LDAP front-end passes
//! reads through to AD, and these neutral types keep AD's client types out of the front-end
//! and LDAP's wire types out of the back-end.

pub mod ad;
pub mod local;
pub mod radius_upstream;

use crate::clock::SharedClock;
use crate::config::PrimaryConfig;
use crate::store::model::{user_key, UserRecord};
use crate::store::Store;

/// Who passed the password check: the store key of their mfagate record and, when the back-end
/// read it anyway, the record itself.
#[derive(Debug)]
pub struct Identity {
    pub key: String,
    pub name: String,
    pub record: Option<UserRecord>,
    /// The directory entry, for group lookups (AD only).
    pub dn: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PrimaryError {
    #[error(transparent)]
    Local(#[from] local::PrimaryError),
    #[error("Active Directory: {0}")]
    Ad(#[from] ad::AdError),
    #[error(transparent)]
    Upstream(#[from] radius_upstream::UpstreamError),
}

pub enum Primary {
    Local(local::LocalPrimary),
    Ad(Box<ad::AdPrimary>),
    /// `[primary] backend = "radius"`: an `[[upstream]]` group (built by the pipeline, which
    /// also routes clients to their own groups).
    Radius(std::sync::Arc<radius_upstream::Upstream>),
}

impl Primary {
    pub fn new(cfg: &PrimaryConfig, store: Store, clock: SharedClock) -> Result<Self, String> {
        Ok(match cfg {
            PrimaryConfig::Local(l) => {
                Primary::Local(local::LocalPrimary::new(store, l).map_err(|e| e.to_string())?)
            }
            PrimaryConfig::Ad(a) => {
                let ad = ad::AdPrimary::new((**a).clone(), clock).map_err(|e| e.to_string())?;
                Primary::Ad(Box::new(ad))
            }
            PrimaryConfig::Radius(name) => {
                return Err(format!(
                    "internal: upstream \"{name}\" is built by the pipeline"
                ))
            }
        })
    }

    /// Whether the user is in `group_dn` (nested groups count). The local directory has no
    /// groups.
    pub async fn member_of(&self, id: &Identity, group_dn: &str) -> Result<bool, PrimaryError> {
        match (self, &id.dn) {
            (Primary::Ad(a), Some(dn)) => Ok(a.member_of(dn, group_dn).await?),
            _ => Ok(false),
        }
    }

    /// The inner `Err` is the reason for the authentication log.
    pub async fn verify(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Result<Identity, String>, PrimaryError> {
        let candidate = self.find(login).await?;
        self.check(candidate, password).await
    }
}

/// A DN in a form to compare: lower case, no spaces around `,` and `=` (DNs as people type
/// them: `CN=svc-wiki, OU=Service,DC=corp` is the same entry as `cn=svc-wiki,ou=service,dc=corp`).
pub fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| {
            rdn.split_once('=')
                .map(|(a, v)| format!("{}={}", a.trim(), v.trim()))
                .unwrap_or_else(|| rdn.trim().to_owned())
        })
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirScope {
    Base,
    One,
    Sub,
}

/// A read the LDAP front-end passes through to the directory; `filter` is RFC 4515 text.
#[derive(Debug, Clone)]
pub struct DirQuery {
    pub base: String,
    pub scope: DirScope,
    pub filter: String,
    pub attrs: Vec<String>,
    pub size_limit: i32,
    pub time_limit: i32,
    pub types_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub dn: String,
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
}

/// The directory's final result of a read: LDAP result code, matched DN, diagnostic text.
#[derive(Debug, Clone)]
pub struct DirResult {
    pub code: u32,
    pub matched_dn: String,
    pub message: String,
}

/// A login name looked up but not yet checked: see [`Primary::find`].
pub enum Candidate {
    Local(Option<Box<UserRecord>>),
    Ad(ad::AdCandidate),
    /// An upstream checks any name: nothing is looked up first.
    Upstream(String),
}

impl Candidate {
    /// The directory entry's DN, when the name was found in AD.
    pub fn dn(&self) -> Option<&str> {
        match self {
            Candidate::Ad(c) => c.found.as_ref().ok().map(|u| u.dn.as_str()),
            Candidate::Local(_) | Candidate::Upstream(_) => None,
        }
    }

    /// The canonical user name, when the name was found.
    pub fn name(&self) -> Option<&str> {
        match self {
            Candidate::Ad(c) => c.found.as_ref().ok().map(|u| u.sam_account_name.as_str()),
            Candidate::Local(r) => r.as_ref().map(|u| u.name.as_str()),
            Candidate::Upstream(_) => None,
        }
    }
}

/// A directory connection that belongs to one bound LDAP session (`search_as = "user"`).
pub struct UserDirectory(ad::AdUserConn);

impl Primary {
    /// Looks the login name up without checking a password.
    pub async fn find(&self, login: &str) -> Result<Candidate, PrimaryError> {
        Ok(match self {
            Primary::Local(l) => Candidate::Local(l.find(login)?.map(Box::new)),
            Primary::Ad(a) => Candidate::Ad(a.find(login).await?),
            Primary::Radius(_) => Candidate::Upstream(login.to_owned()),
        })
    }

    /// A candidate for a DN named in the configuration, without a directory search (AD); the
    /// local directory has no DNs (`None`: use [`find`](Self::find)).
    pub fn known_dn(&self, dn: &str) -> Option<Candidate> {
        match self {
            Primary::Ad(a) => Some(Candidate::Ad(a.known_dn(dn))),
            Primary::Local(_) | Primary::Radius(_) => None,
        }
    }

    /// Checks the password of a [`find`](Self::find) result, at the same cost whether or not
    /// the name was found. The inner `Err` is the reason for the authentication log.
    pub async fn check(
        &self,
        candidate: Candidate,
        password: &str,
    ) -> Result<Result<Identity, String>, PrimaryError> {
        Ok(match (self, candidate) {
            (Primary::Local(l), Candidate::Local(record)) => {
                l.check(record.map(|b| *b), password).await?.map_or_else(
                    |r| Err(r.reason().to_owned()),
                    |u| {
                        Ok(Identity {
                            key: user_key(&u.name),
                            name: u.name.clone(),
                            record: Some(u),
                            dn: None,
                        })
                    },
                )
            }
            (Primary::Ad(a), Candidate::Ad(c)) => a.check(&c, password).await?.map_or_else(
                |r| Err(r.reason()),
                |u| {
                    Ok(Identity {
                        key: user_key(&u.sam_account_name),
                        name: u.sam_account_name,
                        record: None,
                        dn: Some(u.dn),
                    })
                },
            ),
            (Primary::Radius(up), Candidate::Upstream(login)) => {
                use radius_upstream::{Outgoing, Verdict};
                let out = Outgoing {
                    user_name: &login,
                    password: Some(password),
                    attributes: &[],
                    state: None,
                };
                let reply = up.authenticate(&out).await?;
                match reply.verdict {
                    Verdict::Accept => {
                        let name = crate::auth::account_name(&login).to_owned();
                        Ok(Identity {
                            key: user_key(&name),
                            name,
                            record: None,
                            dn: None,
                        })
                    }
                    Verdict::Reject => Err(format!(
                        "rejected by upstream \"{}\" ({})",
                        up.name(),
                        reply.server
                    )),
                    Verdict::Challenge { .. } => Err(format!(
                        "upstream \"{}\" sent an Access-Challenge, which a bind cannot answer",
                        up.name()
                    )),
                }
            }
            _ => Err("internal: candidate from another back-end".into()),
        })
    }

    /// Admits a [`find`](Self::find) result without a password, for a client that checked
    /// the password itself (an RD Gateway): the account must exist and its state allow a
    /// login (AD: not disabled, expired or locked out; local: enabled). The `Err` is the
    /// reason for the authentication log.
    pub fn admit(&self, candidate: Candidate) -> Result<Identity, String> {
        match candidate {
            Candidate::Local(Some(u)) if u.enabled => Ok(Identity {
                key: user_key(&u.name),
                name: u.name.clone(),
                record: Some(*u),
                dn: None,
            }),
            Candidate::Local(Some(_)) => Err("user disabled".into()),
            Candidate::Local(None) => Err("unknown user".into()),
            Candidate::Ad(c) => match c.found {
                Ok(u) => match u.state_refusal {
                    Some(r) => Err(r.reason()),
                    None => Ok(Identity {
                        key: user_key(&u.sam_account_name),
                        name: u.sam_account_name,
                        record: None,
                        dn: Some(u.dn),
                    }),
                },
                Err(r) => Err(r.reason()),
            },
            Candidate::Upstream(_) => Err("internal: an upstream admits nobody unasked".into()),
        }
    }

    /// Whether `dn` is in `group_dn` (nested groups count); false without AD.
    pub async fn dn_member_of(&self, dn: &str, group_dn: &str) -> Result<bool, PrimaryError> {
        match self {
            Primary::Ad(a) => Ok(a.member_of(dn, group_dn).await?),
            Primary::Local(_) | Primary::Radius(_) => Ok(false),
        }
    }

    /// Whether this back-end can answer directory reads.
    pub fn has_directory(&self) -> bool {
        matches!(self, Primary::Ad(_))
    }

    /// A connection bound as the user, for `search_as = "user"`.
    pub async fn open_user_directory(
        &self,
        dn: &str,
        password: &str,
    ) -> Result<Option<UserDirectory>, PrimaryError> {
        match self {
            Primary::Ad(a) => Ok(Some(UserDirectory(a.open_as(dn, password).await?))),
            Primary::Local(_) | Primary::Radius(_) => Ok(None),
        }
    }

    /// Proxies a search; `Ok(None)`: this back-end has no directory.
    pub async fn search(
        &self,
        query: &DirQuery,
        user: Option<&UserDirectory>,
        out: &tokio::sync::mpsc::Sender<DirEntry>,
    ) -> Result<Option<DirResult>, PrimaryError> {
        match self {
            Primary::Ad(a) => Ok(Some(a.search(query, user.map(|u| &u.0), out).await?)),
            Primary::Local(_) | Primary::Radius(_) => Ok(None),
        }
    }

    /// Proxies a compare; `Ok(None)`: this back-end has no directory.
    pub async fn compare(
        &self,
        dn: &str,
        attribute: &str,
        value: &[u8],
        user: Option<&UserDirectory>,
    ) -> Result<Option<DirResult>, PrimaryError> {
        match self {
            Primary::Ad(a) => Ok(Some(
                a.compare(dn, attribute, value, user.map(|u| &u.0)).await?,
            )),
            Primary::Local(_) | Primary::Radius(_) => Ok(None),
        }
    }
}
