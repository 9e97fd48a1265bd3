//! The directory reads the LDAP front-end passes through to AD (searches and compares, on
//! the service account's pool or a connection bound as the user), and their translation to
//! the neutral `DirEntry`/`DirResult`.

use super::*;

/// A connection bound as one user, for `[ldap] search_as = "user"`: AD applies that user's
/// access rights to the searches proxied on it. The handle multiplexes, so one session's
/// searches may run on it concurrently.
pub struct AdUserConn {
    ldap: Ldap,
}

impl AdPrimary {
    /// Opens a dedicated connection bound as `dn` (already verified by [`check`](Self::check)).
    pub async fn open_as(&self, dn: &str, password: &str) -> Result<AdUserConn, AdError> {
        let mut errors = Vec::new();
        for i in self.dc_order() {
            let mut ldap = match self.connect(i).await {
                Ok(l) => l,
                Err(e) => {
                    self.mark_down(i, &e);
                    errors.push(e);
                    continue;
                }
            };
            let res = ldap
                .with_timeout(self.timeout())
                .simple_bind(dn, password)
                .await
                .map_err(|e| AdError::Unreachable(e.to_string()))?;
            if res.rc != 0 {
                return Err(AdError::Search(format!(
                    "user connection bind refused (result code {})",
                    res.rc
                )));
            }
            return Ok(AdUserConn { ldap });
        }
        Err(AdError::Unreachable(errors.join("; ")))
    }

