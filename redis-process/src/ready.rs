//! Readiness: whether a redis-server answers `PING` on its loopback port, in plain text
//! ([`ping`]) or over TLS ([`Readiness::Tls`]: a verified handshake, then `PING`).
//!
//! TLS uses rustls with the ring provider, which every user of this crate already builds
//! (server-core needs them for `rediss://`), so checking a TLS server costs no new crate and
//! no `redis-cli`.

use crate::{CaCertError, LaunchError};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How to tell that a started server is ready.
#[derive(Debug)]
pub(crate) enum Readiness {
    /// It answers `PING` in plain text.
    Plain,
    /// It answers `PING` over TLS, with a certificate that this client config trusts.
    Tls(Arc<rustls::ClientConfig>),
}

impl Readiness {
    /// A TLS check trusting the CA certificates (PEM) in `ca_cert_file`. Read once, before
    /// the server is spawned, so a wrong file is an error at once, not a timeout.
    pub(crate) fn tls(ca_cert_file: &Path) -> Result<Readiness, LaunchError> {
        let fail = |source| LaunchError::CaCert {
            path: ca_cert_file.to_path_buf(),
            source,
        };
        let pem = std::fs::read(ca_cert_file).map_err(|e| fail(CaCertError::Read(e)))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| fail(CaCertError::Pem(e)))?;
            roots
                .add(cert)
                .map_err(|e| fail(CaCertError::Rejected(e)))?;
        }
        if roots.is_empty() {
            return Err(fail(CaCertError::Empty));
        }
        // A provider of our own, not the process-wide default, which we must not install
        // for the program that embeds us.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(CaCertError::Rejected(e)))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Readiness::Tls(Arc::new(config)))
    }

    /// Whether the server on `127.0.0.1:port` answers `PING` within `timeout` (per step).
    pub(crate) fn answers(&self, port: u16, timeout: Duration) -> bool {
        match self {
            Readiness::Plain => ping(port, timeout),
            Readiness::Tls(config) => ping_tls(config, port, timeout).unwrap_or(false),
        }
    }
}

/// Whether a Redis answers `PING` in plain text on `127.0.0.1:port` within `timeout` (per
/// step). A TLS-only server never does.
pub fn ping(port: u16, timeout: Duration) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut stream = connect(port, timeout)?;
        exchange(&mut stream)
    };
    attempt().unwrap_or(false)
}

fn ping_tls(
    config: &Arc<rustls::ClientConfig>,
    port: u16,
    timeout: Duration,
) -> std::io::Result<bool> {
    let mut tcp = connect(port, timeout)?;
    // The server is on loopback, so 127.0.0.1 is the name its certificate must carry.
    let name = ServerName::IpAddress(Ipv4Addr::LOCALHOST.into());
    let mut tls =
        rustls::ClientConnection::new(Arc::clone(config), name).map_err(std::io::Error::other)?;
    // The handshake (and the certificate check) happens on the first write.
    let pong = exchange(&mut rustls::Stream::new(&mut tls, &mut tcp))?;
    // Say goodbye properly, so the server does not log a broken connection.
    tls.send_close_notify();
    let _ = tls.complete_io(&mut tcp);
    Ok(pong)
}

fn connect(port: u16, timeout: Duration) -> std::io::Result<TcpStream> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

/// Send an inline `PING`; whether the reply is `+PONG`.
fn exchange(stream: &mut (impl Read + Write)) -> std::io::Result<bool> {
    stream.write_all(b"PING\r\n")?;
    stream.flush()?;
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply)?;
    Ok(&reply == b"+PONG\r\n")
}
