//! The notifier on the in-memory store and queue, sending through a channel
//! of the test's own ([`Channel`]): outcomes, retries and hooks without an
//! HTTP server. The end-to-end suite (`tests/src/delivery.rs`) sends the
//! same way through the real client to a fake channel over HTTP.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use super::{BeforeSend, DeliveryHook, Disposition, Notifier, NotifierSettings};
use crate::activity::Activity;
use crate::clock::ManualClock;
use crate::connector::{
    Channel, ConnectorError, CreatedConversation, ResourceResponse, TeamChannelInfo,
};
use crate::ids::ConversationKey;
use crate::notification::{Notification, Operation, Reason};
use crate::queue::embedded::EmbeddedQueue;
use crate::rate::RateLimits;
use crate::reach::TeamsSettings;
use crate::service_url::{Provenance, ServiceUrl};
use crate::store::prelude::*;
use crate::store::sqlite::SqliteStore;
use crate::store::{DeliveryRecord, DeliveryStatus, StoreError, StoredReference};

/// A channel that answers from a script (then accepts) and keeps what it
/// was sent.
#[derive(Default)]
struct ScriptedChannel {
    answers: Mutex<VecDeque<ConnectorError>>,
    sent: Mutex<Vec<(String, Activity)>>,
    /// Updates and deletes: the conversation, the activity id, and the
    /// new activity (`None`: deleted).
    changed: Mutex<Vec<(String, String, Option<Activity>)>>,
    /// Conversations created: the bot, the member and the tenant.
    created: Mutex<Vec<(String, String, String)>>,
}

impl ScriptedChannel {
    fn failing_with(errors: impl IntoIterator<Item = ConnectorError>) -> ScriptedChannel {
        ScriptedChannel {
            answers: Mutex::new(errors.into_iter().collect()),
            ..ScriptedChannel::default()
        }
    }

    fn sent(&self) -> Vec<(String, Activity)> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl Channel for ScriptedChannel {
    async fn send_activity(
        &self,
        _service_url: &ServiceUrl,
        _provenance: Provenance,
        conversation_id: &str,
        activity: &Activity,
    ) -> Result<ResourceResponse, ConnectorError> {
        if let Some(error) = self.answers.lock().unwrap().pop_front() {
            return Err(error);
        }
        self.sent
            .lock()
            .unwrap()
            .push((conversation_id.to_owned(), activity.clone()));
        Ok(ResourceResponse {
            id: Some(format!("activity-{}", self.sent.lock().unwrap().len())),
            status: 201,
        })
    }

    async fn update_activity(
        &self,
        _service_url: &ServiceUrl,
        _provenance: Provenance,
        conversation_id: &str,
        activity_id: &str,
        activity: &Activity,
    ) -> Result<ResourceResponse, ConnectorError> {
        self.change(conversation_id, activity_id, Some(activity.clone()))
    }

    async fn delete_activity(
        &self,
        _service_url: &ServiceUrl,
        _provenance: Provenance,
        conversation_id: &str,
        activity_id: &str,
    ) -> Result<ResourceResponse, ConnectorError> {
        self.change(conversation_id, activity_id, None)
    }

    async fn create_conversation(
        &self,
        _service_url: &ServiceUrl,
        _provenance: Provenance,
        bot_id: &str,
        member_id: &str,
        tenant_id: &str,
    ) -> Result<CreatedConversation, ConnectorError> {
        if let Some(error) = self.answers.lock().unwrap().pop_front() {
            return Err(error);
        }
        self.created.lock().unwrap().push((
            bot_id.to_owned(),
            member_id.to_owned(),
            tenant_id.to_owned(),
        ));
        Ok(CreatedConversation {
            id: format!("a:{member_id}"),
            activity_id: None,
            service_url: None,
        })
    }

    async fn team_channels(
        &self,
        _service_url: &ServiceUrl,
        _provenance: Provenance,
        _team_id: &str,
    ) -> Result<Vec<TeamChannelInfo>, ConnectorError> {
        Ok(Vec::new())
    }
}

impl ScriptedChannel {
    fn change(
        &self,
        conversation_id: &str,
        activity_id: &str,
        activity: Option<Activity>,
    ) -> Result<ResourceResponse, ConnectorError> {
        if let Some(error) = self.answers.lock().unwrap().pop_front() {
            return Err(error);
        }
        self.changed.lock().unwrap().push((
            conversation_id.to_owned(),
            activity_id.to_owned(),
            activity,
        ));
        Ok(ResourceResponse {
            id: None,
            status: 200,
        })
    }
}

/// A hook that refuses notifications whose text says so, and keeps the
/// outcomes it is told of.
#[derive(Default)]
struct Recorder {
    outcomes: Mutex<Vec<DeliveryStatus>>,
}

#[async_trait]
impl DeliveryHook for Recorder {
    async fn before_send(
        &self,
        notification: &Notification,
        _now: Timestamp,
    ) -> Result<BeforeSend, StoreError> {
        Ok(match notification.activity.text.as_deref() {
            Some("refuse me") => BeforeSend::Refuse("the hook said no".into()),
            _ => BeforeSend::Send,
        })
    }

