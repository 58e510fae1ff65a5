//! Property tests for everything that reads untrusted input: many thousands
//! of generated inputs, each checked for "a typed answer, never a panic",
//! and, where a parse succeeds, for the guarantees the parsed type makes.
//!
//! - activities, through the HTTP handler's parse path
//!   ([`nudge::api::parse_activity`]: JSON, then [`Turn::parse`]) and through
//!   the whole router (never a 500);
//! - the command parser ([`Command::parse`]) and the reminder phrase parser
//!   ([`phrase::parse`], then [`ReminderSpec::resolve`]);
//! - the two credential checks: bearer JWTs and webhook signatures.
//!
//! They run in `cargo test` (so in `scripts/test`), a few seconds in all.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use nudge::activity::Activity;
use nudge::api::{self, AppState, Limits};
use nudge::auth::webhook::{Presented, Secret, WebhookPolicy, WebhookSettings};
use nudge::auth::{AuthFailure, BotFrameworkAuth, InboundAuth, InboundSettings, Unauthenticated};
use nudge::bot::command::{parse_tag_name, Command, MAX_RUN_SECONDS};
use nudge::bot::Bot;
use nudge::calendar::Zone;
use nudge::connector::{ConnectorClient, NoCredentials, TrustPolicy, TrustSettings};
use nudge::ids::{check_opaque_id, JobId};
use nudge::queue::embedded::EmbeddedQueue;
use nudge::schedule::{phrase, ReminderSpec};
use nudge::service_url::Provenance;
use nudge::store::sqlite::SqliteStore;
use nudge::turn::Turn;

/// Strings of every kind: any Unicode (control characters included),
/// printable ASCII, empty, and absurdly long.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => any::<String>(),
        4 => "[ -~]{0,24}",
        1 => Just(String::new()),
        1 => (1000usize..1100).prop_map(|n| "x".repeat(n)),
        1 => "[a-z]{1,8}[\u{0}-\u{1f}\u{7f}][a-z]{0,8}",
    ]
    .boxed()
}

/// A value of any JSON type, so typed fields get wrong types too.
fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        text().prop_map(Value::from),
        Just(json!([1, "two"])),
        Just(json!({"nested": {"deep": [null]}})),
    ]
    .boxed()
}

/// A field: mostly a plausible string, sometimes anything, sometimes absent.
fn field(plausible: impl Strategy<Value = String> + 'static) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        5 => plausible.prop_map(|s| Some(Value::from(s))),
        2 => leaf().prop_map(Some),
        1 => Just(None),
    ]
    .boxed()
}

fn service_url() -> BoxedStrategy<String> {
    prop_oneof![
        "http://localhost:[0-9]{1,5}",
        "https://[a-z]{1,10}\\.botframework\\.com/[a-z/]{0,10}",
        "https://smba\\.trafficmanager\\.net/(amer|emea|apac)/",
        Just("file:///etc/passwd".to_owned()),
        Just("https://user:pw@example.com/".to_owned()),
        Just("https://example.com/?q=1#f".to_owned()),
        "[a-z]{1,6}://[ -~]{0,20}",
        text(),
    ]
    .boxed()
}

fn account() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        3 => field(text()).prop_map(|id| Some(id.map_or(json!({}), |id| json!({"id": id, "name": "n"})))),
        1 => leaf().prop_map(Some),
        1 => Just(None),
    ]
    .boxed()
}

prop_compose! {
    /// Activity-shaped JSON: the fields `Turn::parse` looks at, each valid,
    /// malformed, wrongly typed or missing, plus unknown fields.
    fn activity_json()(
        kind in field(prop_oneof!["message", "conversationUpdate", "event", "invoke"].prop_map(String::from).boxed().prop_union(text().boxed())),
        id in field(text()),
        channel in field(prop_oneof![Just("emulator".to_owned()), Just("msteams".to_owned()), text()]),
        conversation in field(text()).prop_map(|id| id.map(|id| json!({"id": id}))),
        url in field(service_url()),
        from in account(),
        recipient in account(),
        message in field(text()),
        extra in prop::collection::vec(("[a-zA-Z]{1,12}", leaf()), 0..4),
    ) -> Value {
        let mut activity = Map::new();
        for (name, value) in [
            ("type", kind), ("id", id), ("channelId", channel), ("conversation", conversation),
            ("serviceUrl", url), ("from", from), ("recipient", recipient), ("text", message),
        ] {
            if let Some(value) = value {
                activity.insert(name.to_owned(), value);
            }
        }
        for (name, value) in extra {
            activity.entry(name).or_insert(value);
        }
        Value::Object(activity)
    }
}

