//! Inbound authentication end to end: a local host with an app id, a fake
//! OpenID server with its own keys, and every way a token can be wrong.

use std::time::Duration;

use nudge::activity::Activity;
use nudge::auth::{AuthFailure, BotFrameworkAuth, InboundAuth};
use nudge::ids::ConversationKey;
use nudge::service_url::Provenance;
use nudge::turn::Turn;
use nudge_tests::client::BotClient;
use nudge_tests::openid::{
    channel_bearer, channel_claims, emulator_bearer, emulator_claims_v1, emulator_claims_v2,
    hs256_with_public_key, now_plus, tampered, unsigned_token, Family, OpenIdServer, TestKey,
    APP_ID, CHANNEL_KID, EMULATOR_KID, SLACK_ONLY_KID,
};
use nudge_tests::secured::SecuredHarness;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().expect("an object") {
        if v.is_null() {
            claims.as_object_mut().expect("an object").remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

async fn stored_provenance(s: &SecuredHarness, conversation: &str) -> Option<Provenance> {
    let key = ConversationKey::new("emulator", conversation).expect("key");
    s.host
        .store()
        .get_reference(&key)
        .await
        .expect("store")
        .map(|r| r.provenance)
}

#[tokio::test]
async fn channel_and_emulator_tokens_are_accepted_and_replies_carry_the_bot_token() {
    let s = SecuredHarness::start("auth-valid", &[]).await;
    let url = s.channel.service_url().to_owned();

    let (status, _) = s
        .client
        .post_activity_as(
            &s.client.message("from-channel", "help"),
            &channel_bearer(&url),
        )
        .await;
    assert_eq!(status, 200);
    let reply = s
        .channel
        .wait_for_text("from-channel", "Here's what you can say", WAIT)
        .await;
    assert_eq!(reply.authorization.as_deref(), Some("Bearer token-1"));
    assert_eq!(
        stored_provenance(&s, "from-channel").await,
        Some(Provenance::Verified)
    );

    for (conversation, authorization) in [
        ("emulator-v1", emulator_bearer()),
        (
            "emulator-v2",
            bearer(&TestKey::main().sign(EMULATOR_KID, &emulator_claims_v2())),
        ),
    ] {
        let (status, _) = s
            .client
            .post_activity_as(&s.client.message(conversation, "help"), &authorization)
            .await;
        assert_eq!(status, 200, "{conversation}");
        s.channel
            .wait_for_text(conversation, "Here's what you can say", WAIT)
            .await;
        assert_eq!(
            stored_provenance(&s, conversation).await,
            Some(Provenance::Unverified),
            "an Emulator token names no service URL"
        );
    }
    assert_eq!(
        s.entra.requests().len(),
        1,
        "one outbound token for all replies"
    );
    s.host.stop().await;
}

#[tokio::test]
async fn forged_and_broken_tokens_are_refused_and_nothing_is_stored() {
    let s = SecuredHarness::start("auth-refused", &[]).await;
    let url = s.channel.service_url().to_owned();
    let key = TestKey::main();
    let valid = key.sign(CHANNEL_KID, &channel_claims(&url));
    let claims = || channel_claims(&url);
    // A channel token with these claims changed (`null` removes one).
    let signed = |changes: Value| Some(bearer(&key.sign(CHANNEL_KID, &with(claims(), changes))));
    let cases: Vec<(&str, Option<String>, u16)> = vec![
        ("no header", None, 401),
        ("wrong scheme", Some(format!("Basic {valid}")), 401),
        ("no token", Some("Bearer".into()), 401),
        ("garbage", Some(bearer("abc.def.ghi")), 401),
        ("alg none", Some(bearer(&unsigned_token(&claims()))), 401),
        (
            "HS256 signed with the public key",
            Some(bearer(&hs256_with_public_key(&claims()))),
            401,
        ),
        (
            "unknown key id",
            Some(bearer(&key.sign("no-such-key", &claims()))),
            401,
        ),
        (
            "signed by an unpublished key under a published id",
            Some(bearer(&TestKey::rotated().sign(CHANNEL_KID, &claims()))),
            401,
        ),
        (
            "expired",
            signed(json!({"exp": now_plus(-600), "nbf": now_plus(-4000)})),
            401,
        ),
        (
            "not yet valid",
            signed(json!({"nbf": now_plus(600), "exp": now_plus(4000)})),
            401,
        ),
        (
            "wrong issuer",
            signed(json!({"iss": "https://attacker.example"})),
            401,
        ),
        ("wrong audience", signed(json!({"aud": "another-bot"})), 401),
        ("no audience", signed(json!({"aud": null})), 401),
        ("no expiry", signed(json!({"exp": null})), 401),
        (
            "serviceUrl claim for another URL",
            signed(json!({"serviceurl": "https://attacker.example/"})),
            401,
        ),
        (
            "no serviceUrl claim",
            signed(json!({"serviceurl": null})),
            401,
        ),
        (
            "tampered payload",
            Some(bearer(&tampered(
                &valid,
                &with(claims(), json!({"exp": now_plus(86_400 * 365)})),
            ))),
            401,
        ),
        (
            "Emulator token for another app",
            Some(bearer(&key.sign(
                EMULATOR_KID,
                &with(emulator_claims_v1(), json!({"appid": "another-bot"})),
            ))),
            401,
        ),
        (
            "Emulator token of an unknown version",
            Some(bearer(&key.sign(
                EMULATOR_KID,
                &with(emulator_claims_v1(), json!({"ver": "3.0"})),
            ))),
            401,
        ),
        (
            "Emulator claims signed with a channel key id",
            Some(bearer(&key.sign(CHANNEL_KID, &emulator_claims_v1()))),
            401,
        ),
        (
            "key not endorsed for the channel",
            Some(bearer(&key.sign(SLACK_ONLY_KID, &claims()))),
            403,
        ),
    ];
    for (i, (name, authorization, expected)) in cases.iter().enumerate() {
        let activity = s.client.message(&format!("forged-{i}"), "subscribe");
        let (status, body) = match authorization {
            Some(a) => s.client.post_activity_as(&activity, a).await,
            None => s.client.post_activity(&activity).await,
        };
        assert_eq!(status, *expected, "{name}: {body}");
        let expected_body = if *expected == 401 {
            json!({"error": {"code": "Unauthorized", "message": "missing or invalid credentials"}})
        } else {
            json!({"error": {"code": "Forbidden", "message": "these credentials may not do this"}})
        };
        assert_eq!(body, expected_body, "{name}: the answer says nothing more");
        assert_eq!(
            stored_provenance(&s, &format!("forged-{i}")).await,
            None,
            "{name}"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.channel.received().is_empty(), "nothing was answered");
    assert_eq!(
        s.host.store().count_subscribers(None).await.unwrap(),
        0,
        "nothing was stored"
    );
    assert!(s.entra.requests().is_empty(), "no token was even fetched");
    s.host.stop().await;
}

#[tokio::test]
async fn tokens_within_five_minutes_of_clock_skew_are_accepted() {
    let s = SecuredHarness::start("auth-skew", &[]).await;
    let url = s.channel.service_url().to_owned();
    let key = TestKey::main();
    for (conversation, changes) in [
        (
            "just-expired",
            json!({"exp": now_plus(-240), "nbf": now_plus(-4000)}),
        ),
        ("almost-valid", json!({"nbf": now_plus(240)})),
    ] {
        let token = key.sign(CHANNEL_KID, &with(channel_claims(&url), changes));
        let (status, body) = s
            .client
            .post_activity_as(&s.client.message(conversation, "help"), &bearer(&token))
            .await;
        assert_eq!(status, 200, "{conversation}: {body}");
    }
    s.host.stop().await;
}

fn turn(client: &BotClient, conversation: &str) -> Turn {
    let activity: Activity =
        serde_json::from_value(client.message(conversation, "hi")).expect("an activity");
    Turn::parse(activity).expect("a valid turn")
}

#[tokio::test]
async fn a_new_key_is_fetched_when_first_seen_and_refreshes_are_rate_limited() {
    let openid = OpenIdServer::start().await;
    // Long enough that the flood below, on a busy machine, still falls
    // within it.
    let cooldown = Duration::from_millis(1000);
    let auth = BotFrameworkAuth::new(
        APP_ID,
        None,
        &openid.inbound_settings(cooldown),
        &nudge_tests::http::client(),
    );
    let url = "http://127.0.0.1:9/";
    let client = BotClient::new("http://unused", url);
    let turn = turn(&client, "rotation");
    let main = bearer(&TestKey::main().sign(CHANNEL_KID, &channel_claims(url)));
    assert_eq!(
        auth.authenticate(Some(&main), &turn).await,
        Ok(Provenance::Verified)
    );
    assert_eq!(openid.fetches(Family::Channel), 1);

    // Signed ahead (signing is slow in a debug build): the flood must
    // arrive within one cooldown of the fetch for a new key.
    let flood_tokens: Vec<String> = (0..50)
        .map(|i| bearer(&TestKey::main().sign(&format!("made-up-{i}"), &channel_claims(url))))
        .collect();

    // A key the set does not have yet: one fetch, then refused.
    tokio::time::sleep(cooldown).await;
    let rotated = bearer(&TestKey::rotated().sign("rotated-1", &channel_claims(url)));
    assert!(matches!(
        auth.authenticate(Some(&rotated), &turn).await,
        Err(AuthFailure::Unauthorized(_))
    ));
    assert_eq!(openid.fetches(Family::Channel), 2);

    // A flood of made-up key ids within the cooldown fetches nothing more.
    let flood = flood_tokens.iter().map(|token| {
        let (auth, turn) = (&auth, &turn);
        async move { auth.authenticate(Some(token), turn).await }
    });
    for result in futures::future::join_all(flood).await {
        assert!(matches!(result, Err(AuthFailure::Unauthorized(_))));
    }
    assert_eq!(openid.fetches(Family::Channel), 2, "rate limited");

    // The key is published; after the cooldown the next token finds it.
    openid.publish(
        Family::Channel,
        TestKey::rotated().published("rotated-1", &["emulator"]),
    );
    tokio::time::sleep(cooldown).await;
    assert_eq!(
        auth.authenticate(Some(&rotated), &turn).await,
        Ok(Provenance::Verified)
    );
    assert_eq!(openid.fetches(Family::Channel), 3);
    // The main key still works, from the cache.
    assert!(auth.authenticate(Some(&main), &turn).await.is_ok());
    assert_eq!(openid.fetches(Family::Channel), 3);
}

#[tokio::test]
async fn keys_that_cannot_be_fetched_make_the_check_unavailable_not_passed() {
    let unused = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/metadata", unused.local_addr().unwrap());
    drop(unused);
    let settings = nudge::auth::InboundSettings {
        channel_metadata_url: dead.clone(),
        emulator_metadata_url: dead,
        ..Default::default()
    };
    let auth = BotFrameworkAuth::new(APP_ID, None, &settings, &nudge_tests::http::client());
    let url = "http://127.0.0.1:9/";
    let client = BotClient::new("http://unused", url);
    let result = auth
        .authenticate(Some(&channel_bearer(url)), &turn(&client, "dead"))
        .await;
    assert!(
        matches!(result, Err(AuthFailure::Unavailable(_))),
        "{result:?}"
    );
}