    async fn after_outcome(
        &self,
        _notification: &Notification,
        record: &DeliveryRecord,
    ) -> Result<(), StoreError> {
        self.outcomes.lock().unwrap().push(record.status);
        Ok(())
    }
}

struct Setup {
    notifier: Notifier,
    store: Arc<SqliteStore>,
    channel: Arc<ScriptedChannel>,
    hook: Arc<Recorder>,
    key: ConversationKey,
}

async fn setup(channel: ScriptedChannel) -> Setup {
    setup_with(channel, TeamsSettings::default()).await
}

async fn setup_with(channel: ScriptedChannel, teams: TeamsSettings) -> Setup {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let queue = Arc::new(EmbeddedQueue::in_memory(10).unwrap());
    let channel = Arc::new(channel);
    let hook = Arc::new(Recorder::default());
    let key = ConversationKey::new("test", "conversation-1").unwrap();
    let reference =
        StoredReference::minimal(&key, "https://channel.example/", Provenance::Verified);
    store.save_reference(&reference).await.unwrap();
    let settings = NotifierSettings {
        max_attempts: 2,
        rate_limits: RateLimits::off(),
        teams,
        ..NotifierSettings::default()
    };
    let notifier = Notifier::new(store.clone(), queue, channel.clone(), settings)
        .with_clock(Arc::new(ManualClock::new(Timestamp::now())))
        .with_hook(hook.clone());
    Setup {
        notifier,
        store,
        channel,
        hook,
        key,
    }
}

fn notification(key: &ConversationKey, text: &str) -> Notification {
    Notification::to_conversation(key.clone(), Activity::message(text), Reason::Webhook)
}

fn status(status: u16, retry_after: Option<&str>) -> ConnectorError {
    ConnectorError::from_response(status, retry_after, b"{}")
}

#[tokio::test]
async fn a_notification_is_sent_once_and_its_duplicate_dropped() {
    let s = setup(ScriptedChannel::default()).await;
    let n = notification(&s.key, "hello");
    assert_eq!(s.notifier.deliver(&n).await.unwrap(), Disposition::Done);
    assert_eq!(s.notifier.deliver(&n).await.unwrap(), Disposition::Done);
    let sent = s.channel.sent();
    assert_eq!(sent.len(), 1, "sent once");
    assert_eq!(sent[0].0, "conversation-1");
    assert_eq!(sent[0].1.text.as_deref(), Some("hello"));
    let record = s.store.get_delivery(&n.id).await.unwrap().unwrap();
    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(record.activity_id.as_deref(), Some("activity-1"));
    assert_eq!(*s.hook.outcomes.lock().unwrap(), [DeliveryStatus::Sent]);
}

#[tokio::test]
async fn a_hook_that_refuses_keeps_the_message_from_the_chat() {
    let s = setup(ScriptedChannel::default()).await;
    let n = notification(&s.key, "refuse me");
    assert_eq!(s.notifier.deliver(&n).await.unwrap(), Disposition::Done);
    assert!(s.channel.sent().is_empty(), "nothing reached the chat");
    let record = s.store.get_delivery(&n.id).await.unwrap().unwrap();
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.last_error.as_deref(), Some("the hook said no"));
    assert_eq!(*s.hook.outcomes.lock().unwrap(), [DeliveryStatus::Failed]);
}

#[tokio::test]
async fn a_throttled_send_waits_as_told_then_gives_up_after_its_attempts() {
    let s = setup(ScriptedChannel::failing_with([
        status(429, Some("7")),
        status(503, None),
    ]))
    .await;
    let n = notification(&s.key, "busy");
    assert_eq!(
        s.notifier.deliver(&n).await.unwrap(),
        Disposition::RetryAfter(Duration::from_secs(7)),
        "Retry-After is obeyed"
    );
    let record = s.store.get_delivery(&n.id).await.unwrap().unwrap();
    assert_eq!(record.status, DeliveryStatus::Retrying);
    assert!(s.hook.outcomes.lock().unwrap().is_empty(), "no outcome yet");
    let Disposition::DeadLetter(why) = s.notifier.deliver(&n).await.unwrap() else {
        panic!("the second of two attempts dead-letters");
    };
    assert!(why.contains("gave up after 2 attempts"), "{why}");
    assert!(s.channel.sent().is_empty());
    assert_eq!(*s.hook.outcomes.lock().unwrap(), [DeliveryStatus::Failed]);
}

