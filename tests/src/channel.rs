//! A fake Bot Connector channel: a real HTTP server on a random loopback
//! port that accepts the Connector calls nudge makes (send, reply, the
//! update and delete of an activity it accepted, and the creation of a 1:1
//! conversation with a user the app is installed for) and records every
//! activity it receives, so tests can assert on what a user would see.
//! An update or delete of an activity it does not hold in that
//! conversation (or one deleted) is answered as Teams answers it: 404
//! `ActivityNotFoundInConversation`.
//!
//! It can be told to answer with other statuses (fault injection) through
//! [`FakeChannel::respond_with`], per conversation through
//! [`FakeChannel::respond_in`] (also slow answers and dropped connections,
//! see [`faults`]), and to enforce the Teams rate limits.

mod faults;

pub use faults::Fault;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use nudge::activity::Activity;
use serde_json::json;
use tokio::sync::Notify;

/// One activity the channel received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The conversation id from the path, percent-decoded.
    pub conversation_id: String,
    /// The activity id from the path of a reply-to-activity call.
    pub reply_to: Option<String>,
    pub activity: Activity,
    pub authorization: Option<String>,
    /// When the channel accepted it.
    pub arrived: tokio::time::Instant,
}

impl Received {
    pub fn text(&self) -> &str {
        self.activity.text.as_deref().unwrap_or_default()
    }

    /// A proactive send (a new activity), not a reply within a turn.
    pub fn is_proactive(&self) -> bool {
        self.reply_to.is_none()
    }
}

/// A scripted answer: status and JSON body.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub status: u16,
    pub body: serde_json::Value,
    pub headers: Vec<(String, String)>,
}

/// An update or delete of an activity the channel accepted.
#[derive(Debug, Clone)]
pub struct Change {
    pub conversation_id: String,
    pub activity_id: String,
    pub kind: ChangeKind,
    pub arrived: tokio::time::Instant,
}

/// What a [`Change`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeKind {
    /// The activity now reads so.
    Updated(Box<Activity>),
    /// The activity is gone.
    Deleted,
}

/// A team's channel as the channel lists it: its id and name.
type ListedChannel = (String, Option<String>);

/// A conversation the channel created (`POST /v3/conversations`).
#[derive(Debug, Clone)]
pub struct Created {
    pub conversation_id: String,
    pub member_id: String,
    pub tenant_id: Option<String>,
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    changes: Mutex<Vec<Change>>,
    /// Users the app is installed for: only they can be reached by a
    /// created conversation.
    installed_for: Mutex<std::collections::HashSet<String>>,
    created: Mutex<Vec<Created>>,
    /// Each team's channels (`GET /v3/teams/{id}/conversations`): id and
    /// name.
    team_channels: Mutex<std::collections::HashMap<String, Vec<ListedChannel>>>,
    script: Mutex<VecDeque<Scripted>>,
    arrived: Notify,
    faults: faults::Faults,
    /// TCP connections accepted.
    connections: AtomicUsize,
}

pub struct FakeChannel {
    service_url: String,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeChannel {
    pub async fn start() -> FakeChannel {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/v3/conversations", post(create))
            .route("/v3/teams/{team}/conversations", get(team_channels))
            .route("/v3/conversations/{conversation}/activities", post(send))
            .route(
                "/v3/conversations/{conversation}/activities/{activity}",
                post(reply).put(update).delete(delete),
            )
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake channel");
        let addr = listener.local_addr().expect("fake channel address");
        let counted = inner.clone();
        let listener = listener.tap_io(move |_| {
            counted.connections.fetch_add(1, Ordering::Relaxed);
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeChannel {
            service_url: format!("http://{addr}"),
            inner,
            server,
        }
    }

    /// Installs the app for `member_id` (a `29:` id or an Entra object id):
    /// a conversation may then be created with them.
    pub fn install_for(&self, member_id: &str) {
        self.inner
            .installed_for
            .lock()
            .expect("lock")
            .insert(member_id.to_owned());
    }

    /// Gives team `team_id` these channels (id and name), as `GET
    /// /v3/teams/{id}/conversations` lists them.
    pub fn set_team_channels(&self, team_id: &str, channels: &[(&str, Option<&str>)]) {
        let channels = channels
            .iter()
            .map(|(id, name)| ((*id).to_owned(), name.map(str::to_owned)))
            .collect();
        self.inner
            .team_channels
            .lock()
            .expect("lock")
            .insert(team_id.to_owned(), channels);
    }

    /// The conversations it created, in order.
    pub fn created(&self) -> Vec<Created> {
        self.inner.created.lock().expect("lock").clone()
    }

    /// Every update and delete it accepted, in order.
    pub fn changes(&self) -> Vec<Change> {
        self.inner.changes.lock().expect("lock").clone()
    }

    /// What a user sees of the activity `activity_id` in a conversation:
    /// as sent, or as last updated; `None` once deleted (or never sent).
    pub fn shown(&self, conversation_id: &str, activity_id: &str) -> Option<Activity> {
        let sent = self.inner.original(conversation_id, activity_id)?;
        let changes = self.inner.changes.lock().expect("lock");
        changes
            .iter()
            .filter(|c| c.conversation_id == conversation_id && c.activity_id == activity_id)
            .try_fold(sent, |_, change| match &change.kind {
                ChangeKind::Updated(activity) => Some(Activity::clone(activity)),
                ChangeKind::Deleted => None,
            })
    }

    /// The `serviceUrl` activities from this channel carry.
    pub fn service_url(&self) -> &str {
        &self.service_url
    }

    /// How many TCP connections callers opened to the channel.
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::Relaxed)
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().expect("lock").clone()
    }

    /// What one conversation received, in order.
    pub fn in_conversation(&self, conversation_id: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.conversation_id == conversation_id)
            .collect()
    }

