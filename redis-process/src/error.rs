//! Why a start failed: [`LaunchError`], and [`CaCertError`] for a CA certificate that the
//! TLS readiness check cannot use.

use std::path::PathBuf;

/// Why a redis-server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// `redis-server` is not on the `PATH`.
    #[error("no redis-server on the PATH (install it: apt-get install redis-server)")]
    NotFound,
    /// The process could not be spawned.
    #[error("cannot spawn redis-server: {0}")]
    Spawn(std::io::Error),
    /// It was spawned but did not become ready in time (see
    /// [`Role`](crate::Role)), or exited.
    #[error("redis-server did not answer on 127.0.0.1:{port} (port taken, or it failed to start)")]
    NotReady {
        /// The port it was started on (the TLS port of a TLS server).
        port: u16,
    },
    /// The [`config_file`](crate::RedisOptions::config_file) could not be copied into the
    /// server's directory.
    #[error("cannot copy the config file {}: {source}", path.display())]
    ConfigFile {
        /// The file given.
        path: PathBuf,
        /// Why it could not be read or written.
        #[source]
        source: std::io::Error,
    },
    /// The [`ca_cert_file`](crate::TlsOptions::ca_cert_file) cannot be used to check the
    /// server's certificate; nothing was spawned.
    #[error("cannot use {} as the CA certificate: {source}", path.display())]
    CaCert {
        /// The file given.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: CaCertError,
    },
    /// Choosing a port or making its data directory failed.
    #[error("cannot prepare redis-server: {0}")]
    Io(#[from] std::io::Error),
}

/// What is wrong with a CA certificate file.
#[derive(Debug, thiserror::Error)]
pub enum CaCertError {
    /// It cannot be read.
    #[error("cannot read it: {0}")]
    Read(#[source] std::io::Error),
    /// It is not valid PEM.
    #[error("it is not PEM: {0}")]
    Pem(#[source] rustls::pki_types::pem::Error),
    /// It holds no certificate.
    #[error("it holds no certificate")]
    Empty,
    /// rustls will not use it.
    #[error("rustls rejects it: {0}")]
    Rejected(#[source] rustls::Error),
}