    /// Proxies one search, sending entries to `out` as they arrive (continuation references
    /// dropped). One-level and subtree searches are paged towards AD so that AD's
    /// `MaxPageSize` (1000) does not cut them short; the client's size and time limits still
    /// apply. Stops early when `out` is closed (the client abandoned or left).
    pub async fn search(
        &self,
        query: &DirQuery,
        user: Option<&AdUserConn>,
        out: &tokio::sync::mpsc::Sender<DirEntry>,
    ) -> Result<DirResult, AdError> {
        if let Some(u) = user {
            let mut ldap = u.ldap.clone();
            return self
                .search_on(&mut ldap, query, out)
                .await
                .map(|(r, _)| r)
                .map_err(|(e, _)| e);
        }
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| AdError::Search(e.to_string()))?;
        let (dc, mut ldap, mut fresh) = match self.take_idle() {
            Some((dc, l)) => (dc, l, false),
            None => {
                let (dc, l) = self.service_connection().await?;
                (dc, l, true)
            }
        };
        loop {
            match self.search_on(&mut ldap, query, out).await {
                Ok((result, complete)) => {
                    if complete {
                        self.put_idle(dc, ldap);
                    }
                    return Ok(result);
                }
                // A pooled connection may have gone stale; retry once on a fresh one, but
                // only when nothing reached the client yet.
                Err((e, sent)) if !fresh && sent == 0 => {
                    tracing::debug!(error = %e, "AD: pooled connection failed; reconnecting");
                    let (_, l) = self.service_connection().await?;
                    ldap = l;
                    fresh = true;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Runs the search on `ldap`. `Ok((result, complete))`: `complete` is false when the
    /// receiver went away mid-stream (the connection then has a search outstanding and is not
    /// reused). `Err((error, entries_sent))`.
    async fn search_on(
        &self,
        ldap: &mut Ldap,
        query: &DirQuery,
        out: &tokio::sync::mpsc::Sender<DirEntry>,
    ) -> Result<(DirResult, bool), (AdError, usize)> {
        use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
        let scope = match query.scope {
            DirScope::Base => Scope::Base,
            DirScope::One => Scope::OneLevel,
            DirScope::Sub => Scope::Subtree,
        };
        let mut adapters: Vec<Box<dyn Adapter<'_, &str, Vec<&str>>>> =
            vec![Box::new(EntriesOnly::new())];
        if query.scope != DirScope::Base {
            adapters.push(Box::new(PagedResults::new(500)));
        }
        let attrs: Vec<&str> = query.attrs.iter().map(String::as_str).collect();
        let opts = ldap3::SearchOptions::new()
            .sizelimit(query.size_limit)
            .timelimit(query.time_limit)
            .typesonly(query.types_only);
        let mut timeout = self.timeout();
        if query.time_limit > 0 {
            timeout = timeout.max(Duration::from_secs(query.time_limit as u64 + 1));
        }
        let err = |e: ldap3::LdapError, n| (AdError::Search(e.to_string()), n);
        let mut stream = ldap
            .with_search_options(opts)
            .with_timeout(timeout)
            .streaming_search_with(adapters, &query.base, scope, &query.filter, attrs)
            .await
            .map_err(|e| err(e, 0))?;
        let mut sent = 0usize;
        let stopped = |code: u32, message: &str| {
            Ok((
                DirResult {
                    code,
                    matched_dn: String::new(),
                    message: message.to_owned(),
                },
                false,
            ))
        };
        // The client's limits are enforced here too: some directories ignore them (Samba
        // does), and paging towards AD must not lift them. Stopping early leaves the search
        // running upstream, so the connection is not reused (`false`).
        let deadline = (query.time_limit > 0)
            .then(|| tokio::time::Instant::now() + Duration::from_secs(query.time_limit as u64));
        loop {
            let next = match deadline {
                Some(d) => match tokio::time::timeout_at(d, stream.next()).await {
                    Ok(n) => n,
                    Err(_) => return stopped(3, "time limit exceeded"),
                },
                None => stream.next().await,
            };
            let next = next.map_err(|e| err(e, sent))?;
            let Some(raw) = next else { break };
            let Some(entry) = dir_entry(raw.0) else {
                continue;
            };
            if query.size_limit > 0 && sent >= query.size_limit as usize {
                return stopped(4, "size limit exceeded");
            }
            if out.send(entry).await.is_err() {
                return stopped(0, "");
            }
            sent += 1;
        }
        let res = stream.finish().await;
        Ok((
            DirResult {
                code: res.rc,
                matched_dn: res.matched,
                message: res.text,
            },
            true,
        ))
    }

    /// Proxies one compare.
    pub async fn compare(
        &self,
        dn: &str,
        attribute: &str,
        value: &[u8],
        user: Option<&AdUserConn>,
    ) -> Result<DirResult, AdError> {
        let run = |mut ldap: Ldap| async move {
            let r = ldap
                .with_timeout(self.timeout())
                .compare(dn, attribute, value)
                .await
                .map(|c| c.0);
            (ldap, r)
        };
        let to_result = |r: ldap3::LdapResult| DirResult {
            code: r.rc,
            matched_dn: r.matched,
            message: r.text,
        };
        if let Some(u) = user {
            let (_, r) = run(u.ldap.clone()).await;
            return r.map(to_result).map_err(|e| AdError::Search(e.to_string()));
        }
        let (_, r) = self.on_service_pool(run).await?;
        Ok(to_result(r))
    }
}

/// A SearchResultEntry (`[APPLICATION 4] { objectName, attributes }`) as our own type, without
/// panicking on anything malformed (the entry is skipped instead).
fn dir_entry(tag: ldap3::asn1::StructureTag) -> Option<DirEntry> {
    use ldap3::asn1::{TagClass, PL};
    if tag.class != TagClass::Application || tag.id != 4 {
        return None;
    }
    let (dn, raw_attrs) = name_and_parts(tag)?;
    let mut attrs = Vec::with_capacity(raw_attrs.len());
    for a in raw_attrs {
        // PartialAttribute ::= SEQUENCE { type, SET OF value }
        let (name, vals) = name_and_parts(a)?;
        let values = vals
            .into_iter()
            .map(|v| match v.payload {
                PL::P(b) => Some(b),
                PL::C(_) => None,
            })
            .collect::<Option<Vec<_>>>()?;
        attrs.push((name, values));
    }
    Some(DirEntry { dn, attrs })
}

/// `SEQUENCE { OCTET STRING (UTF-8), SEQUENCE/SET OF … }`: the string and the inner elements.
fn name_and_parts(
    tag: ldap3::asn1::StructureTag,
) -> Option<(String, Vec<ldap3::asn1::StructureTag>)> {
    use ldap3::asn1::PL;
    let PL::C(mut parts) = tag.payload else {
        return None;
    };
    if parts.len() != 2 {
        return None;
    }
    let PL::C(inner) = parts.pop()?.payload else {
        return None;
    };
    let PL::P(name) = parts.pop()?.payload else {
        return None;
    };
    Some((String::from_utf8(name).ok()?, inner))
}
