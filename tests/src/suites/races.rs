//! Races on the [`Store`]: the operations that decide on what they read must
//! let exactly one of many simultaneous callers win.
//!
//! The callers run as concurrent futures on one task, so their requests
//! interleave at every await: against a real backend (DynamoDB) that is
//! real concurrency, since each request is a network round trip. Names are
//! unique per run, so a shared store will do.

use futures::future::join_all;
use jiff::{SignedDuration, Timestamp};
use nudge::ids::{ConversationKey, JobId, NotificationId};
use nudge::store::{DeliveryClaim, DeliveryStatus, Job, JobStatus, Store, TransitionError};

use super::unique;

/// How many callers race.
const RACERS: usize = 16;

/// Of many simultaneous first claims of one delivery, one proceeds and the
/// others find it busy; the record counts one attempt.
pub async fn concurrent_claims_of_one_delivery_let_exactly_one_proceed(store: &dyn Store) {
    let id: NotificationId = unique("race-claim").parse().expect("a notification id");
    let now = Timestamp::now();
    let lease = now + SignedDuration::from_secs(30);
    let claims = join_all((0..RACERS).map(|_| store.begin_delivery(&id, None, now, lease))).await;
    let claims: Vec<DeliveryClaim> = claims
        .into_iter()
        .map(|claim| claim.expect("begin_delivery"))
        .collect();
    let proceeded = claims
        .iter()
        .filter(|c| matches!(c, DeliveryClaim::Proceed(_)))
        .count();
    let busy = claims
        .iter()
        .filter(|c| matches!(c, DeliveryClaim::Busy(_)))
        .count();
    assert_eq!(
        (proceeded, busy),
        (1, RACERS - 1),
        "one claim proceeds, the others are busy"
    );
    let record = store
        .get_delivery(&id)
        .await
        .expect("get_delivery")
        .expect("the claim is stored");
    assert_eq!(
        (record.attempts, record.status),
        (1, DeliveryStatus::Pending),
        "the winning claim is the only attempt counted"
    );
}

/// Of many simultaneous moves of one job out of the same status, one
/// succeeds and the others find it moved.
pub async fn concurrent_transitions_of_one_job_let_exactly_one_succeed(store: &dyn Store) {
    let job = Job {
        id: JobId::generate(),
        owner: ConversationKey::new(&unique("race-job"), "c").expect("a key"),
        status: JobStatus::Running,
        created_at: Timestamp::now(),
        completed_at: None,
        tenant: None,
        log: String::new(),
        created_by: None,
    };
    store.insert_job(&job).await.expect("insert_job");
    let outcomes = join_all((0..RACERS).map(|_| {
        store.transition_job(
            &job.id,
            &[JobStatus::Running],
            JobStatus::Completing,
            Timestamp::now(),
        )
    }))
    .await;
    let succeeded = outcomes.iter().filter(|o| o.is_ok()).count();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Err(TransitionError::WrongState(_))))
        .count();
    assert_eq!(
        (succeeded, refused),
        (1, RACERS - 1),
        "one transition succeeds, the others see the job moved: {outcomes:?}"
    );
}
