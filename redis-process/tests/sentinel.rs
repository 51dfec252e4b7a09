//! Starting a Sentinel with `RedisProcess` (needs `redis-server` on the PATH).

mod common;

use common::{assert_gone, command, scratch_dir};
use redis_process::{ping, RedisOptions, RedisProcess, Role};
use std::time::Duration;

/// A Sentinel started from a config file answers PING and Sentinel commands about the
/// master the file names; it runs from its own copy, leaving the file as it was.
#[test]
fn a_sentinel_starts_from_a_config_file_and_answers() {
    let primary = RedisProcess::start(RedisOptions::default()).expect("primary");
    let scratch = scratch_dir("sentinel");
    let template = scratch.join("sentinel.conf");
    let text = format!("sentinel monitor m 127.0.0.1 {} 1\n", primary.port());
    std::fs::write(&template, &text).unwrap();
    let sentinel = RedisProcess::start(RedisOptions {
        role: Role::Sentinel,
        config_file: Some(template.clone()),
        ..RedisOptions::default()
    })
    .expect("sentinel");
    let port = sentinel.port();
    assert!(ping(port, Duration::from_secs(1)));
    let master = command(port, "SENTINEL GET-MASTER-ADDR-BY-NAME m\r\n");
    assert!(master.contains(&primary.port().to_string()), "{master}");
    assert_eq!(std::fs::read_to_string(&template).unwrap(), text);
    let copy = std::fs::read_to_string(sentinel.dir().join("sentinel.conf")).unwrap();
    assert!(
        copy.contains("sentinel myid"),
        "Sentinel rewrote its copy: {copy}"
    );
    let _ = std::fs::remove_dir_all(scratch);
}

/// Without a config file a Sentinel still starts (from an empty one), watching nothing.
#[test]
fn a_sentinel_needs_no_config_file() {
    let sentinel = RedisProcess::start(RedisOptions {
        role: Role::Sentinel,
        ..RedisOptions::default()
    })
    .expect("sentinel");
    assert_eq!(command(sentinel.port(), "SENTINEL MASTERS\r\n"), "*0\r\n");
}

/// A killed Sentinel restarts on its port from the config it rewrote: the same Sentinel,
/// with the same id, still watching its master.
#[test]
fn a_restarted_sentinel_keeps_its_state() {
    let primary = RedisProcess::start(RedisOptions::default()).expect("primary");
    let mut sentinel = RedisProcess::start(RedisOptions {
        role: Role::Sentinel,
        ..RedisOptions::default()
    })
    .expect("sentinel");
    let port = sentinel.port();
    let monitor = format!("SENTINEL MONITOR m 127.0.0.1 {} 1\r\n", primary.port());
    assert_eq!(command(port, &monitor), "+OK\r\n");
    let id = command(port, "SENTINEL MYID\r\n");
    sentinel.kill();
    assert_eq!(sentinel.pid(), None);
    sentinel.restart().expect("restart");
    assert_eq!(sentinel.port(), port);
    assert_eq!(command(port, "SENTINEL MYID\r\n"), id);
    let master = command(port, "SENTINEL GET-MASTER-ADDR-BY-NAME m\r\n");
    assert!(master.contains(&primary.port().to_string()), "{master}");
}

/// Dropping a Sentinel's handle ends the process and removes its directory.
#[test]
fn a_dropped_sentinel_is_gone() {
    let sentinel = RedisProcess::start(RedisOptions {
        role: Role::Sentinel,
        ..RedisOptions::default()
    })
    .expect("sentinel");
    let (pid, dir, port) = (
        sentinel.pid().unwrap(),
        sentinel.dir().to_owned(),
        sentinel.port(),
    );
    assert!(dir.exists());
    drop(sentinel);
    assert_gone(pid, &dir, port);
}
