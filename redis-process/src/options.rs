//! What to start: [`RedisOptions`], its [`Role`] and [`TlsOptions`], and the command line they
//! make (built here, in one pure function, so its order is tested without a server).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What to start. `RedisOptions::default()` is a non-persistent data server on a free port,
/// in plain text, without a config file.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// The port on 127.0.0.1 (the TLS port when [`tls`](Self::tls) is set); `None` picks a
    /// free one (up to [`PORT_ATTEMPTS`](crate::PORT_ATTEMPTS) tries).
    pub port: Option<u16>,
    /// A data server or a Sentinel. See [`Role`] for what each needs and answers.
    pub role: Role,
    /// A config file to start from. It is copied into the server's data directory once, at
    /// [`start`](crate::RedisProcess::start), and redis-server reads the copy as its first
    /// argument (where redis-server wants a config file). The copy is the server's own: a
    /// Sentinel rewrites it with what it learns, and a
    /// [`restart`](crate::RedisProcess::restart) starts from what it wrote; yours is never
    /// changed, so one file can serve several servers. The options set here (port, bind
    /// address, directory, TLS, [`extra_args`](Self::extra_args)) come after it and win.
    pub config_file: Option<PathBuf>,
    /// Keep an append-only file, fsynced on every write, so
    /// [`restart`](crate::RedisProcess::restart) (even after
    /// [`kill`](crate::RedisProcess::kill)) finds the data again. Without it nothing is
    /// written. No effect on a Sentinel, which holds no data (its state is in its config).
    pub persistent: bool,
    /// Serve TLS only (no plain-text port), with these files. `None`: plain text only.
    pub tls: Option<TlsOptions>,
    /// More `redis-server` arguments, after the ones set here (later ones win).
    pub extra_args: Vec<String>,
    /// How long the server has to become ready (see [`Role`]) after it is spawned.
    pub start_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            port: None,
            role: Role::Data,
            config_file: None,
            persistent: false,
            tls: None,
            extra_args: Vec::new(),
            start_timeout: Duration::from_secs(10),
        }
    }
}

/// What the redis-server is. Either way it is ready when it answers `PING` with `PONG` on
/// its port: over plain text, or over TLS when [`RedisOptions::tls`] is set (see
/// [`TlsOptions`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Role {
    /// A server that holds data: standalone, a replica or a Cluster node, as its
    /// [`extra_args`](RedisOptions::extra_args) (`--replicaof`, `--cluster-enabled`) say.
    #[default]
    Data,
    /// A Sentinel (`redis-server CONFIG --sentinel`). Sentinel refuses to run without a
    /// config file it can rewrite, so it always runs from one in its data directory: a copy
    /// of [`RedisOptions::config_file`] (where `sentinel monitor …` lines go), or an empty
    /// file, leaving the masters to `SENTINEL MONITOR`. Its state (its id, the replicas and
    /// Sentinels it found, the epochs) survives [`restart`](crate::RedisProcess::restart)
    /// there and goes with the directory on drop.
    Sentinel,
}

/// A TLS-only server: `--port 0 --tls-port P --tls-cert-file … --tls-key-file …
/// --tls-ca-cert-file … --tls-auth-clients no`.
///
/// Clients need no certificate of their own. Readiness is a real TLS handshake on
/// `127.0.0.1:P` that checks the server's certificate against [`ca_cert_file`]
/// (so the certificate must be valid for the IP address `127.0.0.1` and signed by that CA),
/// followed by `PING` over it: ready means a client that trusts the CA can use it. The
/// files are the caller's; redis-server reads them whenever it starts or restarts.
///
/// [`ca_cert_file`]: Self::ca_cert_file
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// The server's certificate (PEM), valid for `127.0.0.1`.
    pub cert_file: PathBuf,
    /// Its private key (PEM).
    pub key_file: PathBuf,
    /// The CA (PEM) that signed [`cert_file`](Self::cert_file): the readiness check trusts
    /// it, and redis-server uses it for its own outgoing TLS (replication).
    pub ca_cert_file: PathBuf,
}