    /// Texts of the messages one conversation received, in order.
    pub fn texts(&self, conversation_id: &str) -> Vec<String> {
        self.in_conversation(conversation_id)
            .iter()
            .filter(|r| r.activity.is("message"))
            .map(|r| r.text().to_owned())
            .collect()
    }

    /// How many messages in `conversation_id` contain `needle`.
    pub fn count_containing(&self, conversation_id: &str, needle: &str) -> usize {
        self.texts(conversation_id)
            .iter()
            .filter(|t| t.contains(needle))
            .count()
    }

    /// Waits until an activity matching `matches` has arrived, and returns
    /// it; panics with what did arrive after `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&Received) -> bool,
    ) -> Received {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.inner.arrived.notified();
            if let Some(found) = self.received().into_iter().find(|r| matches(r)) {
                return found;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; the channel received: {:#?}",
                    self.received()
                        .iter()
                        .map(|r| (&r.conversation_id, r.activity.kind.as_deref(), r.text()))
                        .collect::<Vec<_>>()
                );
            }
        }
    }

    /// Waits until an update in `conversation_id` makes an activity read
    /// `needle` (among other text), and returns it.
    pub async fn wait_for_update(
        &self,
        conversation_id: &str,
        needle: &str,
        timeout: Duration,
    ) -> Change {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.inner.arrived.notified();
            let found = self.changes().into_iter().find(|c| {
                c.conversation_id == conversation_id
                    && matches!(&c.kind, ChangeKind::Updated(a)
                        if a.text.as_deref().is_some_and(|t| t.contains(needle)))
            });
            if let Some(found) = found {
                return found;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "timed out after {timeout:?} waiting for an update to `{needle}` in \
                     {conversation_id}; changes: {:#?}",
                    self.changes()
                );
            }
        }
    }

    /// Waits for a message in `conversation_id` whose text contains `needle`.
    pub async fn wait_for_text(
        &self,
        conversation_id: &str,
        needle: &str,
        timeout: Duration,
    ) -> Received {
        let what = format!("`{needle}` in conversation {conversation_id}");
        self.wait_for(&what, timeout, |r| {
            r.conversation_id == conversation_id && r.text().contains(needle)
        })
        .await
    }

    /// Waits for a message in `conversation_id` that contains `needle`,
    /// among those after the first `mark` (a count of [`FakeChannel::texts`]
    /// taken earlier); returns its text.
    pub async fn wait_for_text_after(
        &self,
        conversation_id: &str,
        mark: usize,
        needle: &str,
        timeout: Duration,
    ) -> String {
        let found = || {
            self.texts(conversation_id)
                .into_iter()
                .skip(mark)
                .find(|t| t.contains(needle))
        };
        let what = format!("`{needle}` in conversation {conversation_id} after message {mark}");
        self.wait_for(&what, timeout, |_| found().is_some()).await;
        found().unwrap_or_default()
    }

    /// Answers the next calls with these responses, in order, before going
    /// back to accepting everything.
    pub fn respond_with(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.inner.script.lock().expect("lock").extend(answers);
    }

    /// Meets the next calls to one conversation with these faults, in
    /// order, before going back to accepting.
    pub fn respond_in(&self, conversation_id: &str, faults: impl IntoIterator<Item = Fault>) {
        self.inner.faults.script(conversation_id, faults);
    }

    /// Answers every call only after this long.
    pub fn set_latency(&self, latency: Duration) {
        self.inner.faults.set_latency(latency);
    }

    /// From now on, answers 429 to a send that breaks a Teams limit (per
    /// conversation, or 50 a second for the app in one tenant), as Teams
    /// does.
    pub fn enforce_teams_limits(&self) {
        self.inner.faults.enforce_teams_limits();
    }

    /// How many sends the Teams limits refused.
    pub fn throttled(&self) -> usize {
        self.inner.faults.throttled()
    }

    /// Why each of those sends was refused: the window and the arrivals it
    /// counted, for a failure message.
    pub fn refusals(&self) -> Vec<String> {
        self.inner.faults.refusals()
    }

    /// How many accepted calls were never answered because the caller went
    /// away during the latency (see [`FakeChannel::set_latency`]).
    pub fn unanswered(&self) -> usize {
        self.inner.faults.unanswered()
    }

    /// How many accepted calls are being answered now: sends in flight,
    /// from the caller's side (see [`FakeChannel::set_latency`]).
    pub fn in_flight(&self) -> usize {
        self.inner.faults.answering()
    }

    /// Waits until at least `n` sends are in flight.
    pub async fn until_in_flight(&self, n: usize) {
        while self.in_flight() < n {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
}

impl Drop for FakeChannel {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn send(
    State(inner): State<Arc<Inner>>,
    Path(conversation): Path<String>,
    headers: HeaderMap,
    Json(activity): Json<Activity>,
) -> Response {
    answer(&inner, conversation, None, headers, activity).await
}

async fn reply(
    State(inner): State<Arc<Inner>>,
    Path((conversation, activity_id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(activity): Json<Activity>,
) -> Response {
    answer(&inner, conversation, Some(activity_id), headers, activity).await
}

/// `POST /v3/conversations`: a 1:1 conversation with an installed user
/// (the same one each time, as Teams does), counted against the tenant's
/// limit; 403 `ForbiddenOperationException` for a user without the app,
/// 400 `BadArgument` for a request that names no member or tenant.
async fn create(State(inner): State<Arc<Inner>>, Json(body): Json<serde_json::Value>) -> Response {
    let arrived = tokio::time::Instant::now();
    let member = body["members"][0]["id"].as_str().map(str::to_owned);
    let tenant = body["tenantId"]
        .as_str()
        .or_else(|| body["channelData"]["tenant"]["id"].as_str())
        .map(str::to_owned);
    let (Some(member), Some(_)) = (member, tenant.as_ref()) else {
        return teams_error(
            StatusCode::BAD_REQUEST,
            "BadArgument",
            "members and tenantId are required",
        );
    };
    if body["isGroup"] == true {
        return teams_error(
            StatusCode::BAD_REQUEST,
            "BadArgument",
            "only 1:1 conversations are created here",
        );
    }
    // Counted as a send to the conversation it makes, and to the tenant.
    let conversation_id = format!("a:1:{member}");
    if let Some(refused) = inner
        .refusal(&conversation_id, tenant.as_deref(), arrived)
        .await
    {
        return refused;
    }
    if !inner.installed_for.lock().expect("lock").contains(&member) {
        return teams_error(
            StatusCode::FORBIDDEN,
            "ForbiddenOperationException",
            "Bot is not installed in user's personal scope",
        );
    }
    let mut created = inner.created.lock().expect("lock");
    if !created.iter().any(|c| c.conversation_id == conversation_id) {
        created.push(Created {
            conversation_id: conversation_id.clone(),
            member_id: member,
            tenant_id: tenant,
        });
    }
    (StatusCode::CREATED, Json(json!({ "id": conversation_id }))).into_response()
}

/// `GET /v3/teams/{id}/conversations`: the team's channels; 404
/// `NotFound` for a team it was given none for.
async fn team_channels(State(inner): State<Arc<Inner>>, Path(team): Path<String>) -> Response {
    let teams = inner.team_channels.lock().expect("lock");
    let Some(channels) = teams.get(&team) else {
        return teams_error(StatusCode::NOT_FOUND, "NotFound", "no such team");
    };
    let conversations: Vec<serde_json::Value> = channels
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    (
        StatusCode::OK,
        Json(json!({ "conversations": conversations })),
    )
        .into_response()
}

/// An error as Teams words it.
fn teams_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

async fn update(
    State(inner): State<Arc<Inner>>,
    Path((conversation, activity_id)): Path<(String, String)>,
    Json(activity): Json<Activity>,
) -> Response {
    let kind = ChangeKind::Updated(Box::new(activity));
    change(&inner, conversation, activity_id, kind).await
}

async fn delete(
    State(inner): State<Arc<Inner>>,
    Path((conversation, activity_id)): Path<(String, String)>,
) -> Response {
    change(&inner, conversation, activity_id, ChangeKind::Deleted).await
}

impl Inner {
    /// The answer to a call the conversation's faults or the Teams limits
    /// refuse (a scripted answer, a 429, a dropped connection); `None`
    /// when it goes through.
    async fn refusal(
        &self,
        conversation_id: &str,
        tenant: Option<&str>,
        arrived: tokio::time::Instant,
    ) -> Option<Response> {
        match self.faults.decide(conversation_id, tenant, arrived).await {
            faults::Verdict::Accept => None,
            faults::Verdict::Answer(scripted) => Some(scripted_response(scripted)),
            faults::Verdict::Drop => Some(faults::drop_connection()),
        }
    }

    /// The activity `activity_id` as sent in `conversation_id`, unless it
    /// was deleted since.
    fn original(&self, conversation_id: &str, activity_id: &str) -> Option<Activity> {
        let index: usize = activity_id.strip_prefix("activity-")?.parse().ok()?;
        let received = self.received.lock().expect("lock");
        let sent = received.get(index.checked_sub(1)?)?;
        let deleted = self.changes.lock().expect("lock").iter().any(|c| {
            c.conversation_id == conversation_id
                && c.activity_id == activity_id
                && c.kind == ChangeKind::Deleted
        });
        (sent.conversation_id == conversation_id && !deleted).then(|| sent.activity.clone())
    }
}

/// An update or delete: counted against the conversation's and tenant's
/// limits like a send (the tenant is the original activity's), then
/// applied, or answered 404 as Teams answers for an activity it does not
/// hold there.
async fn change(
    inner: &Inner,
    conversation_id: String,
    activity_id: String,
    kind: ChangeKind,
) -> Response {
    let arrived = tokio::time::Instant::now();
    let Some(original) = inner.original(&conversation_id, &activity_id) else {
        return teams_error(
            StatusCode::NOT_FOUND,
            "ActivityNotFoundInConversation",
            "The activity was not found in the conversation.",
        );
    };
    let tenant = original.tenant_id().map(str::to_owned);
    if let Some(refused) = inner
        .refusal(&conversation_id, tenant.as_deref(), arrived)
        .await
    {
        return refused;
    }
    let body = match kind {
        ChangeKind::Updated(_) => json!({ "id": activity_id }),
        ChangeKind::Deleted => json!({}),
    };
    inner.changes.lock().expect("lock").push(Change {
        conversation_id,
        activity_id,
        kind,
        arrived,
    });
    inner.arrived.notify_waiters();
    inner.faults.answer_after_latency().await;
    (StatusCode::OK, Json(body)).into_response()
}

/// Applies the conversation's faults, then records the activity.
async fn answer(
    inner: &Inner,
    conversation_id: String,
    reply_to: Option<String>,
    headers: HeaderMap,
    activity: Activity,
) -> Response {
    let arrived = tokio::time::Instant::now();
    let tenant = activity.tenant_id().map(str::to_owned);
    if let Some(refused) = inner
        .refusal(&conversation_id, tenant.as_deref(), arrived)
        .await
    {
        return refused;
    }
    let response = record(inner, conversation_id, reply_to, headers, activity);
    inner.faults.answer_after_latency().await;
    response
}

fn record(
    inner: &Inner,
    conversation_id: String,
    reply_to: Option<String>,
    headers: HeaderMap,
    activity: Activity,
) -> Response {
    if let Some(scripted) = inner.script.lock().expect("lock").pop_front() {
        return scripted_response(scripted);
    }
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let id = {
        let mut received = inner.received.lock().expect("lock");
        received.push(Received {
            conversation_id,
            reply_to,
            activity,
            authorization,
            arrived: tokio::time::Instant::now(),
        });
        format!("activity-{}", received.len())
    };
    inner.arrived.notify_waiters();
    (StatusCode::OK, Json(serde_json::json!({ "id": id }))).into_response()
}

fn scripted_response(scripted: Scripted) -> Response {
    let status = StatusCode::from_u16(scripted.status).unwrap_or(StatusCode::OK);
    let mut response = (status, Json(scripted.body)).into_response();
    for (name, value) in scripted.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(name),
            axum::http::HeaderValue::try_from(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
