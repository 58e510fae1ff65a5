//! The Azure adapters against the port suites, on the Azurite that
//! `scripts/test` starts: the Storage queue and the Table store must
//! behave exactly as the embedded and AWS ones do (one suite per port, for
//! every backend), plus what only they involve: the poison queue the
//! Functions host shares, base64 text, the Table REST client's conditions,
//! keys and transactions, and retention without a TTL.
//!
//! Each test makes its own queue or table, so they run in parallel.

use std::time::Duration;

use nudge::queue::azure::{poison_name, text, AzureQueue};
use nudge::queue::{OutgoingMessage, Queue};
use nudge_tests::azurite;
use nudge_tests::suites::{self, queue::QueueSetup, unique};

/// The queue suite's setup: poisoned after 3 receives, 1 s timings.
const SETUP: QueueSetup = QueueSetup {
    max_receive_count: 3,
    short: Duration::from_secs(1),
};

#[tokio::test]
async fn the_whole_queue_suite_passes_on_azure_storage() {
    let queue = azurite::new_queue(SETUP.max_receive_count).await;
    suites::queue::run_all(&queue, SETUP).await;
}

/// The poison queue as another client (the Functions host, an operator's
/// tool) sees it.
fn poison_of(queue: &AzureQueue) -> AzureQueue {
    AzureQueue::new(
        &azurite::account(),
        &poison_name(queue.name()),
        nudge_tests::http::client(),
        None,
        u32::MAX,
    )
    .expect("a poison queue client")
}

