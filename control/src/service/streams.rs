//! Open streams (live events, followed logs) per principal: each holds a connection and a
//! task for as long as the client keeps it, so one user cannot open them without bound.

use super::{RequestContext, Service, principal_key};
use crate::{Error, Result};
use futures::{Stream, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How many streams one principal may hold open at once (per replica): a few tabs, each
/// with its page's live events and a followed log.
pub const MAX_STREAMS_PER_PRINCIPAL: usize = 16;

/// The open streams of this process, by principal.
#[derive(Debug, Default)]
pub struct Streams {
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream; dropping it (the stream ends or the client goes) frees its place.
#[derive(Debug)]
pub struct StreamPermit {
    streams: Arc<Streams>,
    key: String,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        if let Ok(mut open) = self.streams.open.lock()
            && let Some(count) = open.get_mut(&self.key)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

impl Streams {
    fn admit(self: &Arc<Self>, key: String) -> Result<StreamPermit> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key.clone()).or_default();
        if *count >= MAX_STREAMS_PER_PRINCIPAL {
            return Err(Error::TooManyStreams(MAX_STREAMS_PER_PRINCIPAL));
        }
        *count += 1;
        Ok(StreamPermit {
            streams: self.clone(),
            key,
        })
    }

    /// How many streams `key` holds open now.
    fn count(&self, key: &str) -> usize {
        self.open
            .lock()
            .map_or(0, |open| open.get(key).copied().unwrap_or(0))
    }
}

impl Service {
    /// `stream`, counted among the caller's open streams until it is dropped; 429 when the
    /// caller holds as many as one principal may.
    pub(super) fn counted<S>(
        &self,
        ctx: &RequestContext,
        stream: S,
    ) -> Result<impl Stream<Item = S::Item> + Send + 'static>
    where
        S: Stream + Send + 'static,
    {
        let permit = self.streams.admit(principal_key(&ctx.principal))?;
        Ok(stream.map(move |item| {
            let _held = &permit;
            item
        }))
    }

    /// How many streams the caller holds open on this replica.
    pub fn open_streams(&self, ctx: &RequestContext) -> usize {
        self.streams.count(&principal_key(&ctx.principal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_holds_at_most_the_limit_and_dropping_frees_a_place() {
        let streams = Arc::new(Streams::default());
        let mut held: Vec<_> = (0..MAX_STREAMS_PER_PRINCIPAL)
            .map(|_| streams.admit("alice".into()).expect("within the limit"))
            .collect();
        assert!(matches!(
            streams.admit("alice".into()),
            Err(Error::TooManyStreams(MAX_STREAMS_PER_PRINCIPAL))
        ));
        // Another principal is not affected.
        let bob = streams.admit("bob".into()).expect("bob has his own");
        held.pop();
        assert_eq!(streams.count("alice"), MAX_STREAMS_PER_PRINCIPAL - 1);
        held.push(streams.admit("alice".into()).expect("a place was freed"));
        drop(held);
        drop(bob);
        assert_eq!(streams.count("alice"), 0);
        assert!(streams.open.lock().expect("lock").is_empty());
    }
}
