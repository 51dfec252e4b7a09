//! Starting, restarting and stopping a private redis-server (needs `redis-server` on the PATH).

mod common;

use common::{command, wait_until_closed};
use redis_process::{free_port, ping, LaunchError, RedisOptions, RedisProcess};
use std::time::Duration;

const STEP: Duration = Duration::from_secs(1);

/// A started server answers PING; after `stop` its port is closed.
#[test]
fn starts_answers_and_stops() {
    let redis = RedisProcess::start(RedisOptions::default()).expect("start");
    let port = redis.port();
    assert!(ping(port, STEP));
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}"));
    redis.stop();
    assert!(!ping(port, STEP));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// A redis-server that cannot bind its port is an error naming the port, not a hang.
#[test]
fn a_failed_start_is_an_error() {
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = RedisProcess::start(RedisOptions {
        port: Some(port),
        ..RedisOptions::default()
    })
    .expect_err("port is taken");
    assert!(matches!(err, LaunchError::NotReady { .. }), "{err}");
    assert!(err.to_string().contains(&port.to_string()));
}

/// Dropping the handle without `stop` (as a crash would) still ends redis-server.
#[test]
fn dropping_the_handle_stops_the_server() {
    let redis = RedisProcess::start(RedisOptions::default()).expect("start");
    let port = redis.port();
    drop(redis);
    wait_until_closed(port);
}

/// A persistent server keeps what it acknowledged across `kill` (SIGKILL) and `restart`, on
/// the same port; extra arguments reach redis-server.
#[test]
fn persistent_data_survives_kill_and_restart() {
    let port = free_port().unwrap();
    let mut redis = RedisProcess::start(RedisOptions {
        port: Some(port),
        persistent: true,
        extra_args: vec!["--databases".into(), "2".into()],
        ..RedisOptions::default()
    })
    .expect("start");
    assert_eq!(command(port, "SET k v\r\n"), "+OK\r\n");
    assert_eq!(command(port, "SELECT 2\r\n").chars().next(), Some('-'));
    let pid = redis.pid();
    redis.kill();
    assert_eq!(redis.pid(), None);
    wait_until_closed(port);
    redis.restart().expect("restart");
    assert_ne!(redis.pid(), pid);
    assert_eq!(redis.port(), port);
    assert_eq!(command(port, "GET k\r\n"), "$1\r\nv\r\n");
}
