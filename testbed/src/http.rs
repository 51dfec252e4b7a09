//! The HTTP requests the testbed makes: a blocking `GET` of a region's API (`/health`,
//! `/regions`) from the root namespace over the bridge, and the chaos run's `PUT /sim`.
//!
//! Not testkit's `http` (reqwest, async), on purpose:
//! - It must fail, not hang and not panic. The testbed polls regions that are still starting,
//!   partitioned (iptables drops packets silently: no reset, no refusal) or killed, and a
//!   test reads "no answer" as a result (`health(..).is_ok_and(..)` while a fault is on); so
//!   every request is bounded ([`CONNECT`], [`READ`]) and returns an [`Error`]. testkit's
//!   helpers have no timeout and panic when a request cannot be sent, which is right for a
//!   test on loopback that expects its answer.
//! - It is called from plain threads (a test's, and `testbed up`'s), with no runtime.
//! - It ships in the `testbed` binary (`testbed up` waits for each region with it), and
//!   testkit is a dev-only crate that nothing shipped may link.
//!
//! The request is one fixed line (`Connection: close`, read to the end), which is all a
//! region's JSON endpoints need.

use crate::{Error, Result};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Bound on connecting (a silent host drops the SYN: this is how long that takes to notice).
pub const CONNECT: Duration = Duration::from_secs(2);
/// Bound on waiting for the answer once connected.
pub const READ: Duration = Duration::from_secs(5);

/// `GET path` on `addr` over plain HTTP/1.1; the body of a 200 answer, else an error that
/// says what came back.
pub fn get(addr: SocketAddr, path: &str) -> Result<String> {
    request(addr, "GET", path, "", "")
}

/// `PUT path` on `addr` with a JSON `body` and the bearer `token` (the chaos run's `PUT
/// /sim`); the body of a 200 answer.
pub fn put(addr: SocketAddr, path: &str, token: &str, body: &str) -> Result<String> {
    let headers = format!(
        "Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    request(addr, "PUT", path, &headers, body)
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, CONNECT)?;
    s.set_read_timeout(Some(READ))?;
    s.set_write_timeout(Some(READ))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n{body}"
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if !head.starts_with("HTTP/1.1 200") {
        return Err(Error::NotReady(format!(
            "{method} {path} on {addr}: {head}"
        )));
    }
    Ok(body.to_owned())
}
