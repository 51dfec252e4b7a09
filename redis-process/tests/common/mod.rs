//! What the launch tests share: raw commands, certificates, and proof that a server is gone.
#![allow(dead_code)] // Each test file uses its own share.

use redis_process::STOP_TIMEOUT;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Wait until nothing accepts connections on `port` any more.
pub fn wait_until_closed(port: u16) {
    let deadline = Instant::now() + STOP_TIMEOUT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "redis still up on {port}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Assert that a dropped server left nothing behind: no process, no directory, no listener.
pub fn assert_gone(pid: u32, dir: &Path, port: u16) {
    let alive = Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("kill -0")
        .success();
    assert!(!alive, "redis-server {pid} still runs");
    assert!(!dir.exists(), "{} is still there", dir.display());
    wait_until_closed(port);
}

/// One inline command in plain text, and whatever the first read returns.
pub fn command(port: u16, line: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(line.as_bytes()).unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A directory of the test's own under the temp dir, empty.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mrs-launch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A throwaway CA `<ca>.crt` in `dir` and, signed by it, `server.crt`/`server.key` for
/// `127.0.0.1`; made with openssl. Returns `(ca, cert, key)`.
pub fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    make_ca(dir, "ca");
    openssl(
        dir,
        &[
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
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
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
        ],
    );
    (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}

/// A self-signed CA `<name>.crt` (and `<name>.key`) in `dir`.
pub fn make_ca(dir: &Path, name: &str) -> PathBuf {
    let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "1",
            "-subj",
            "/CN=mrs launch test CA",
        ],
    );
    dir.join(crt)
}

fn openssl(dir: &Path, args: &[&str]) {
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
}
