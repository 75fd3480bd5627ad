//! Grants and API-token principals kept in memory, so that a request needs no database trip to
//! be authorized. Every change to memberships, global roles, namespace ownership or tokens is
//! announced by Postgres on [`CHANNEL`] (triggers, sent at commit, to every replica); each
//! replica listens and drops what it holds. Entries also expire after [`TTL`], and while the
//! listener is not connected nothing is cached at all, so a missed notification can never
//! keep a revoked permission alive for longer than a reconnect.

use super::Grants;
use super::principal::Principal;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The notification channel the access triggers send on.
pub const CHANNEL: &str = "pilothouse_access";
/// The longest an entry is trusted without a notification (the backstop).
pub const TTL: Duration = Duration::from_secs(30);
/// Entries kept at most; beyond this the cache is emptied (principals are few in practice).
const MAX_ENTRIES: usize = 10_000;

/// What a principal's grants are cached under.
type Key = (String, String, Vec<String>, Option<(Option<String>, bool)>);

fn key_of(principal: &Principal) -> Key {
    let mut groups = principal.groups.clone();
    groups.sort_unstable();
    (
        principal.issuer.clone(),
        principal.subject.clone(),
        groups,
        principal
            .narrowing
            .as_ref()
            .map(|n| (n.tenant.clone(), n.read_only)),
    )
}

/// A token's principal: when it was cached, and when the token expires.
type TokenEntry = (Instant, Principal, chrono::DateTime<chrono::Utc>);

/// The shared cache of one process.
#[derive(Debug, Default)]
pub struct AccessCache {
    live: AtomicBool,
    generation: AtomicU64,
    grants: Mutex<HashMap<Key, (Instant, Arc<Grants>)>>,
    tokens: Mutex<HashMap<[u8; 32], TokenEntry>>,
}

impl AccessCache {
    /// Whether entries are being kept (the listener is connected).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// A counter that moves on every invalidation: a value loaded before a change is not
    /// stored after it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Cached grants of `principal`, if fresh.
    pub fn grants(&self, principal: &Principal) -> Option<Arc<Grants>> {
        if !self.is_live() {
            return None;
        }
        let entries = self.grants.lock().ok()?;
        let (at, grants) = entries.get(&key_of(principal))?;
        (at.elapsed() < TTL).then(|| grants.clone())
    }

    /// Keeps `grants`, loaded when the generation was `generation`.
    pub fn keep_grants(&self, principal: &Principal, generation: u64, grants: Arc<Grants>) {
        if !self.is_live() || self.generation() != generation {
            return;
        }
        if let Ok(mut entries) = self.grants.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key_of(principal), (Instant::now(), grants));
        }
    }

    /// The cached principal of the API token whose secret hashes to `hash`, if fresh and the
    /// token has not expired.
    pub fn token(&self, hash: &[u8; 32]) -> Option<Principal> {
        if !self.is_live() {
            return None;
        }
        let entries = self.tokens.lock().ok()?;
        let (at, principal, expires) = entries.get(hash)?;
        (at.elapsed() < TTL && chrono::Utc::now() < *expires).then(|| principal.clone())
    }

    /// Keeps a token's principal until it expires at `expires`, authenticated when the
    /// generation was `generation`.
    pub fn keep_token(
        &self,
        hash: [u8; 32],
        generation: u64,
        principal: Principal,
        expires: chrono::DateTime<chrono::Utc>,
    ) {
        if !self.is_live() || self.generation() != generation {
            return;
        }
        if let Ok(mut entries) = self.tokens.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(hash, (Instant::now(), principal, expires));
        }
    }

    /// Drops everything (a change was announced, or announcements may have been missed).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut entries) = self.grants.lock() {
            entries.clear();
        }
        if let Ok(mut entries) = self.tokens.lock() {
            entries.clear();
        }
    }

    fn set_live(&self, live: bool) {
        self.invalidate();
        self.live.store(live, Ordering::Release);
    }
}

/// Listens on [`CHANNEL`] for as long as the process runs, dropping the cache on every
/// notification; reconnects after a failure, caching nothing until it is back.
pub async fn listen(pool: PgPool, cache: Arc<AccessCache>) {
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => {
                    cache.set_live(true);
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => cache.invalidate(),
                            Ok(None) => {
                                // The connection was lost and is re-established by the next
                                // call; what was announced meanwhile is unknown.
                                cache.set_live(false);
                                break;
                            }
                            Err(error) => {
                                tracing::warn!(%error, "the access-change listener failed");
                                break;
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot listen for access changes"),
            },
            Err(error) => tracing::warn!(%error, "cannot connect the access-change listener"),
        }
        cache.set_live(false);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice(groups: &[&str]) -> Principal {
        Principal {
            issuer: "idp".into(),
            subject: "alice".into(),
            email: None,
            name: None,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            narrowing: None,
        }
    }

    #[test]
    fn nothing_is_kept_while_the_listener_is_down() {
        let cache = AccessCache::default();
        cache.keep_grants(&alice(&[]), cache.generation(), Arc::new(Grants::default()));
        assert!(cache.grants(&alice(&[])).is_none());
    }

    #[test]
    fn grants_are_kept_per_principal_until_a_change() {
        let cache = AccessCache::default();
        cache.set_live(true);
        cache.keep_grants(
            &alice(&["b", "a"]),
            cache.generation(),
            Arc::new(Grants::default()),
        );
        assert!(
            cache.grants(&alice(&["a", "b"])).is_some(),
            "group order does not matter"
        );
        assert!(
            cache.grants(&alice(&["a"])).is_none(),
            "other groups, other grants"
        );
        cache.invalidate();
        assert!(cache.grants(&alice(&["a", "b"])).is_none());
    }

    #[test]
    fn a_load_that_raced_a_change_is_not_kept() {
        let cache = AccessCache::default();
        cache.set_live(true);
        let before = cache.generation();
        cache.invalidate();
        cache.keep_grants(&alice(&[]), before, Arc::new(Grants::default()));
        assert!(cache.grants(&alice(&[])).is_none());
        cache.keep_token(
            [7; 32],
            before,
            alice(&[]),
            chrono::Utc::now() + chrono::Duration::days(1),
        );
        assert!(cache.token(&[7; 32]).is_none());
    }

    #[test]
    fn an_expired_token_is_not_served_from_the_cache() {
        let cache = AccessCache::default();
        cache.set_live(true);
        let now = chrono::Utc::now();
        cache.keep_token(
            [1; 32],
            cache.generation(),
            alice(&[]),
            now + chrono::Duration::days(1),
        );
        cache.keep_token(
            [2; 32],
            cache.generation(),
            alice(&[]),
            now - chrono::Duration::seconds(1),
        );
        assert!(cache.token(&[1; 32]).is_some());
        assert!(cache.token(&[2; 32]).is_none());
    }
}
