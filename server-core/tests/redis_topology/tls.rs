//! The TLS-only Redis of the tests ([`TlsRedis`]), with a throwaway CA and a server
//! certificate made with `openssl`.

use redis_process::{RedisOptions, RedisProcess, TlsOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A throwaway CA and a server certificate for `localhost`/`127.0.0.1` signed by it, made
/// with openssl in `dir`: `(ca.crt, server.crt, server.key)`.
pub fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl must be installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "1",
        "-subj",
        "/CN=mrs test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "1",
        "-extfile",
        "san.ext",
    ]);
    (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}

/// A TLS-only `redis-server` (no plain port) with a certificate from a throwaway CA,
/// launched by [`RedisProcess`] (ready once it answers `PING` over TLS, its certificate
/// checked against the CA) and killed on drop.
pub struct TlsRedis {
    pub port: u16,
    /// The CA that signed the server's certificate (`--redis-ca`).
    pub ca: PathBuf,
    process: RedisProcess,
    /// The certificates; the server's own directory is `process`'s.
    certificates: PathBuf,
}

impl TlsRedis {
    pub fn start() -> TlsRedis {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let certificates = std::env::temp_dir().join(format!(
            "mrs-tls-{}-{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&certificates).unwrap();
        let (ca, cert_file, key_file) = make_certificates(&certificates);
        let process = RedisProcess::start(RedisOptions {
            tls: Some(TlsOptions {
                cert_file,
                key_file,
                ca_cert_file: ca.clone(),
            }),
            start_timeout: super::SETUP_PATIENCE,
            ..RedisOptions::default()
        })
        .expect("redis-server must be installed (apt-get install redis-server)");
        TlsRedis {
            port: process.port(),
            ca,
            process,
            certificates,
        }
    }

    /// `rediss://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.process.url()
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        // redis-server read the certificates when it started; `process` is killed next.
        let _ = std::fs::remove_dir_all(&self.certificates);
    }
}