/// What a successfully parsed turn guarantees to everything after it.
fn assert_turn_invariants(turn: &Turn) {
    check_opaque_id("channelId", turn.key.channel_id()).expect("a clean channel id");
    check_opaque_id("conversation.id", turn.key.conversation_id())
        .expect("a clean conversation id");
    assert!(!turn.key.channel_id().contains('#'));
    let url = turn.service_url.as_str();
    assert!(
        url.starts_with("http://") || url.starts_with("https://"),
        "{url}"
    );
    for account in [&turn.activity.from, &turn.activity.recipient]
        .into_iter()
        .flatten()
    {
        if !account.id.is_empty() {
            check_opaque_id("account id", &account.id).expect("a clean account id");
        }
    }
    assert_eq!(turn.provenance, Provenance::Unverified);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6000))]

    #[test]
    fn activity_shaped_json_parses_or_gets_a_400(activity in activity_json()) {
        match api::parse_activity(activity.to_string().as_bytes()) {
            Ok(turn) => assert_turn_invariants(&turn),
            Err(error) => prop_assert_eq!(error.status.as_u16(), 400),
        }
        if let Ok(activity) = serde_json::from_value::<Activity>(activity) {
            if let Ok(turn) = Turn::parse(activity) {
                assert_turn_invariants(&turn);
            }
        }
    }

    #[test]
    fn arbitrary_and_mangled_bytes_get_a_400(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        activity in activity_json(),
        cut in any::<prop::sample::Index>(),
        splice in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        if let Err(error) = api::parse_activity(&bytes) {
            prop_assert_eq!(error.status.as_u16(), 400);
        }
        let mut mangled = activity.to_string().into_bytes();
        let at = cut.index(mangled.len() + 1);
        mangled.splice(at..at, splice);
        match api::parse_activity(&mangled) {
            Ok(turn) => assert_turn_invariants(&turn),
            Err(error) => prop_assert_eq!(error.status.as_u16(), 400),
        }
    }
}

