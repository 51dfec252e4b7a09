//! `multiregion serve`'s configuration, as a user meets it: flags over environment over the
//! `--config` file over defaults (seen through `--print-config`), errors that name the key
//! (and the line) before anything starts, and a file value reaching a running region.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use testkit::{free_port, Client};

/// `multiregion serve ARGS` with `env` set and every other setting variable removed.
fn serve_cmd(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_multiregion"));
    cmd.arg("serve").args(args).env("NO_COLOR", "1");
    for (k, _) in std::env::vars() {
        if k.starts_with("MULTIREGION_") || k == "REDIS_URL" {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    serve_cmd(args, env).output().unwrap()
}

/// The `--print-config` output of `args`; fails the test if it exits with an error.
fn print_config(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut all = args.to_vec();
    all.push("--print-config");
    let out = run(&all, env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A file in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn to_str(&self) -> Option<&str> {
        self.0.to_str()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A file in the temporary directory with `text`, named after the test.
fn file(name: &str, text: &str) -> TempFile {
    let path = std::env::temp_dir().join(format!("multiregion-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    TempFile(path)
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

/// A key set only in the file comes from the file; the environment overrides the file; a
/// flag overrides both; a key set nowhere keeps its default.
#[test]
fn flags_over_environment_over_file_over_defaults() {
    let path = file(
        "precedence",
        "max_connections = 5\nclient_queue = 7\nhistory = 9\nregions = [\"us\"]\n",
    );
    let printed = print_config(
        &["--config", path.to_str().unwrap(), "--history", "900"],
        &[
            ("MULTIREGION_CLIENT_QUEUE", "70"),
            ("MULTIREGION_HISTORY", "90"),
        ],
    );
    assert!(has_line(&printed, "max_connections = 5"), "{printed}");
    assert!(has_line(&printed, "client_queue = 70"), "{printed}");
    assert!(has_line(&printed, "history = 900"), "{printed}");
    assert!(has_line(&printed, "regions = [\"us\"]"), "{printed}");
    assert!(has_line(&printed, "publish_rate = 1000"), "{printed}");
    // A repeatable flag replaces the file's list.
    let printed = print_config(&["--config", path.to_str().unwrap(), "--region", "eu"], &[]);
    assert!(has_line(&printed, "regions = [\"eu\"]"), "{printed}");
}

/// A key no setting has is refused with its name and line, and nothing starts.
#[test]
fn an_unknown_key_names_the_key_and_the_line() {
    let port = free_port();
    let path = file(
        "unknown",
        &format!("regions = [\"us\"]\nport = {port}\n\nmax_conections = 3\n"),
    );
    let out = run(&["--config", path.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 4") && err.contains("`max_conections`"),
        "{err}"
    );
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "nothing listens"
    );
}

/// A value of the wrong type names the key and the line, in the file and on the command
/// line; a value out of range names the key too.
#[test]
fn a_bad_value_names_the_key() {
    let path = file("badtype", "history = 10\nwrite_timeout_ms = \"5s\"\n");
    let out = run(&["--config", path.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2") && err.contains("`write_timeout_ms`"),
        "{err}"
    );

    let out = run(&["--max-connections", "0", "--print-config"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_connections"), "{err}");

    let out = run(&["--ping-interval-ms", "soon"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--ping-interval-ms"), "{err}");
}

/// What `--print-config` prints, `--config` reads back to the same configuration.
#[test]
fn print_config_round_trips_through_config() {
    let first = print_config(
        &[
            "--region",
            "us",
            "--region",
            "eu",
            "--max-connections",
            "12",
            "--write-timeout-ms",
            "750",
            "--peer",
            "as=http://10.0.0.1:4000",
            "--token",
            "s3cret",
            "--acks",
            "replicas:1",
            "--private-redis",
            "--sim",
            "global",
        ],
        &[],
    );
    assert!(has_line(&first, "write_timeout_ms = 750"), "{first}");
    let path = file("roundtrip", &first);
    let second = print_config(&["--config", path.to_str().unwrap()], &[]);
    assert_eq!(first, second);
}

/// A setting from the file reaches the running region: with `max_connections = 1`, a second
/// WebSocket client is refused with 503 while the first keeps working.
#[tokio::test]
async fn a_file_setting_reaches_the_region() {
    let port = free_port();
    let dead_redis = format!("redis://127.0.0.1:{}", free_port());
    let path = file(
        "cap",
        &format!(
            "regions = [\"us\"]\nport = {port}\nmax_connections = 1\ndefault_redis = \"{dead_redis}\"\n"
        ),
    );
    let mut child = serve_cmd(&["--config", path.to_str().unwrap()], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + testkit::PATIENCE;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "server did not listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut first = Client::connect(addr).await;
    match tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 503)
        }
        other => panic!("the second client was not refused: {:?}", other.map(|_| ())),
    }
    first.publish_and_wait("file-1").await;
    assert_eq!(first.events(1).await[0].id, "file-1");
    let _ = child.kill();
    let _ = child.wait();
}