#[tokio::test]
async fn a_user_who_blocked_the_bot_is_not_tried_again() {
    let blocked = br#"{"error": {"code": "ConversationBlockedByUser", "message": "blocked"}}"#;
    let s = setup(ScriptedChannel::failing_with([
        ConnectorError::from_response(403, None, blocked),
    ]))
    .await;
    let first = notification(&s.key, "one");
    assert_eq!(s.notifier.deliver(&first).await.unwrap(), Disposition::Done);
    let record = s.store.get_delivery(&first.id).await.unwrap().unwrap();
    assert_eq!(record.status, DeliveryStatus::Blocked);
    let reference = s.store.get_reference(&s.key).await.unwrap().unwrap();
    assert!(!reference.active, "the conversation is deactivated");
    let second = notification(&s.key, "two");
    assert_eq!(
        s.notifier.deliver(&second).await.unwrap(),
        Disposition::Done
    );
    let record = s.store.get_delivery(&second.id).await.unwrap().unwrap();
    assert_eq!(record.status, DeliveryStatus::Blocked);
    assert!(s.channel.sent().is_empty(), "no send to a blocked user");
}

#[tokio::test]
async fn an_update_and_a_delete_change_the_message_sent_and_keep_its_id() {
    let s = setup(ScriptedChannel::default()).await;
    let mut edit = notification(&s.key, "fixed");
    edit.operation = Operation::Update {
        activity_id: "activity-7".into(),
    };
    assert_eq!(s.notifier.deliver(&edit).await.unwrap(), Disposition::Done);
    let mut recall = notification(&s.key, "");
    recall.operation = Operation::Delete {
        activity_id: "activity-7".into(),
    };
    assert_eq!(
        s.notifier.deliver(&recall).await.unwrap(),
        Disposition::Done
    );
    let changed = s.channel.changed.lock().unwrap().clone();
    assert_eq!(changed.len(), 2);
    let (conversation, id, activity) = &changed[0];
    assert_eq!(
        (conversation.as_str(), id.as_str()),
        ("conversation-1", "activity-7")
    );
    let activity = activity.as_ref().expect("an update carries the activity");
    assert_eq!(activity.text.as_deref(), Some("fixed"));
    assert_eq!(
        activity.id.as_deref(),
        Some("activity-7"),
        "the activity names itself"
    );
    assert_eq!(changed[1].2, None, "a delete carries none");
    assert!(s.channel.sent().is_empty(), "nothing new was sent");
    for n in [&edit, &recall] {
        let record = s.store.get_delivery(&n.id).await.unwrap().unwrap();
        assert_eq!(record.status, DeliveryStatus::Sent);
        assert_eq!(record.activity_id.as_deref(), Some("activity-7"));
    }
}

#[tokio::test]
async fn a_message_already_gone_fails_its_change_and_leaves_the_conversation_active() {
    let gone = br#"{"error": {"code": "ActivityNotFoundInConversation", "message": "not found"}}"#;
    let s = setup(ScriptedChannel::failing_with([
        ConnectorError::from_response(404, None, gone),
    ]))
    .await;
    let mut recall = notification(&s.key, "");
    recall.operation = Operation::Delete {
        activity_id: "activity-1".into(),
    };
    assert_eq!(
        s.notifier.deliver(&recall).await.unwrap(),
        Disposition::Done
    );
    let record = s.store.get_delivery(&recall.id).await.unwrap().unwrap();
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.attempts, 1, "not retried");
    assert!(record
        .last_error
        .unwrap()
        .contains("ActivityNotFoundInConversation"));
    let stored = s.store.get_reference(&s.key).await.unwrap().unwrap();
    assert!(stored.active, "the conversation is still there");
}

/// Reaches tenants nudge has no conversation in at a default URL, as
/// `28:app`.
fn teams_default() -> TeamsSettings {
    TeamsSettings {
        service_url: Some("https://smba.trafficmanager.net/teams/".parse().unwrap()),
        bot_id: Some("28:app".into()),
    }
}

