//! The seeds' job sample across conversations, within one tenant and never
//! across tenants: `show` lists the jobs of the asker's scope and `done`
//! completes only those; a setting narrows the scope to the job's own
//! conversation.

use std::time::Duration;

use nudge_tests::channel::FakeChannel;
use nudge_tests::client::BotClient;
use nudge_tests::host::{base_url, settings_with, start_in_process, DataDir};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

struct Teams {
    channel: FakeChannel,
    client: BotClient,
}

impl Teams {
    /// A message in `conversation` of `tenant`; the tenant is named where
    /// Teams names it (`conversation.tenantId`), or only in `channelData`.
    fn message(&self, conversation: &str, tenant: Option<&str>, text: &str) -> Value {
        let mut activity = self.client.message(conversation, text);
        match tenant {
            Some(t) if t.starts_with("cd:") => {
                activity["channelData"] = json!({"tenant": {"id": &t[3..]}});
            }
            Some(t) => activity["conversation"]["tenantId"] = json!(t),
            None => {}
        }
        activity
    }

    async fn ask(
        &self,
        conversation: &str,
        tenant: Option<&str>,
        text: &str,
        expect: &str,
    ) -> String {
        let mark = self.channel.texts(conversation).len();
        let (status, body) = self
            .client
            .post_activity(&self.message(conversation, tenant, text))
            .await;
        assert_eq!(status, 200, "{body}");
        self.channel
            .wait_for_text_after(conversation, mark, expect, WAIT)
            .await
    }

    /// `done {job}` from `conversation`, then the completion in `owner`.
    async fn complete(&self, conversation: &str, tenant: Option<&str>, job: &str, owner: &str) {
        self.ask(
            conversation,
            tenant,
            &format!("done {job}"),
            "Completing job",
        )
        .await;
        self.channel
            .wait_for_text(owner, &format!("Job {job} is complete."), WAIT)
            .await;
    }

    async fn run(&self, conversation: &str, tenant: Option<&str>) -> String {
        let started = self
            .ask(conversation, tenant, "run", "We're starting job")
            .await;
        started
            .split_whitespace()
            .nth(3)
            .expect("the job id")
            .to_owned()
    }
}

async fn start(name: &str, env: &[(&str, String)]) -> (Teams, nudge::local::LocalHost, DataDir) {
    let data = DataDir::new(name);
    let channel = FakeChannel::start().await;
    let host = start_in_process(&settings_with(data.path(), env)).await;
    let client = BotClient::new(base_url(&host), channel.service_url());
    (Teams { channel, client }, host, data)
}

#[tokio::test]
async fn jobs_are_seen_and_completed_within_a_tenant_only() {
    let (t, host, _data) = start("jobs-tenant", &[]).await;
    let job = t.run("a", Some("tenant-1")).await;

    // Another organisation neither sees nor completes it.
    let log = t.ask("b", Some("tenant-2"), "show", "job log").await;
    assert!(!log.contains(&job), "{log}");
    assert_eq!(log, "The job log is empty.");
    let refused = t
        .ask(
            "b",
            Some("tenant-2"),
            &format!("done {job}"),
            "There is no job",
        )
        .await;
    assert!(refused.contains(&job));
    let no_tenant = t
        .ask("e", None, &format!("done {job}"), "There is no job")
        .await;
    assert!(no_tenant.contains(&job));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !t.channel
            .texts("a")
            .iter()
            .any(|m| m.contains("is complete")),
        "nothing was pushed into tenant 1's chat"
    );

    // A colleague in the same tenant (named only in channelData) does.
    let log = t.ask("c", Some("cd:tenant-1"), "show", "Job log").await;
    assert!(log.contains(&job), "{log}");
    t.complete("c", Some("cd:tenant-1"), &job, "a").await;

    // Conversations without a tenant (the Emulator's) form one scope.
    let local = t.run("d", None).await;
    let log = t.ask("e", None, "show", "Job log").await;
    assert!(log.contains(&local) && !log.contains(&job), "{log}");
    t.complete("e", None, &local, "d").await;
    host.stop().await;
}

#[tokio::test]
async fn the_job_event_is_scoped_too() {
    let (t, host, _data) = start("jobs-event", &[]).await;
    let job = t.run("a", Some("tenant-1")).await;
    let completion = |conversation, tenant| {
        let mut event = t.message(conversation, Some(tenant), "");
        event["type"] = json!("event");
        event["name"] = json!("jobComplete");
        event["value"] = json!(job);
        event
    };
    assert_eq!(
        t.client.post_activity(&completion("b", "tenant-2")).await.0,
        200
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!t
        .channel
        .texts("a")
        .iter()
        .any(|m| m.contains("is complete")));
    assert_eq!(
        t.client.post_activity(&completion("c", "tenant-1")).await.0,
        200
    );
    t.channel
        .wait_for_text("a", &format!("Job {job} is complete."), WAIT)
        .await;
    host.stop().await;
}

#[tokio::test]
async fn the_scope_can_be_narrowed_to_the_jobs_own_conversation() {
    let (t, host, _data) = start(
        "jobs-conversation",
        &[("NUDGE_JOB_SCOPE", "conversation".to_owned())],
    )
    .await;
    let job = t.run("a", Some("tenant-1")).await;
    let log = t.ask("c", Some("tenant-1"), "show", "job log").await;
    assert_eq!(log, "The job log is empty.");
    t.ask(
        "c",
        Some("tenant-1"),
        &format!("done {job}"),
        "There is no job",
    )
    .await;
    let log = t.ask("a", Some("tenant-1"), "show", "Job log").await;
    assert!(log.contains(&job), "{log}");
    t.complete("a", Some("tenant-1"), &job, "a").await;
    host.stop().await;
}
