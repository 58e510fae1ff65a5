//! The Connector client's calls beyond sending, over HTTP against the fake
//! channel, the building blocks of #15. Update and delete of an activity
//! it sent: the message changes or goes for the conversation, and an
//! activity the channel does not hold there (never sent, sent elsewhere,
//! or already deleted) gets Teams' 404 `ActivityNotFoundInConversation` as
//! a typed error. Creating a 1:1 conversation with a user: the same one
//! each time for a user the app is installed for, 403
//! `ForbiddenOperationException` for one without it.

use std::sync::Arc;

use nudge::activity::Activity;
use nudge::connector::token::NoCredentials;
use nudge::connector::{ConnectorClient, ConnectorError, TrustPolicy, TrustSettings};
use nudge::service_url::{Provenance, ServiceUrl};
use nudge_tests::channel::{ChangeKind, FakeChannel};

fn client() -> ConnectorClient {
    ConnectorClient::new(
        ConnectorClient::http_client(),
        Arc::new(NoCredentials),
        TrustPolicy::local(&TrustSettings::default()),
    )
}

fn not_found(result: Result<impl std::fmt::Debug, ConnectorError>) {
    let error = result.expect_err("the channel refuses it");
    assert_eq!(
        (error.status(), error.code()),
        (Some(404), Some("ActivityNotFoundInConversation")),
        "{error}"
    );
}

#[tokio::test]
async fn a_sent_activity_is_updated_in_place_then_deleted() {
    let channel = FakeChannel::start().await;
    let url: ServiceUrl = channel.service_url().parse().unwrap();
    let connector = client();
    let v = Provenance::Verified;
    let sent = connector
        .send_to_conversation(&url, v, "c1", &Activity::message("v1 is live"))
        .await
        .expect("sent");
    let id = sent.id.expect("the channel's activity id");
    connector
        .send_to_conversation(&url, v, "c2", &Activity::message("elsewhere"))
        .await
        .expect("sent");

    let updated = connector
        .update_activity(
            &url,
            v,
            "c1",
            &id,
            &Activity::message("v1 is live (fixed link)"),
        )
        .await
        .expect("updated");
    assert_eq!(updated.id.as_deref(), Some(id.as_str()));
    let shown = channel.shown("c1", &id).expect("still there");
    assert_eq!(shown.text.as_deref(), Some("v1 is live (fixed link)"));

    not_found(
        connector
            .update_activity(&url, v, "c2", &id, &Activity::message("wrong place"))
            .await,
    );
    not_found(
        connector
            .delete_activity(&url, v, "c1", "activity-999")
            .await,
    );

    connector
        .delete_activity(&url, v, "c1", &id)
        .await
        .expect("deleted");
    assert!(channel.shown("c1", &id).is_none(), "taken back");
    not_found(connector.delete_activity(&url, v, "c1", &id).await);
    not_found(
        connector
            .update_activity(&url, v, "c1", &id, &Activity::message("too late"))
            .await,
    );

    let kinds: Vec<bool> = channel
        .changes()
        .iter()
        .map(|c| matches!(c.kind, ChangeKind::Updated(_)))
        .collect();
    assert_eq!(
        kinds,
        [true, false],
        "one update, one delete: the refused ones changed nothing"
    );
    assert_eq!(
        channel.shown("c2", "activity-2").unwrap().text.as_deref(),
        Some("elsewhere")
    );
}

#[tokio::test]
async fn a_conversation_is_created_with_a_user_who_has_the_app_and_refused_for_one_without() {
    let channel = FakeChannel::start().await;
    let url: ServiceUrl = channel.service_url().parse().unwrap();
    let connector = client();
    let v = Provenance::Verified;
    channel.install_for("29:ann");
    let created = connector
        .create_conversation(&url, v, "bot-app-id", "29:ann", "tenant-1")
        .await
        .expect("created");
    assert!(!created.id.is_empty());
    let again = connector
        .create_conversation(&url, v, "bot-app-id", "29:ann", "tenant-1")
        .await
        .expect("created again");
    assert_eq!(again.id, created.id, "the same 1:1 conversation");
    connector
        .send_to_conversation(&url, v, &created.id, &Activity::message("hello Ann"))
        .await
        .expect("sent");
    assert_eq!(channel.texts(&created.id), ["hello Ann"]);

    let error = connector
        .create_conversation(&url, v, "bot-app-id", "29:bob", "tenant-1")
        .await
        .expect_err("the app is not installed for Bob");
    assert_eq!(
        (error.status(), error.code()),
        (Some(403), Some("ForbiddenOperationException")),
        "{error}"
    );
    let created = channel.created();
    assert_eq!(created.len(), 1);
    assert_eq!(
        (
            created[0].member_id.as_str(),
            created[0].tenant_id.as_deref()
        ),
        ("29:ann", Some("tenant-1"))
    );
}