const AAD: &str = "00000000-0000-0000-0000-0000000000a1";

fn to_member(member_id: &str, text: &str) -> Notification {
    Notification {
        target: crate::notification::Target::Member {
            tenant_id: "tenant-1".into(),
            member_id: member_id.into(),
        },
        ..notification(&ConversationKey::new("test", "unused").unwrap(), text)
    }
}

#[tokio::test]
async fn a_user_who_never_wrote_gets_a_conversation_once_then_the_messages() {
    let s = setup_with(ScriptedChannel::default(), teams_default()).await;
    let first = to_member(AAD, "hello");
    assert_eq!(s.notifier.deliver(&first).await.unwrap(), Disposition::Done);
    let created = s.channel.created.lock().unwrap().clone();
    assert_eq!(
        created,
        [("28:app".to_owned(), AAD.to_owned(), "tenant-1".to_owned())]
    );
    let key = ConversationKey::new("msteams", &format!("a:{AAD}")).unwrap();
    let record = s.store.get_delivery(&first.id).await.unwrap().unwrap();
    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(record.conversation.as_ref(), Some(&key));
    assert_eq!(
        record.attempts, 1,
        "the creation is not an attempt of its own"
    );
    let stored = s.store.get_reference(&key).await.unwrap().unwrap();
    assert!(stored.active);
    assert_eq!(stored.tenant_id(), Some("tenant-1"));

    let second = to_member(AAD, "again");
    assert_eq!(
        s.notifier.deliver(&second).await.unwrap(),
        Disposition::Done
    );
    assert_eq!(s.channel.created.lock().unwrap().len(), 1, "created once");
    let sent = s.channel.sent();
    assert_eq!(sent.len(), 2);
    assert!(sent
        .iter()
        .all(|(conversation, _)| conversation == &format!("a:{AAD}")));
}

#[tokio::test]
async fn a_user_without_the_app_is_blocked_not_retried() {
    let refused = ConnectorError::from_response(
        403,
        None,
        br#"{"error":{"code":"ForbiddenOperationException","message":"not installed"}}"#,
    );
    let s = setup_with(ScriptedChannel::failing_with([refused]), teams_default()).await;
    let n = to_member("29:bob", "hello");
    assert_eq!(s.notifier.deliver(&n).await.unwrap(), Disposition::Done);
    let record = s.store.get_delivery(&n.id).await.unwrap().unwrap();
    assert_eq!(record.status, DeliveryStatus::Blocked);
    assert_eq!(record.status_codes, [403]);
    let why = record.last_error.unwrap();
    assert!(
        why.contains("29:bob") && why.contains("ForbiddenOperationException"),
        "{why}"
    );
    assert!(s.channel.sent().is_empty());
    assert_eq!(s.notifier.deliver(&n).await.unwrap(), Disposition::Done);
    assert!(
        s.channel.created.lock().unwrap().is_empty(),
        "not asked again"
    );
}

#[tokio::test]
async fn a_tenant_is_reached_as_its_stored_conversations_say_else_not_at_all() {
    let s = setup(ScriptedChannel::default()).await;
    let n = to_member(AAD, "hello");
    assert_eq!(s.notifier.deliver(&n).await.unwrap(), Disposition::Done);
    let record = s.store.get_delivery(&n.id).await.unwrap().unwrap();
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert!(record
        .last_error
        .unwrap()
        .contains("NUDGE_TEAMS_SERVICE_URL is not set"));

    let tenant = crate::store::DirectoryEntry::Tenant(crate::store::TenantRecord {
        tenant_id: "tenant-1".into(),
        service_url: "https://smba.trafficmanager.net/emea/".into(),
        provenance: Provenance::Verified,
        bot_id: Some("28:seen-in-tenant".into()),
        seen: Timestamp::now(),
    });
    s.store.put_directory_entries(&[tenant]).await.unwrap();
    let n = to_member(AAD, "hello again");
    assert_eq!(s.notifier.deliver(&n).await.unwrap(), Disposition::Done);
    assert_eq!(
        s.channel.created.lock().unwrap()[0].0,
        "28:seen-in-tenant",
        "the bot's id as the tenant's conversations name it"
    );
    let key = ConversationKey::new("msteams", &format!("a:{AAD}")).unwrap();
    let stored = s.store.get_reference(&key).await.unwrap().unwrap();
    assert_eq!(
        stored.reference.service_url.as_deref(),
        Some("https://smba.trafficmanager.net/emea/")
    );
    assert_eq!(stored.provenance, Provenance::Verified);
}
