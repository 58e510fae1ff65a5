//! The delivery suite ([`nudge_tests::delivery`]) on the local host: the
//! embedded store and queue, the notifier loop, a fake channel with faults.
//! One host per test, so the checks run in parallel and a slow rate-limit
//! check does not hold up the others.

use nudge::local::LocalHost;
use nudge_tests::channel::FakeChannel;
use nudge_tests::delivery::{self, Rig, RIG_ENV};
use nudge_tests::host::{settings_with, start_in_process, DataDir};

struct Local {
    channel: FakeChannel,
    host: LocalHost,
    _data: DataDir,
}

impl Local {
    async fn start(name: &str) -> Local {
        let data = DataDir::new(name);
        let env: Vec<(&str, String)> = RIG_ENV.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let settings = settings_with(data.path(), &env);
        let host = start_in_process(&settings).await;
        Local {
            channel: FakeChannel::start().await,
            host,
            _data: data,
        }
    }

    fn rig(&self) -> Rig<'_> {
        Rig {
            channel: &self.channel,
            service_url: self.channel.service_url(),
            store: self.host.store().as_ref(),
            queue: self.host.queue(),
        }
    }
}

macro_rules! local_suite {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let local = Local::start(stringify!($check)).await;
                delivery::$check(&local.rig()).await;
            }
        )*
    };
}

nudge_tests::delivery_checks!(local_suite);

// Local only: on moto the store, not the limits, sets the pace.
local_suite!(a_broadcast_over_five_tenants_keeps_each_tenants_limit);

/// The pacing check at a low limit, as on Lambda (`delivery_lambda.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_is_paced_to_the_tenant_limit() {
    let data = DataDir::new("paced");
    let mut env: Vec<(&str, String)> = RIG_ENV.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    env.push(("NUDGE_BOT_RATE_LIMIT", "5".to_owned()));
    let host = start_in_process(&settings_with(data.path(), &env)).await;
    let local = Local {
        channel: FakeChannel::start().await,
        host,
        _data: data,
    };
    delivery::a_broadcast_is_paced_to_the_tenant_limit(&local.rig(), 5, 0).await;
}

/// Connections to the channel are kept alive and reused: a hundred sends
/// open no more connections than there are sends in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_reuse_their_connections_to_the_channel() {
    const IN_FLIGHT: usize = 8;
    let data = DataDir::new("keepalive");
    let mut env: Vec<(&str, String)> = RIG_ENV.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    env.push(("NUDGE_NOTIFIER_CONCURRENCY", IN_FLIGHT.to_string()));
    let host = start_in_process(&settings_with(data.path(), &env)).await;
    let local = Local {
        channel: FakeChannel::start().await,
        host,
        _data: data,
    };
    let rig = local.rig();
    let mut sent = Vec::new();
    for n in 0..100 {
        let key = rig.conversation(&format!("kept-{n}")).await;
        sent.push(rig.notify(&key, &format!("note {n}")).await);
    }
    for id in &sent {
        let record = rig.outcome(id, std::time::Duration::from_secs(60)).await;
        assert_eq!(
            record.status,
            nudge::store::DeliveryStatus::Sent,
            "{record:?}"
        );
    }
    assert_eq!(local.channel.received().len(), 100);
    let opened = local.channel.connections();
    assert!(
        (1..=IN_FLIGHT).contains(&opened),
        "{opened} connections for 100 sends, at most {IN_FLIGHT} in flight"
    );
}
