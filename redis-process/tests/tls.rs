//! Starting a TLS-only redis-server with `RedisProcess` (needs `redis-server`, `redis-cli`
//! and `openssl` on the PATH; only these tests use the last two).

mod common;

use common::{assert_gone, certificates, make_ca, scratch_dir};
use redis_process::{ping, CaCertError, LaunchError, RedisOptions, RedisProcess, TlsOptions};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn tls_options(ca: &Path, cert: &Path, key: &Path) -> RedisOptions {
    RedisOptions {
        tls: Some(TlsOptions {
            cert_file: cert.to_owned(),
            key_file: key.to_owned(),
            ca_cert_file: ca.to_owned(),
        }),
        ..RedisOptions::default()
    }
}

/// `redis-cli --tls` against the server, trusting `ca`; its output trimmed.
fn tls_cli(port: u16, ca: &Path, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["--tls", "--cacert"])
        .arg(ca)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli must be installed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A TLS-only server is ready once it answers over TLS: a TLS client that trusts the CA
/// reaches it at its `rediss://` URL, a plain-text one does not; dropped, it is gone.
#[test]
fn a_tls_only_server_starts_and_is_reachable_over_tls() {
    let certs = scratch_dir("tls");
    let (ca, cert, key) = certificates(&certs);
    let redis = RedisProcess::start(tls_options(&ca, &cert, &key)).expect("start");
    let port = redis.port();
    assert_eq!(redis.url(), format!("rediss://127.0.0.1:{port}"));
    assert_eq!(tls_cli(port, &ca, &["SET", "k", "v"]), "OK");
    assert_eq!(tls_cli(port, &ca, &["GET", "k"]), "v");
    assert!(
        !ping(port, Duration::from_secs(1)),
        "no plain text on the TLS port"
    );
    let (pid, dir) = (redis.pid().unwrap(), redis.dir().to_owned());
    drop(redis);
    assert_gone(pid, &dir, port);
    assert!(ca.exists(), "the caller's certificates are left alone");
    let _ = std::fs::remove_dir_all(certs);
}

/// Readiness checks the certificate: a server whose certificate the given CA did not sign
/// never becomes ready, and the failed start leaves nothing running.
#[test]
fn a_certificate_the_ca_did_not_sign_is_not_ready() {
    let certs = scratch_dir("tls-other-ca");
    let (_, cert, key) = certificates(&certs);
    let other = make_ca(&certs, "other");
    let err = RedisProcess::start(RedisOptions {
        start_timeout: Duration::from_secs(2),
        port: Some(redis_process::free_port().unwrap()),
        ..tls_options(&other, &cert, &key)
    })
    .expect_err("the certificate does not check out");
    let LaunchError::NotReady { port } = err else {
        panic!("{err}");
    };
    common::wait_until_closed(port);
    let _ = std::fs::remove_dir_all(certs);
}

/// A CA file that holds no certificate is an error at once, before anything is spawned.
#[test]
fn an_unusable_ca_file_is_an_error() {
    let certs = scratch_dir("tls-bad-ca");
    let bad = certs.join("ca.crt");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    let err = RedisProcess::start(tls_options(&bad, &bad, &bad)).expect_err("bad CA");
    assert!(
        matches!(
            err,
            LaunchError::CaCert {
                source: CaCertError::Empty,
                ..
            }
        ),
        "{err}"
    );
    let missing = certs.join("missing.crt");
    let err = RedisProcess::start(tls_options(&missing, &bad, &bad)).expect_err("no CA");
    assert!(
        matches!(
            err,
            LaunchError::CaCert {
                source: CaCertError::Read(_),
                ..
            }
        ),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(certs);
}