impl RedisOptions {
    /// `program` with the arguments of a redis-server on `port`, in `dir`, running from
    /// `config` (the copy in `dir`, if any). The config file comes first, because redis-server
    /// takes only its first argument as one; then `--sentinel`; then ours; then
    /// `extra_args`, last so that they win.
    pub(crate) fn command(
        &self,
        program: &Path,
        port: u16,
        dir: &Path,
        config: Option<&Path>,
    ) -> Command {
        let mut command = Command::new(program);
        command.args(config);
        if self.role == Role::Sentinel {
            command.arg("--sentinel");
        }
        let port = port.to_string();
        match &self.tls {
            None => command.args(["--port", &port]),
            Some(_) => command.args(["--port", "0", "--tls-port", &port]),
        };
        command.args(["--bind", "127.0.0.1"]).arg("--dir").arg(dir);
        if let Some(tls) = &self.tls {
            command
                .arg("--tls-cert-file")
                .arg(&tls.cert_file)
                .arg("--tls-key-file")
                .arg(&tls.key_file)
                .arg("--tls-ca-cert-file")
                .arg(&tls.ca_cert_file)
                .args(["--tls-auth-clients", "no"]);
        }
        // A Sentinel has no data to save or log.
        if self.role == Role::Data {
            command.args(["--save", ""]);
            if self.persistent {
                command.args(["--appendonly", "yes", "--appendfsync", "always"]);
            } else {
                command.args(["--appendonly", "no"]);
            }
        }
        command.args(&self.extra_args);
        command
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(options: &RedisOptions, config: Option<&Path>) -> Vec<String> {
        let command = options.command(Path::new("redis-server"), 7000, Path::new("/d"), config);
        let args = command.get_args().map(|a| a.to_string_lossy().into_owned());
        args.collect()
    }

    /// The defaults give the command line redis-process always gave: plain port, loopback,
    /// its directory, no snapshots, no append-only file.
    #[test]
    fn a_data_server_has_its_port_directory_and_no_persistence() {
        let options = RedisOptions {
            extra_args: vec!["--databases".into(), "2".into()],
            ..RedisOptions::default()
        };
        let expected =
            "--port 7000 --bind 127.0.0.1 --dir /d --save  --appendonly no --databases 2";
        assert_eq!(args(&options, None).join(" "), expected);
    }

    /// A Sentinel's config file is its first argument and `--sentinel` the second; it gets no
    /// data options, even when persistent.
    #[test]
    fn a_sentinel_starts_from_its_config_file() {
        let options = RedisOptions {
            role: Role::Sentinel,
            persistent: true,
            ..RedisOptions::default()
        };
        let args = args(&options, Some(Path::new("/d/sentinel.conf")));
        assert_eq!(args[..2], ["/d/sentinel.conf", "--sentinel"]);
        assert_eq!(args[2..].join(" "), "--port 7000 --bind 127.0.0.1 --dir /d");
    }

    /// A TLS server has no plain port; its TLS port is the port, with the three files and no
    /// client certificates; a config file still comes first and extra arguments last.
    #[test]
    fn a_tls_server_listens_on_its_tls_port_only() {
        let options = RedisOptions {
            tls: Some(TlsOptions {
                cert_file: "/c/server.crt".into(),
                key_file: "/c/server.key".into(),
                ca_cert_file: "/c/ca.crt".into(),
            }),
            extra_args: vec!["--maxclients".into(), "9".into()],
            ..RedisOptions::default()
        };
        let args = args(&options, Some(Path::new("/d/redis.conf")));
        assert_eq!(args[0], "/d/redis.conf");
        let expected = "--port 0 --tls-port 7000 --bind 127.0.0.1 --dir /d \
            --tls-cert-file /c/server.crt --tls-key-file /c/server.key \
            --tls-ca-cert-file /c/ca.crt --tls-auth-clients no \
            --save  --appendonly no --maxclients 9";
        assert_eq!(args[1..].join(" "), expected);
    }
}
