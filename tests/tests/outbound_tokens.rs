//! Outbound tokens against a local token endpoint: the request each app type
//! makes, caching, one fetch under concurrency, early refresh, retries and
//! how failures are reported; and managed identities.

use std::sync::Arc;
use std::time::Duration;

use nudge::config::Settings;
use nudge::connector::token::for_app;
use nudge::connector::{ManagedIdentity, MsiEndpoint, TokenError, TokenSource};
use nudge_tests::entra::FakeEntra;
use nudge_tests::host::TestEnv;
use nudge_tests::openid::{channel_bearer, APP_ID};
use nudge_tests::secured::{SecuredHarness, APP_PASSWORD};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);
const TENANT: &str = "7a1f0000-tenant-4b07-9a57-000000000001";

fn settings(env: &[(&str, String)]) -> Settings {
    Settings::from_env(&TestEnv(env)).expect("valid settings")
}

/// A client-credentials source for a multi-tenant app on `entra`.
fn tokens(entra: &FakeEntra) -> Arc<dyn TokenSource> {
    let s = settings(&[
        ("MicrosoftAppId", APP_ID.into()),
        ("MicrosoftAppPassword", APP_PASSWORD.into()),
        (
            "ToChannelFromBotLoginUrl",
            entra.login_url("botframework.com"),
        ),
    ]);
    for_app(s.app.as_ref().expect("an app"), nudge_tests::http::client()).expect("a token source")
}

async fn token(source: &Arc<dyn TokenSource>) -> Result<String, TokenError> {
    source.token().await.map(|t| t.expect("a token"))
}

#[tokio::test]
async fn each_app_type_asks_its_own_authority_for_a_connector_token() {
    let multi = settings(&[
        ("MicrosoftAppId", APP_ID.into()),
        ("MicrosoftAppPassword", "pw".into()),
    ]);
    assert_eq!(
        multi.app.unwrap().token_url(),
        "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
    );
    let single = settings(&[
        ("MicrosoftAppId", APP_ID.into()),
        ("MicrosoftAppPassword", "pw".into()),
        ("MicrosoftAppType", "SingleTenant".into()),
        ("MicrosoftAppTenantId", TENANT.into()),
    ]);
    assert_eq!(
        single.app.unwrap().token_url(),
        format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
    );

    let entra = FakeEntra::start().await;
    for (app_type, authority) in [
        ("MultiTenant", "botframework.com"),
        ("SingleTenant", TENANT),
    ] {
        let s = settings(&[
            ("MicrosoftAppId", APP_ID.into()),
            ("MicrosoftAppPassword", APP_PASSWORD.into()),
            ("MicrosoftAppType", app_type.into()),
            ("MicrosoftAppTenantId", TENANT.into()),
            ("ToChannelFromBotLoginUrl", entra.login_url(authority)),
        ]);
        let source = for_app(s.app.as_ref().unwrap(), nudge_tests::http::client()).unwrap();
        token(&source).await.unwrap();
        let request = entra.requests().pop().unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, format!("/{authority}/oauth2/v2.0/token"));
        let form: Vec<(&str, &str)> = request
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            form,
            [
                ("client_id", APP_ID),
                ("client_secret", APP_PASSWORD),
                ("grant_type", "client_credentials"),
                ("scope", "https://api.botframework.com/.default"),
            ]
        );
    }
    let no_password = settings(&[("MicrosoftAppId", APP_ID.into())]);
    let err = for_app(
        no_password.app.as_ref().unwrap(),
        nudge_tests::http::client(),
    )
    .err();
    assert_eq!(err.unwrap().variable, "MicrosoftAppPassword");
}

#[tokio::test]
async fn one_token_is_fetched_and_shared_however_many_callers_wait() {
    let entra = FakeEntra::start().await;
    entra.set_delay(Duration::from_millis(300));
    let source = tokens(&entra);
    let callers = (0..64).map(|_| {
        let source = source.clone();
        tokio::spawn(async move { token(&source).await })
    });
    for result in futures::future::join_all(callers).await {
        assert_eq!(result.unwrap().unwrap(), "token-1");
    }
    assert_eq!(token(&source).await.unwrap(), "token-1", "cached");
    assert_eq!(entra.requests().len(), 1);
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire() {
    let entra = FakeEntra::start().await;
    entra.set_expires_in(2);
    let source = tokens(&entra);
    assert_eq!(token(&source).await.unwrap(), "token-1");
    assert_eq!(token(&source).await.unwrap(), "token-1");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        token(&source).await.unwrap(),
        "token-2",
        "refreshed at half-life"
    );
    assert_eq!(entra.requests().len(), 2);
}