fn said() -> impl Strategy<Value = String> {
    let verb = "(run|RUN|show|done|complete|subscribe|unsubscribe|remind|reminders|cancel|help|<at>bot</at>)";
    prop_oneof![
        any::<String>(),
        (verb, "( job| jobs| reminders)?", " {0,3}", text())
            .prop_map(|(v, n, s, t)| format!("{v}{n}{s}{t}")),
        (verb, any::<i64>()).prop_map(|(v, n)| format!("{v} {n}")),
        (verb, "[a-z0-9]{8}").prop_map(|(v, id)| format!("{v} {id}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn the_command_parser_answers_everything(text in said()) {
        match Command::parse(&text) {
            Command::Run { seconds: Some(s) } => prop_assert!((1..=MAX_RUN_SECONDS).contains(&s)),
            Command::Done(id) => prop_assert_eq!(id.as_str().parse::<JobId>().ok(), Some(id.clone())),
            Command::Subscribe { tag: Some(tag) } | Command::Unsubscribe { tag: Some(tag) } => {
                prop_assert_eq!(parse_tag_name(&tag), Some(tag.clone()))
            }
            _ => {}
        }
    }
}

fn reminder_phrase() -> impl Strategy<Value = String> {
    let unit = "(seconds?|sec|minutes?|min|hours?|hr|days?|weeks?|years?|fortnights)";
    let when = prop_oneof![
        (any::<u64>(), unit).prop_map(|(n, u)| format!("in {n} {u}")),
        ("(an|a|one|zero|-1|1e9)", unit).prop_map(|(n, u)| format!("in {n} {u}")),
        ("[0-9]{1,3}", "[0-9]{0,3}", "(am|pm| pm|AM)?")
            .prop_map(|(h, m, x)| format!("at {h}:{m}{x}")),
        ("(today|tomorrow|yesterday)", "[0-9]{1,2}(:[0-9]{1,2})?")
            .prop_map(|(d, t)| format!("{d} at {t}")),
        ("[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}", "[0-9]{1,2}:[0-9]{2}")
            .prop_map(|(d, t)| format!("on {d} at {t}")),
        (
            "(day|weekday|monday|sun|Tue|fortnight)",
            "[0-9]{1,2}(:[0-9]{1,2})?"
        )
            .prop_map(|(d, t)| format!("every {d} at {t}")),
        (proptest::option::of(any::<u64>()), unit).prop_map(|(n, u)| format!(
            "every {} {u}",
            n.map(|n| n.to_string()).unwrap_or_default()
        )),
        text(),
    ];
    prop_oneof![
        1 => any::<String>(),
        6 => ("(me|ME|you)", when, "( to)?", text()).prop_map(|(me, w, to, t)| format!("{me} {w}{to} {t}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn the_reminder_parser_answers_everything_and_resolves_only_possible_times(
        phrase_text in reminder_phrase(),
        seconds in 0i64..4_000_000_000,
        berlin in any::<bool>(),
    ) {
        let Ok(request) = phrase::parse(&phrase_text) else { return Ok(()) };
        prop_assert!(!request.text.trim().is_empty());
        prop_assert!(request.text.chars().count() <= phrase::MAX_TEXT_CHARS);
        let zone = if berlin { Zone::parse("Europe/Berlin").expect("a zone") } else { Zone::utc() };
        let now = Timestamp::from_second(seconds).expect("an instant");
        if let Ok(spec) = ReminderSpec::resolve(request, zone.clone(), now) {
            prop_assert!(spec.first_due <= zone.a_year_after(now));
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// The router of a host that trusts no service URL at all, so no request
/// ever leaves the test.
fn router(dir: &std::path::Path) -> axum::Router {
    let store = Arc::new(SqliteStore::open(&dir.join("store.db")).expect("store"));
    let queue = Arc::new(EmbeddedQueue::open(&dir.join("queue.db"), 10).expect("queue"));
    let nothing = TrustSettings {
        hosts: Some(Vec::new()),
    };
    let connector = ConnectorClient::new(
        ConnectorClient::http_client(),
        Arc::new(NoCredentials),
        TrustPolicy::cloud(&nothing),
    );
    let state = AppState {
        bot: Arc::new(Bot::new(store.clone(), queue.clone())),
        limiter: Arc::new(nudge::delivery::Limiter::new(
            store.clone(),
            nudge::rate::RateLimits::default(),
        )),
        store,
        queue,
        channel: Arc::new(connector),
        inbound: Arc::new(Unauthenticated),
        limits: Limits::default(),
        teams: nudge::reach::TeamsSettings::default(),
    };
    api::with_fallbacks(api::router(state))
}

/// The router's data directory, removed when the test thread ends.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("nudge-prop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn the_messages_route_never_answers_500(
        activity in activity_json(),
        raw in prop::collection::vec(any::<u8>(), 0..200),
        use_raw in any::<bool>(),
        path in prop_oneof![Just("/api/messages"), Just("/api/messages"), Just("/healthz"), Just("/nope")],
    ) {
        thread_local! {
            static HOST: (tokio::runtime::Runtime, axum::Router, TempDir) = {
                let dir = TempDir::new();
                let rt = runtime();
                let router = rt.block_on(async { router(&dir.0) });
                (rt, router, dir)
            };
        }
        let body = if use_raw { raw } else { activity.to_string().into_bytes() };
        let status = HOST.with(|(rt, router, _)| {
            let request = axum::http::Request::post(path)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .expect("a request");
            rt.block_on(router.clone().oneshot(request)).expect("infallible").status()
        });
        prop_assert!(
            [200, 400, 404, 405].contains(&status.as_u16()),
            "{} answered {}", path, status
        );
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn bearer() -> impl Strategy<Value = String> {
    let header = (
        prop_oneof![Just("RS256"), Just("none"), Just("HS256"), Just("ES256")],
        proptest::option::of(text()),
    )
        .prop_map(|(alg, kid)| json!({"alg": alg, "typ": "JWT", "kid": kid}));
    let claims = (
        prop_oneof![
            Just(Value::from("https://api.botframework.com")),
            Just(Value::from(
                "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"
            )),
            leaf(),
        ],
        leaf(),
        leaf(),
    )
        .prop_map(|(iss, aud, exp)| json!({"iss": iss, "aud": aud, "exp": exp}));
    prop_oneof![
        any::<String>(),
        ("(Bearer|bearer|Basic) ", text()).prop_map(|(s, t)| format!("{s}{t}")),
        (header, claims, "[A-Za-z0-9_-]{0,40}").prop_map(|(h, c, sig)| format!(
            "Bearer {}.{}.{sig}",
            b64(&h),
            b64(&c)
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn forged_bearer_tokens_are_refused_without_a_panic(authorization in bearer()) {
        thread_local! {
            static AUTH: (tokio::runtime::Runtime, BotFrameworkAuth, Turn) = {
                // Keys live nowhere: a token good enough to need them gets a 503.
                let dead = "http://127.0.0.1:9/metadata".to_owned();
                let settings = InboundSettings {
                    channel_metadata_url: dead.clone(),
                    emulator_metadata_url: dead,
                    ..InboundSettings::default()
                };
                let auth = BotFrameworkAuth::new("app", None, &settings, &ConnectorClient::http_client());
                let activity = json!({"type": "message", "channelId": "msteams",
                    "serviceUrl": "https://smba.trafficmanager.net/amer/", "conversation": {"id": "c"}});
                let turn = api::parse_activity(activity.to_string().as_bytes()).expect("a turn");
                (runtime(), auth, turn)
            };
        }
        let result = AUTH.with(|(rt, auth, turn)| rt.block_on(auth.authenticate(Some(&authorization), turn)));
        prop_assert!(
            matches!(result, Err(AuthFailure::Unauthorized(_) | AuthFailure::Unavailable(_))),
            "{:?}", result
        );
    }

    #[test]
    fn webhook_checks_refuse_what_they_cannot_verify(
        authorization in proptest::option::of(text()),
        timestamp in proptest::option::of(prop_oneof!["[0-9]{1,12}", text()]),
        signature in proptest::option::of(prop_oneof!["sha256=[0-9a-f]{0,70}", text()]),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let policy = WebhookPolicy::required(&WebhookSettings {
            secrets: vec![Secret::new("a-secret-of-sixteen-chars")],
            api_keys: vec![Secret::new("an-api-key-of-sixteen-chars")],
            ..WebhookSettings::default()
        }).expect("credentials");
        let presented = Presented {
            method: "POST",
            target: "/api/notify",
            authorization: authorization.as_deref(),
            timestamp: timestamp.as_deref(),
            signature: signature.as_deref(),
        };
        prop_assert!(policy.check(&presented, &body, Timestamp::now()).is_err());
    }
}
