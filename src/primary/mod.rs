//! Primary authentication ("is the password right?"). Back-ends only answer that question;
//! they never see RADIUS attributes or LDAP operations.

pub mod ad;
pub mod local;

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
}

pub enum Primary {
    Local(local::LocalPrimary),
    Ad(Box<ad::AdPrimary>),
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
        Ok(match self {
            Primary::Local(l) => l.verify(login, password).await?.map_or_else(
                |r| Err(r.reason().to_owned()),
                |u| {
                    Ok(Identity {
                        key: user_key(&u.name),
                        name: u.name.clone(),
                        record: Some(u),
                        dn: None,
                    })
                },
            ),
            Primary::Ad(a) => a.verify(login, password).await?.map_or_else(
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
        })
    }
}
