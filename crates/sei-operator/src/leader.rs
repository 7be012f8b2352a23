//! Leader election on a `coordination.k8s.io/v1` Lease, compatible with the reference
//! operator's (controller-runtime's): same Lease name and fields, so the two never lead
//! at once while a cluster moves from one to the other.
//!
//! Every replica runs the watches (so a new leader starts with warm caches); only the
//! replica holding a fresh Lease writes. Time is measured on this replica's own monotonic
//! clock, never compared with another replica's: a follower takes a Lease whose record it
//! has seen unchanged for a whole lease duration, and a leader stops writing a margin
//! before the duration has passed since it sent its last successful renewal. A leader that
//! cannot reach the API server therefore stops writing in time and carries on when it
//! renews again: an outage is waited out, not turned into a crash loop. A leader that
//! finds the Lease taken by another replica has lost it for good.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::watch;

/// The reference operator's Lease name (controller-runtime's `LeaderElectionID`).
pub const LEASE_NAME: &str = "bc1f5b0a.sei.io";

/// How long a Lease lasts, how early the holder renews it, and how often others look.
#[derive(Clone, Copy, Debug)]
pub struct Timings {
    /// `spec.leaseDurationSeconds`: a Lease not renewed for this long may be taken.
    pub lease: Duration,
    /// The holder renews once less than this is left.
    pub renew_before: Duration,
    /// A holder stops writing this long before its Lease could run out unrenewed.
    pub margin: Duration,
    /// How often a follower reads the Lease, and a failed renewal is retried.
    pub retry: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            lease: Duration::from_secs(15),
            renew_before: Duration::from_secs(6),
            margin: Duration::from_secs(2),
            retry: Duration::from_secs(1),
        }
    }
}

/// Whether this replica may write, shared by every reconcile.
#[derive(Clone)]
pub struct Leadership {
    writing: Arc<AtomicBool>,
    /// Bumped each time this replica starts (or resumes) writing: every object is then
    /// reconciled, since nothing was acted on while it did not write.
    started: watch::Sender<u64>,
}

impl Leadership {
    /// A replica that always writes (leader election off, or a test).
    pub fn always() -> Leadership {
        let l = Leadership::follower();
        l.set(true);
        l
    }

    pub fn follower() -> Leadership {
        Leadership { writing: Arc::new(AtomicBool::new(false)), started: watch::Sender::new(0) }
    }

    pub fn may_write(&self) -> bool {
        self.writing.load(Ordering::SeqCst)
    }

    fn set(&self, writing: bool) {
        let was = self.writing.swap(writing, Ordering::SeqCst);
        if writing && !was {
            self.started.send_modify(|n| *n += 1);
        }
    }

    /// Yields once for every start of writing, including one already in effect.
    pub fn starts(&self) -> impl futures::Stream<Item = ()> + Send + 'static {
        let mut rx = self.started.subscribe();
        rx.mark_changed();
        futures::stream::unfold(rx, |mut rx| async move {
            rx.changed().await.ok()?;
            Some(((), rx))
        })
    }
}

/// Why the election loop ended.
#[derive(Debug, thiserror::Error)]
pub enum Lost {
    #[error("the leader Lease is now held by {0:?}")]
    TakenBy(String),
}

fn holder(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref()?.holder_identity.as_deref().filter(|h| !h.is_empty())
}

/// What a replica last saw of the Lease, and when (by its own clock).
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    holder: Option<String>,
    renewed: Option<MicroTime>,
    transitions: Option<i32>,
}

impl Seen {
    fn of(lease: &Lease) -> Seen {
        let spec = lease.spec.clone().unwrap_or_default();
        Seen { holder: holder(lease).map(String::from), renewed: spec.renew_time, transitions: spec.lease_transitions }
    }
}

/// The outcome of one attempt to hold the Lease.
enum Attempt {
    /// This replica holds it; the renewal was sent at this instant.
    Held(Instant),
    /// Someone else holds it (or wrote it meanwhile).
    Other(String),
}

/// One replica's side of the election.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    timings: Timings,
    leadership: Leadership,
}

impl Elector {
    /// `identity` must be unique per process (a restarted pod with the same name is a
    /// different holder): append something random to the pod name.
    pub fn new(api: Api<Lease>, name: &str, identity: &str, timings: Timings, leadership: Leadership) -> Self {
        Elector { api, name: name.into(), identity: identity.into(), timings, leadership }
    }