#[tokio::test]
async fn a_refusal_is_final_and_names_the_endpoints_reason() {
    let entra = FakeEntra::start().await;
    entra.respond_with([(
        401,
        json!({"error": "invalid_client",
               "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1"}),
    )]);
    let err = token(&tokens(&entra)).await.unwrap_err();
    let TokenError::Refused {
        status,
        detail,
        url,
    } = &err
    else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(*status, 401);
    assert_eq!(
        detail,
        "invalid_client: AADSTS7000215: Invalid client secret provided."
    );
    assert!(url.ends_with("/botframework.com/oauth2/v2.0/token"));
    assert!(
        !err.to_string().contains(APP_PASSWORD),
        "the secret is never echoed"
    );
    assert_eq!(entra.requests().len(), 1, "not retried");
}

#[tokio::test]
async fn transient_failures_are_retried_and_persistent_ones_reported() {
    let entra = FakeEntra::start().await;
    entra.respond_with([(503, json!({})), (429, json!({}))]);
    let source = tokens(&entra);
    assert_eq!(token(&source).await.unwrap(), "token-1");
    assert_eq!(entra.requests().len(), 3);

    let entra = FakeEntra::start().await;
    entra.respond_with((0..3).map(|_| (503, json!({"error": "temporarily_unavailable"}))));
    let err = token(&tokens(&entra)).await.unwrap_err();
    assert!(
        matches!(&err, TokenError::Unreachable { attempts: 3, detail, .. } if detail.contains("503")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_failed_refresh_falls_back_on_the_token_that_is_still_valid() {
    let entra = FakeEntra::start().await;
    entra.set_expires_in(4);
    let source = tokens(&entra);
    assert_eq!(token(&source).await.unwrap(), "token-1");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    entra.respond_with((0..3).map(|_| (503, json!({}))));
    assert_eq!(token(&source).await.unwrap(), "token-1");
    assert_eq!(entra.requests().len(), 4, "it did try to refresh");
}

#[tokio::test]
async fn managed_identities_ask_the_host_endpoint_of_their_kind() {
    let entra = FakeEntra::start().await;
    let s = settings(&[
        ("MicrosoftAppId", APP_ID.into()),
        ("MicrosoftAppType", "UserAssignedMSI".into()),
        ("MicrosoftAppTenantId", TENANT.into()),
        ("IDENTITY_ENDPOINT", entra.msi_url()),
        ("IDENTITY_HEADER", "host-issued-header".into()),
    ]);
    let app_service = for_app(s.app.as_ref().unwrap(), nudge_tests::http::client()).unwrap();
    assert_eq!(token(&app_service).await.unwrap(), "token-1");
    let imds: Arc<dyn TokenSource> = Arc::new(ManagedIdentity::new(
        nudge_tests::http::client(),
        MsiEndpoint::Imds {
            url: entra.msi_url(),
        },
        Some(APP_ID.into()),
        "https://api.botframework.com".into(),
    ));
    assert_eq!(token(&imds).await.unwrap(), "token-2");
    let requests = entra.requests();
    for (request, version, header, value) in [
        (
            &requests[0],
            "2019-08-01",
            "x-identity-header",
            "host-issued-header",
        ),
        (&requests[1], "2018-02-01", "metadata", "true"),
    ] {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("GET", "/msi/token")
        );
        assert_eq!(request.params["api-version"], version);
        assert_eq!(request.params["resource"], "https://api.botframework.com");
        assert_eq!(request.params["client_id"], APP_ID);
        assert_eq!(request.headers[header], value);
    }
    assert_eq!(token(&app_service).await.unwrap(), "token-1", "cached");
}

#[tokio::test]
async fn many_concurrent_replies_through_the_host_need_one_token_fetch() {
    let s = SecuredHarness::start("tokens-concurrent", &[]).await;
    s.entra.set_delay(Duration::from_millis(300));
    let url = s.channel.service_url().to_owned();
    let turns = (0..20).map(|i| {
        let activity = s.client.message(&format!("c{i}"), "help");
        let (client, authorization) = (&s.client, channel_bearer(&url));
        async move { client.post_activity_as(&activity, &authorization).await.0 }
    });
    for status in futures::future::join_all(turns).await {
        assert_eq!(status, 200);
    }
    for i in 0..20 {
        let reply = s
            .channel
            .wait_for_text(&format!("c{i}"), "Here's what you can say", WAIT)
            .await;
        assert_eq!(reply.authorization.as_deref(), Some("Bearer token-1"));
    }
    assert_eq!(s.entra.requests().len(), 1);
    s.host.stop().await;
}
