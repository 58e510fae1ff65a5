//! The local host's HTTP bounds, with real slow sockets: headers that never
//! finish, bodies that stall, idle kept-alive connections, more
//! connections than the cap, and a stop while a client stalls.

use std::net::SocketAddr;
use std::time::Duration;

use nudge_tests::host::{settings_with, start_in_process, DataDir, HostProcess};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

/// Reads until the server closes the connection; what it sent.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 1024];
    let read_all = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buffer[..n]),
            }
        }
    };
    timeout(within, read_all).await.ok()?;
    Some(String::from_utf8_lossy(&seen).into_owned())
}

/// A connection that sent half a request's headers and stalls.
async fn stalled_headers(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .expect("write");
    stream
}

async fn healthz(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    until_closed(&mut stream, Duration::from_secs(20))
        .await
        .expect("healthz answers")
}

fn env<'a>(pairs: &[(&'a str, &str)]) -> Vec<(&'a str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_the_cap_holds_until_they_are() {
    let data = DataDir::new("http-slow-headers");
    let settings = settings_with(
        data.path(),
        &env(&[
            ("NUDGE_HTTP_HEADER_TIMEOUT_SECS", "2"),
            ("NUDGE_HTTP_MAX_CONNECTIONS", "4"),
        ]),
    );
    let host = start_in_process(&settings).await;
    let addr = host.addr();
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(stalled_headers(addr).await);
    }
    // Every slot is held by a stalled client: a new request waits for the
    // first of them to be cut off, and then is answered.
    let asked = Instant::now();
    let answer = healthz(addr).await;
    let waited = asked.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
    assert!(
        waited >= Duration::from_millis(1500),
        "with every slot taken, the request waits for the header timeout ({waited:?})"
    );
    for mut stream in stalled {
        let sent = until_closed(&mut stream, Duration::from_secs(10)).await;
        assert!(
            sent.is_some(),
            "the server closed a connection whose headers never finished"
        );
    }
    host.stop().await;
}

#[tokio::test]
async fn many_stalled_clients_do_not_stop_the_host_from_answering() {
    let data = DataDir::new("http-many-stalled");
    let settings = settings_with(
        data.path(),
        &env(&[("NUDGE_HTTP_HEADER_TIMEOUT_SECS", "1")]),
    );
    let host = start_in_process(&settings).await;
    let addr = host.addr();
    let mut stalled = Vec::new();
    for _ in 0..300 {
        stalled.push(stalled_headers(addr).await);
    }
    let answer = healthz(addr).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(15);
    for mut stream in stalled {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            until_closed(&mut stream, left).await.is_some(),
            "every stalled connection is closed"
        );
    }
    host.stop().await;
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_an_idle_connection_is_closed() {
    let data = DataDir::new("http-stalled-body");
    let settings = settings_with(
        data.path(),
        &env(&[
            ("NUDGE_HTTP_BODY_TIMEOUT_SECS", "1"),
            ("NUDGE_HTTP_HEADER_TIMEOUT_SECS", "2"),
        ]),
    );
    let host = start_in_process(&settings).await;
    let addr = host.addr();

    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            b"POST /api/notify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"text\":",
        )
        .await
        .expect("write");
    let answer = until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("the server answers and closes");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("RequestTimeout"), "{answer}");

    // A kept-alive connection with nothing more to say is closed too.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let answer = until_closed(&mut idle, Duration::from_secs(10))
        .await
        .expect("the idle connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    host.stop().await;
}

#[tokio::test]
async fn sigterm_completes_within_the_grace_period_while_a_client_stalls() {
    let data = DataDir::new("http-sigterm");
    let process = HostProcess::start_with(
        data.path(),
        &[
            ("NUDGE_HTTP_HEADER_TIMEOUT_SECS", "120"),
            ("NUDGE_HTTP_BODY_TIMEOUT_SECS", "120"),
            ("NUDGE_HTTP_REQUEST_TIMEOUT_SECS", "120"),
            ("NUDGE_SHUTDOWN_GRACE_SECS", "2"),
        ],
    )
    .await;
    let addr: SocketAddr = format!("127.0.0.1:{}", process.port).parse().unwrap();
    let _headers = stalled_headers(addr).await;
    let mut body = TcpStream::connect(addr).await.expect("connect");
    body.write_all(
        b"POST /api/notify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{",
    )
    .await
    .expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = Instant::now();
    process.stop().await;
    let took = stopping.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "the stop waits for the grace period, not for the stalled clients ({took:?})"
    );
}