    fn spec(&self, transitions: i32, acquired: Option<MicroTime>) -> LeaseSpec {
        let t = MicroTime(Timestamp::now());
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.timings.lease.as_secs().try_into().unwrap_or(i32::MAX)),
            acquire_time: Some(acquired.unwrap_or_else(|| t.clone())),
            renew_time: Some(t),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    /// Takes the Lease if it is free or has run out (`expired`), renews it if this replica
    /// holds it.
    async fn attempt(&self, seen: &mut Option<(Seen, Instant)>) -> Result<Attempt, kube::Error> {
        let sent = Instant::now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.name.clone()), ..Default::default() },
                spec: Some(self.spec(0, None)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Attempt::Held(sent)),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Other("a replica that created it".into())),
                Err(e) => Err(e),
            };
        };
        let now = Seen::of(&lease);
        // The record changed since it was last seen: it is alive for another lease duration.
        if seen.as_ref().is_none_or(|(s, _)| *s != now) {
            *seen = Some((now.clone(), Instant::now()));
        }
        let mine = now.holder.as_deref() == Some(self.identity.as_str());
        let free = now.holder.is_none();
        let expired = seen.as_ref().is_some_and(|(_, at)| at.elapsed() >= self.timings.lease);
        if !mine && !free && !expired {
            return Ok(Attempt::Other(now.holder.unwrap_or_default()));
        }
        let spec = lease.spec.clone().unwrap_or_default();
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
        lease.spec = Some(self.spec(transitions, if mine { spec.acquire_time.clone() } else { None }));
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(Attempt::Held(sent)),
            // Written by someone else between the read and this write: look again.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Other(String::new())),
            Err(e) => Err(e),
        }
    }

    /// Runs until this replica, having led, finds the Lease held by another one. Never
    /// returns while following or while the API server cannot be reached.
    pub async fn run(&self) -> Lost {
        let t = self.timings;
        // Until when this replica may write: a margin before its Lease could run out,
        // counted from when its last successful renewal was sent.
        let mut valid_until: Option<Instant> = None;
        let mut seen: Option<(Seen, Instant)> = None;
        let mut trouble: Option<String> = None;
        loop {
            // A renewal that hangs must not outlive the Lease it renews.
            let limit = valid_until.map_or(t.lease, |v| v.saturating_duration_since(Instant::now())).max(t.retry);
            let outcome = tokio::time::timeout(limit, self.attempt(&mut seen)).await;
            match outcome {
                Ok(Ok(Attempt::Held(sent))) => {
                    if trouble.take().is_some() {
                        tracing::info!(lease = %self.name, "the leader Lease can be renewed again");
                    }
                    if !self.leadership.may_write() {
                        tracing::info!(lease = %self.name, identity = %self.identity, "leading: writing from now on");
                    }
                    valid_until = Some(sent + t.lease.saturating_sub(t.margin));
                    self.leadership.set(true);
                }
                Ok(Ok(Attempt::Other(by))) if valid_until.is_some() && !by.is_empty() => {
                    self.leadership.set(false);
                    return Lost::TakenBy(by);
                }
                Ok(Ok(Attempt::Other(_))) => {}
                Ok(Err(e)) => self.note_trouble(&mut trouble, e.to_string()),
                Err(_) => self.note_trouble(&mut trouble, format!("no answer within {limit:?}")),
            }
            if valid_until.is_some_and(|v| Instant::now() >= v) && self.leadership.may_write() {
                tracing::warn!(lease = %self.name, "the leader Lease could not be renewed in time: not writing until it is");
                self.leadership.set(false);
            }
            let pause = match valid_until {
                Some(v) if trouble.is_none() => {
                    // Renew once less than `renew_before` is left of the lease.
                    let renew_at = v + t.margin;
                    renew_at
                        .checked_sub(t.renew_before)
                        .map_or(t.retry, |r| r.saturating_duration_since(Instant::now()))
                }
                _ => t.retry,
            };
            tokio::time::sleep(pause.max(Duration::from_millis(100))).await;
        }
    }

    fn note_trouble(&self, trouble: &mut Option<String>, text: String) {
        if trouble.as_deref() != Some(text.as_str()) {
            tracing::warn!(lease = %self.name, error = %text, "cannot read or renew the leader Lease; retrying");
            *trouble = Some(text);
        }
    }

    /// Gives the Lease up (on a graceful stop), so that another replica takes it at once.
    pub async fn release(&self) {
        self.leadership.set(false);
        let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else { return };
        if holder(&lease) != Some(self.identity.as_str()) {
            return;
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = None;
            spec.acquire_time = None;
        }
        if let Err(e) = self.api.replace(&self.name, &PostParams::default(), &lease).await {
            tracing::warn!(lease = %self.name, error = %e, "cannot release the leader Lease");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn every_start_of_writing_is_announced_once() {
        let l = Leadership::follower();
        let mut starts = Box::pin(l.starts());
        // The stream yields once at first for whatever state is in effect.
        assert!(starts.next().await.is_some());
        l.set(true);
        l.set(true);
        assert!(starts.next().await.is_some());
        l.set(false);
        l.set(true);
        assert!(starts.next().await.is_some());
        assert!(tokio::time::timeout(Duration::from_millis(50), starts.next()).await.is_err(), "no extra start");
        assert!(Leadership::always().may_write());
    }

    #[test]
    fn a_lease_record_is_the_same_until_it_is_renewed_or_changes_hands() {
        let lease = |holder: &str, renewed: i64| Lease {
            metadata: Default::default(),
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                renew_time: Some(MicroTime(Timestamp::from_second(renewed).unwrap())),
                ..Default::default()
            }),
        };
        assert_eq!(Seen::of(&lease("a", 1)), Seen::of(&lease("a", 1)));
        assert_ne!(Seen::of(&lease("a", 1)), Seen::of(&lease("a", 2)));
        assert_ne!(Seen::of(&lease("a", 1)), Seen::of(&lease("b", 1)));
    }
}
