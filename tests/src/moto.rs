//! Emulated AWS for tests: the moto server that `scripts/test` installs and
//! starts on a free loopback port, announced in [`ENDPOINT_VAR`].
//!
//! Each test makes resources of its own (a table, a queue and its
//! dead-letter queue) with unique names, so tests run in parallel against
//! one server and never see each other's data.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;
use aws_sdk_sqs::types::QueueAttributeName;
use nudge::queue::sqs::SqsQueue;
use nudge::store::dynamodb::{create_table, DynamoStore};

use crate::suites::unique;

/// The variable `scripts/test` sets to the moto server's URL.
pub const ENDPOINT_VAR: &str = "NUDGE_MOTO_ENDPOINT";

/// The region every emulated resource lives in.
pub const REGION: &str = "us-east-1";

/// The moto server's URL. Without one these tests cannot run, and they say
/// so rather than pass without testing anything.
pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set: the AWS tests need the moto server that scripts/test \
             installs and starts. Run scripts/test, or start `moto_server -p PORT` yourself and \
             set {ENDPOINT_VAR}=http://127.0.0.1:PORT"
        )
    })
}

/// Static test credentials: moto accepts anything.
pub fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "moto")
}

/// The environment a function binary needs to reach moto as the SDK
/// reaches AWS: endpoint, region, static credentials, no instance metadata.
pub fn function_env() -> Vec<(&'static str, String)> {
    let creds = credentials();
    vec![
        ("AWS_ENDPOINT_URL", endpoint()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", creds.access_key_id().to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            creds.secret_access_key().to_owned(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

/// An SDK configuration that talks to the moto server.
pub async fn sdk_config() -> SdkConfig {
    // nudge's own transport for the SDK: with the SDK's default client
    // enabled here, the workspace's builds (`sam build`'s too) would link
    // both into every function.
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(nudge::aws::sdk_http_client())
        .endpoint_url(endpoint())
        .region(Region::new(REGION))
        .credentials_provider(credentials())
        .load()
        .await
}

/// A new table with the store's layout; returns its name.
pub async fn new_table(config: &SdkConfig) -> String {
    let name = unique("table");
    create_table(&aws_sdk_dynamodb::Client::new(config), &name)
        .await
        .expect("create the table on moto");
    name
}

/// A store on a new table of its own.
pub async fn new_store(config: &SdkConfig) -> DynamoStore {
    let name = new_table(config).await;
    DynamoStore::new(aws_sdk_dynamodb::Client::new(config), name)
}

/// A queue and its dead-letter queue, made as `template.yaml` makes them.
pub struct TestQueue {
    pub url: String,
    pub arn: String,
    pub dead_letter_url: String,
}

impl TestQueue {
    /// Makes a queue whose messages go to a dead-letter queue after
    /// `max_receive_count` receives.
    pub async fn create(config: &SdkConfig, max_receive_count: u32) -> TestQueue {
        let sqs = aws_sdk_sqs::Client::new(config);
        let name = unique("queue");
        let dead_letter_url = create_queue(&sqs, &format!("{name}-dlq"), None).await;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": queue_arn(&sqs, &dead_letter_url).await,
            "maxReceiveCount": max_receive_count,
        })
        .to_string();
        let url = create_queue(&sqs, &name, Some(redrive)).await;
        TestQueue {
            arn: queue_arn(&sqs, &url).await,
            url,
            dead_letter_url,
        }
    }

    pub fn adapter(&self, config: &SdkConfig) -> SqsQueue {
        SqsQueue::new(aws_sdk_sqs::Client::new(config), &self.url, "nudge-tests")
            .with_dead_letter_queue(&self.dead_letter_url)
    }
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("get a queue's ARN")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("a queue has an ARN")
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str, redrive: Option<String>) -> String {
    let mut request = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, "30");
    if let Some(redrive) = redrive {
        request = request.attributes(QueueAttributeName::RedrivePolicy, redrive);
    }
    request
        .send()
        .await
        .expect("create a queue on moto")
        .queue_url
        .expect("a created queue has a URL")
}

/// Creates a Secrets Manager secret holding `value` (the JSON object a
/// deployment's secret holds) under a unique name; returns its ARN.
pub async fn create_secret(config: &SdkConfig, value: serde_json::Value) -> String {
    aws_sdk_secretsmanager::Client::new(config)
        .create_secret()
        .name(unique("secret"))
        .secret_string(value.to_string())
        .send()
        .await
        .expect("create the secret on moto")
        .arn
        .expect("a secret has an ARN")
}