#[tokio::test]
async fn exhausted_and_given_up_messages_arrive_on_the_poison_queue_with_their_reason() {
    let queue = azurite::new_queue(SETUP.max_receive_count).await;
    suites::queue::dead_letters_after_max_receives(&queue, SETUP).await;
    let body = format!("{}:given-up", unique("poison"));
    queue
        .send(vec![OutgoingMessage {
            body: body.clone(),
            delay: Duration::ZERO,
        }])
        .await
        .expect("send");
    let message = queue
        .receive(1, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .expect("receive")
        .pop()
        .expect("the message");
    queue
        .dead_letter(&message, "gave up after 4 attempts: 503")
        .await
        .expect("dead_letter");

    let poisoned = poison_of(&queue)
        .receive(10, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .expect("receive from the poison queue");
    assert_eq!(
        poisoned.len(),
        2,
        "both messages are poisoned: {poisoned:?}"
    );
    let given_up = poisoned
        .iter()
        .find(|m| m.body.contains("given-up"))
        .expect("the given-up message");
    assert!(
        given_up.body.contains("gave up after 4 attempts: 503") && given_up.body.contains(&body),
        "the poison message keeps the body and the reason: {}",
        given_up.body
    );
    let exhausted = poisoned
        .iter()
        .find(|m| m.body.contains("suite-dead-"))
        .expect("the exhausted one");
    assert!(
        exhausted.body.contains("\"reason\":null"),
        "received too often has no reason of the notifier's: {}",
        exhausted.body
    );
}

#[tokio::test]
async fn what_the_functions_host_poisoned_is_redriven_too() {
    let queue = azurite::new_queue(SETUP.max_receive_count).await;
    // The host moves a message's original text, unwrapped.
    let body = format!("{}:from-host", unique("host-poison"));
    poison_of(&queue)
        .send(vec![OutgoingMessage {
            body: body.clone(),
            delay: Duration::ZERO,
        }])
        .await
        .expect("poison a message as the host does");
    assert_eq!(queue.redrive_dead_letters(10).await.expect("redrive"), 1);
    let back = queue
        .receive(1, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .expect("receive");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body, body);
    assert_eq!(back[0].receive_count, 1);
}

#[test]
fn message_text_is_base64_as_the_functions_trigger_reads_it() {
    let body = r#"{"notificationId":"n-1"}"#;
    assert_eq!(text::encode(body), "eyJub3RpZmljYXRpb25JZCI6Im4tMSJ9");
}

mod table_client {
    //! The Table REST client the Table store stands on, against Azurite:
    //! what the store relies on, checked before any part is built on it.

    use nudge::store::azure_table::batch::Write;
    use nudge::store::azure_table::keys;
    use nudge::store::azure_table::rest::{Condition, Entity, TableError};
    use nudge_tests::azurite;

    #[tokio::test]
    async fn writes_are_conditional_on_the_etag_read() {
        let table = azurite::new_table().await;
        let entity = Entity::new("p", "r")
            .with("body", "one")
            .with_i64("revision", 1);
        let etag = table.insert(&entity).await.expect("insert");
        assert!(matches!(
            table.insert(&entity).await,
            Err(TableError::Exists)
        ));

        let read = table.get("p", "r").await.expect("get").expect("there");
        assert_eq!(read.text("body"), Some("one"));
        assert_eq!(read.i64("revision"), Some(1));
        assert_eq!(read.etag.as_deref(), Some(etag.as_str()));

        let two = Entity::new("p", "r").with("body", "two");
        let newer = table
            .replace(&two, Condition::Matches(&etag))
            .await
            .expect("replace at the etag read");
        assert!(
            matches!(
                table.replace(&two, Condition::Matches(&etag)).await,
                Err(TableError::Changed)
            ),
            "a stale etag changes nothing"
        );
        assert!(matches!(
            table.delete("p", "r", Condition::Matches(&etag)).await,
            Err(TableError::Changed)
        ));
        let merged = Entity::new("p", "r").with("extra", "x");
        table
            .merge(&merged, Condition::Matches(&newer))
            .await
            .expect("merge at the current etag");
        let read = table.get("p", "r").await.unwrap().unwrap();
        assert_eq!(
            (read.text("body"), read.text("extra")),
            (Some("two"), Some("x"))
        );
        assert!(matches!(
            table
                .replace(&Entity::new("p", "absent"), Condition::Exists)
                .await,
            Err(TableError::Changed)
        ));
        table
            .delete("p", "r", Condition::None)
            .await
            .expect("delete");
        table
            .delete("p", "r", Condition::None)
            .await
            .expect("deleting what is gone is fine");
        assert!(table.get("p", "r").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn any_text_makes_a_key_that_reads_back() {
        let table = azurite::new_table().await;
        for (n, raw) in [
            "a/b",
            "c\\d",
            "e#f",
            "g?h",
            "it's",
            "50%",
            "~tilde",
            "new\nline",
            "19:x@thread.tacv2;messageid=1",
            "ünï cödé",
        ]
        .into_iter()
        .enumerate()
        {
            let (pk, rk) = (keys::encode(raw), keys::encode(&format!("{raw}-{n}")));
            table
                .insert(&Entity::new(&pk, &rk).with("raw", raw))
                .await
                .unwrap_or_else(|e| panic!("insert {raw:?}: {e}"));
            let read = table
                .get(&pk, &rk)
                .await
                .unwrap_or_else(|e| panic!("get {raw:?}: {e}"))
                .unwrap_or_else(|| panic!("{raw:?} reads back"));
            assert_eq!(read.text("raw"), Some(raw));
            assert_eq!(
                keys::decode(&read.row_key).as_deref(),
                Some(format!("{raw}-{n}").as_str())
            );
            let found = table
                .query_all(&format!("PartitionKey eq {}", keys::literal(&pk)), 10)
                .await
                .expect("query by an escaped key");
            assert_eq!(found.len(), 1, "{raw:?}");
        }
    }

    #[tokio::test]
    async fn queries_page_in_key_order_with_continuations() {
        let table = azurite::new_table().await;
        let writes: Vec<Write> = (0..25)
            .map(|n| Write::Insert(Entity::new("list", format!("{n:03}")).with_i64("n", n)))
            .collect();
        table.transact(&writes).await.expect("insert 25");
        let page = table
            .query("PartitionKey eq 'list' and n ge 5", 7, None)
            .await
            .expect("a page");
        assert_eq!(page.entities.len(), 7);
        assert_eq!(page.entities[0].row_key, "005");
        let next = page.next.expect("a continuation");
        let rest = table
            .query("PartitionKey eq 'list' and n ge 5", 100, Some(&next))
            .await
            .expect("the rest");
        assert_eq!(
            rest.entities.first().map(|e| e.row_key.as_str()),
            Some("012")
        );
        assert_eq!(rest.entities.len(), 13);
        assert!(rest.next.is_none());
        let all = table
            .query_all("PartitionKey eq 'list'", 1000)
            .await
            .expect("all");
        assert_eq!(all.len(), 25);
    }

    #[tokio::test]
    async fn a_transaction_applies_all_or_nothing_and_names_the_failed_write() {
        let table = azurite::new_table().await;
        let etag = table
            .insert(&Entity::new("conv", "count").with_i64("n", 1))
            .await
            .unwrap();
        // A well-formed etag that is no longer the entity's.
        let stale = etag;
        let etag = table
            .replace(
                &Entity::new("conv", "count").with_i64("n", 1),
                Condition::None,
            )
            .await
            .unwrap();
        let failed = table
            .transact(&[
                Write::Insert(Entity::new("conv", "sub~23a")),
                Write::Replace(
                    Entity::new("conv", "count").with_i64("n", 2),
                    Condition::Matches(&stale),
                ),
            ])
            .await
            .expect_err("a stale etag fails the transaction");
        assert_eq!(failed.index, 1);
        assert!(matches!(failed.error, TableError::Changed), "{failed}");
        assert!(
            table.get("conv", "sub~23a").await.unwrap().is_none(),
            "nothing of a failed transaction is applied"
        );

        let absent = table
            .transact(&[
                Write::Insert(Entity::new("conv", "sub~23a")),
                Write::Replace(
                    Entity::new("conv", "count").with_i64("n", 2),
                    Condition::Matches(&etag),
                ),
                Write::Delete {
                    partition_key: "conv".into(),
                    row_key: "absent".into(),
                    condition: Condition::None,
                },
            ])
            .await
            .expect_err("a transaction cannot delete what is absent");
        assert_eq!(absent.index, 2);
        assert!(matches!(absent.error, TableError::Changed), "{absent}");
        assert!(table.get("conv", "sub~23a").await.unwrap().is_none());

        table
            .transact(&[
                Write::Insert(Entity::new("conv", "sub~23a")),
                Write::Replace(
                    Entity::new("conv", "count").with_i64("n", 2),
                    Condition::Matches(&etag),
                ),
            ])
            .await
            .expect("a transaction whose conditions hold applies");
        assert!(table.get("conv", "sub~23a").await.unwrap().is_some());
        assert_eq!(
            table.get("conv", "count").await.unwrap().unwrap().i64("n"),
            Some(2)
        );
        let again = table
            .transact(&[Write::Insert(Entity::new("conv", "sub~23a"))])
            .await
            .expect_err("an insert of what exists fails");
        assert!(matches!(again.error, TableError::Exists));
    }

    #[tokio::test]
    async fn optimistic_increments_from_many_writers_all_count() {
        let table = azurite::new_table().await;
        table
            .insert(&Entity::new("counter", "c").with_i64("n", 0))
            .await
            .unwrap();
        let writers = (0..20).map(|_| {
            let table = table.clone();
            async move {
                loop {
                    let read = table.get("counter", "c").await.unwrap().unwrap();
                    let n = read.i64("n").unwrap();
                    let next = Entity::new("counter", "c").with_i64("n", n + 1);
                    match table
                        .replace(&next, Condition::Matches(read.etag.as_deref().unwrap()))
                        .await
                    {
                        Ok(_) => return,
                        Err(TableError::Changed) => continue,
                        Err(other) => panic!("{other}"),
                    }
                }
            }
        });
        futures::future::join_all(writers).await;
        let read = table.get("counter", "c").await.unwrap().unwrap();
        assert_eq!(read.i64("n"), Some(20));
    }
}

/// One store check per test, each on a table of its own.
macro_rules! store_suite {
    ($($check:ident),* $(,)?) => {
        mod store_suite {
            $(
                #[tokio::test]
                async fn $check() {
                    let store = nudge_tests::azurite::new_store().await;
                    nudge_tests::suites::store::$check(&store).await;
                }
            )*
        }
    };
}

nudge_tests::store_checks!(store_suite);

#[tokio::test]
async fn concurrent_delivery_claims_on_table_storage_let_exactly_one_proceed() {
    let store = azurite::new_store().await;
    suites::races::concurrent_claims_of_one_delivery_let_exactly_one_proceed(&store).await;
}

#[tokio::test]
async fn concurrent_job_transitions_on_table_storage_let_exactly_one_succeed() {
    let store = azurite::new_store().await;
    suites::races::concurrent_transitions_of_one_job_let_exactly_one_succeed(&store).await;
}

/// Table Storage has no TTL: the maintenance tick's purge does its work.
#[tokio::test]
async fn records_past_their_retention_are_purged() {
    suites::retention::records_past_their_retention_are_purged(&azurite::new_store().await).await;
}

#[tokio::test]
async fn a_purge_is_bounded_per_call() {
    suites::retention::a_purge_is_bounded_per_call(&azurite::new_store().await).await;
}

/// A table that is not there (not created yet, or deleted) is an error on
/// every call, never "no such entity" or a lost race.
#[tokio::test]
async fn a_missing_table_is_an_error_not_a_missing_entity() {
    use nudge::store::azure_table::rest::{Condition, Entity, TableClient, TableError};
    let account = azurite::account();
    let table = TableClient::new(
        nudge_tests::http::client(),
        account.table_endpoint.clone(),
        &unique("never").replace(|c: char| !c.is_ascii_alphanumeric(), ""),
        nudge::azure_storage::Credential::for_account(&account, None),
    );
    let missing = |result: Result<(), TableError>, call: &str| match result {
        Err(TableError::Backend(detail)) => {
            assert!(detail.contains("TableNotFound"), "{call}: {detail}")
        }
        other => panic!("{call}: {other:?}"),
    };
    missing(table.get("p", "r").await.map(|_| ()), "get");
    let entity = Entity::new("p", "r");
    missing(
        table.replace(&entity, Condition::None).await.map(|_| ()),
        "replace",
    );
    missing(
        table.merge(&entity, Condition::Exists).await.map(|_| ()),
        "merge",
    );
    missing(table.delete("p", "r", Condition::None).await, "delete");
}
