//! Leader election on a `coordination.k8s.io/v1` Lease.
//!
//! Every replica runs the watches (so a new leader starts with warm caches); only the
//! replica holding a fresh Lease writes. A leader that cannot reach the API server stops
//! writing once its Lease may have run out, and carries on when it renews it again: an
//! outage of the API server is waited out, not turned into a crash loop. A leader that
//! finds the Lease taken by another replica has lost it for good and stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};
use tokio::sync::watch;

/// How long a Lease lasts, how early the holder renews it, and how often others look.
#[derive(Clone, Copy, Debug)]
pub struct Timings {
    /// `spec.leaseDurationSeconds`: a Lease not renewed for this long may be taken.
    pub lease: Duration,
    /// The holder renews once less than this is left.
    pub renew_before: Duration,
    /// A holder stops writing this long before its Lease would run out unrenewed.
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

fn now() -> Timestamp {
    Timestamp::now()
}

/// When a Lease record runs out, by the clock of whoever reads it.
fn expiry(spec: &LeaseSpec) -> Option<Timestamp> {
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?.0;
    let secs = spec.lease_duration_seconds.unwrap_or(0);
    renewed.checked_add(SignedDuration::from_secs(secs.into())).ok()
}

fn holder(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref()?.holder_identity.as_deref().filter(|h| !h.is_empty())
}

fn left(spec: &LeaseSpec) -> SignedDuration {
    expiry(spec).map(|e| e.duration_since(now())).unwrap_or(SignedDuration::ZERO)
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
    pub fn new(api: Api<Lease>, name: &str, identity: &str, timings: Timings, leadership: Leadership) -> Self {
        Elector { api, name: name.into(), identity: identity.into(), timings, leadership }
    }

    fn spec(&self, transitions: i32, acquired: Option<MicroTime>) -> LeaseSpec {
        let t = MicroTime(now());
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.timings.lease.as_secs().try_into().unwrap_or(i32::MAX)),
            acquire_time: Some(acquired.unwrap_or_else(|| t.clone())),
            renew_time: Some(t),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    /// Takes the Lease if it is free or has run out; renews it if this replica holds it.
    /// Returns the Lease as written, or `None` when another replica holds it.
    async fn try_hold(&self) -> Result<Option<Lease>, kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.name.clone()), ..Default::default() },
                spec: Some(self.spec(0, None)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(l) => Ok(Some(l)),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(None),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let mine = holder(&lease) == Some(self.identity.as_str());
        if !mine && holder(&lease).is_some() && left(&spec) > SignedDuration::ZERO {
            return Ok(None);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
        lease.spec = Some(self.spec(transitions, if mine { spec.acquire_time.clone() } else { None }));
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(l) => Ok(Some(l)),
            // Someone else wrote it between the read and this write.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Runs until this replica, having led, finds the Lease taken by another one. Never
    /// returns while following or while the API server cannot be reached.
    pub async fn run(&self) -> Lost {
        let mut held: Option<Lease> = None;
        let mut trouble: Option<String> = None;
        loop {
            match self.try_hold().await {
                Ok(Some(lease)) => {
                    if trouble.take().is_some() {
                        tracing::info!(lease = %self.name, "the leader Lease can be renewed again");
                    }
                    if held.is_none() || !self.leadership.may_write() {
                        tracing::info!(lease = %self.name, identity = %self.identity, "leading: writing from now on");
                    }
                    self.leadership.set(true);
                    held = Some(lease);
                }
                Ok(None) => {
                    if held.is_some() {
                        self.leadership.set(false);
                        let by = self.api.get_opt(&self.name).await.ok().flatten();
                        let other = by.as_ref().and_then(holder).unwrap_or("nobody").to_string();
                        return Lost::TakenBy(other);
                    }
                }
                Err(e) => {
                    let text = e.to_string();
                    if trouble.as_deref() != Some(text.as_str()) {
                        tracing::warn!(lease = %self.name, error = %text, "cannot read or renew the leader Lease; retrying");
                        trouble = Some(text);
                    }
                }
            }
            // Stop writing before the Lease could have run out unrenewed.
            let remaining = held.as_ref().and_then(|l| l.spec.as_ref()).map(left).unwrap_or(SignedDuration::ZERO);
            let margin = SignedDuration::try_from(self.timings.margin).unwrap_or(SignedDuration::ZERO);
            if held.is_some() && remaining <= margin && self.leadership.may_write() {
                tracing::warn!(lease = %self.name, "the leader Lease could not be renewed in time: not writing until it is");
                self.leadership.set(false);
            }
            let pause = match (&held, trouble.is_some()) {
                (Some(_), false) => {
                    let renew_in = remaining - SignedDuration::try_from(self.timings.renew_before).unwrap_or_default();
                    Duration::try_from(renew_in).unwrap_or(Duration::ZERO).max(self.timings.retry)
                }
                _ => self.timings.retry,
            };
            tokio::time::sleep(pause).await;
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

    #[test]
    fn a_lease_runs_out_its_duration_after_the_last_renewal() {
        let renewed = now();
        let spec =
            LeaseSpec { renew_time: Some(MicroTime(renewed)), lease_duration_seconds: Some(15), ..Default::default() };
        assert_eq!(expiry(&spec), Some(renewed.checked_add(SignedDuration::from_secs(15)).unwrap()));
        assert!(left(&spec) > SignedDuration::from_secs(14));
        assert_eq!(expiry(&LeaseSpec::default()), None, "never renewed: free");
        assert_eq!(left(&LeaseSpec::default()), SignedDuration::ZERO);
    }

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
}
