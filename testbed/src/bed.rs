//! [`Testbed`]: the namespaces up, Redis and the three regions running by the README's recipe.

use crate::host::{self, OPT_OUT};
use crate::http;
use crate::net::{self, Host};
use crate::recipe::{self, Step};
use crate::{Error, Result};
use nix::fcntl::Flock;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a host may take to answer after its process starts.
const READY: Duration = Duration::from_secs(20);

/// How to run the testbed.
#[derive(Debug, Clone)]
pub struct Options {
    /// The shared token (`$SECRET` of the recipe).
    pub token: String,
    /// The directory holding the `multiregion` binary.
    pub bin_dir: PathBuf,
    /// Where the recipe's relative paths (`ui/dist`) are taken from: the workspace root.
    pub workdir: PathBuf,
    /// Where each host's process writes its log (`<host>.log`).
    pub log_dir: PathBuf,
}

impl Options {
    /// Defaults: a random token, the `multiregion` built next to the running executable (a
    /// test's `target/debug/deps/..`, or `$MULTIREGION_BIN`'s directory), this workspace.
    pub fn new() -> Result<Options> {
        let workdir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the testbed crate is in the workspace")
            .to_path_buf();
        Ok(Options {
            token: format!("tb-{:016x}", rand_u64()),
            bin_dir: bin_dir()?,
            log_dir: std::env::temp_dir().join("multiregion-testbed-logs"),
            workdir,
        })
    }
}

/// Where `multiregion` is: `$MULTIREGION_BIN`, else next to (or one directory above) this
/// executable, which is where cargo puts the workspace's binaries.
fn bin_dir() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("MULTIREGION_BIN") {
        let bin = PathBuf::from(bin);
        return Ok(bin.parent().unwrap_or(Path::new(".")).to_path_buf());
    }
    let exe = std::env::current_exe()?;
    exe.ancestors()
        .skip(1)
        .take(2)
        .find(|d| d.join("multiregion").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            Error::NotReady(format!(
                "no `multiregion` binary next to {} (build it first: `cargo build --workspace \
                 --bins`, as `cargo xtask test` does; or set MULTIREGION_BIN)",
                exe.display()
            ))
        })
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

/// A running testbed. Dropping it removes it.
pub struct Testbed {
    options: Options,
    steps: Vec<Step>,
    procs: HashMap<Host, Child>,
    _lock: Option<Flock<File>>,
}

/// The testbed for a test: `None` (with a note) when the developer opted out, else up, or a
/// panic saying why not.
pub fn for_test() -> Option<Testbed> {
    if host::opted_out() {
        eprintln!("testbed test skipped: {OPT_OUT}=skip");
        return None;
    }
    match Options::new().and_then(Testbed::up) {
        Ok(bed) => Some(bed),
        Err(e) => panic!("{e}"),
    }
}

impl Testbed {
    /// Remove any leftover, build the network, then run the README's recipe: Redis, then
    /// each region, each waited for until it answers.
    pub fn up(options: Options) -> Result<Testbed> {
        host::check()?;
        let lock = host::lock()?;
        host::on_signal_cleanup();
        net::cleanup();
        host::set_active(true);
        let mut bed = Testbed {
            steps: recipe::steps(recipe::README)?,
            options,
            procs: HashMap::new(),
            _lock: Some(lock),
        };
        std::fs::create_dir_all(&bed.options.log_dir)?;
        net::create()?;
        for step in bed.steps.clone() {
            bed.start(step.host)?;
        }
        Ok(bed)
    }

    /// Leave the testbed running after this value is gone (`cargo xtask testbed up`); the
    /// processes keep running, and [`net::cleanup`] (`testbed down`) removes it all.
    pub fn detach(mut self) {
        self.procs.clear();
        host::set_active(false);
        std::mem::forget(self);
    }

    /// The shared token.
    pub fn token(&self) -> &str {
        &self.options.token
    }

    /// `http://10.203.77.11:4000` for AS, and so on.
    pub fn url(&self, region: Host) -> String {
        format!("http://{}", region_addr(region))
    }

    /// The recipe's commands, as run.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Start `host`'s recipe command, and wait until it answers.
    pub fn start(&mut self, host: Host) -> Result<()> {
        let step = self
            .steps
            .iter()
            .find(|s| s.host == host)
            .ok_or_else(|| Error::Recipe(format!("no command for {}", host.name())))?;
        let log_path = self.options.log_dir.join(format!("{}.log", host.name()));
        let child = spawn_in(&host.netns(), &step.command, &self.options, &log_path)?;
        self.procs.insert(host, child);
        self.wait_ready(host)
    }

    fn wait_ready(&mut self, host: Host) -> Result<()> {
        let deadline = Instant::now() + READY;
        loop {
            let ready = match host {
                Host::Redis => TcpStream::connect_timeout(
                    &SocketAddr::from((host.addr(), 6379)),
                    Duration::from_millis(500),
                )
                .is_ok(),
                _ => self.health(host).is_ok(),
            };
            if ready {
                return Ok(());
            }
            if let Some(child) = self.procs.get_mut(&host) {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(Error::NotReady(format!(
                        "{} exited ({status}) at start; its log:\n{}",
                        host.name(),
                        self.log_tail(host)
                    )));
                }
            }
            if Instant::now() > deadline {
                return Err(Error::NotReady(format!(
                    "{} did not answer within {READY:?}; its log:\n{}",
                    host.name(),
                    self.log_tail(host)
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL `host`'s process (no chance to close anything) and reap it.
    pub fn kill(&mut self, host: Host) {
        if let Some(mut c) = self.procs.remove(&host) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `GET /health` of a region, from the root namespace over the bridge.
    pub fn health(&self, region: Host) -> Result<wire::Health> {
        let body = http::get(region_addr(region), "/health")?;
        serde_json::from_str(&body).map_err(|e| Error::NotReady(format!("/health: {e}: {body}")))
    }

    /// `GET path` on a region; the body of a 200 answer.
    pub fn get(&self, region: Host, path: &str) -> Result<String> {
        http::get(region_addr(region), path)
    }

    /// The last lines of `host`'s log.
    pub fn log_tail(&self, host: Host) -> String {
        let mut text = String::new();
        let path = self.options.log_dir.join(format!("{}.log", host.name()));
        let _ = File::open(path).and_then(|mut f| f.read_to_string(&mut text));
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// Start `command` with `sh` in the namespace `ns` (of any bed), as the testbed starts its
/// hosts' processes: `multiregion` on `PATH` from [`Options::bin_dir`], `$SECRET` set, in the
/// workspace, output appended to `log_path`, in a process group of its own (a Ctrl-C at the
/// terminal reaches only us, and we remove everything). The child is the command's process
/// itself (`ip netns exec` and `sh -c exec` both exec), so its pid is the server's.
pub(crate) fn spawn_in(
    ns: &str,
    command: &str,
    options: &Options,
    log_path: &Path,
) -> Result<Child> {
    let mut log = File::options().create(true).append(true).open(log_path)?;
    writeln!(log, "--- testbed: {command}")?;
    let path = format!(
        "{}:{}",
        options.bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let child = Command::new("ip")
        .args(["netns", "exec", ns, "sh", "-c"])
        .arg(format!("exec {command}"))
        .current_dir(&options.workdir)
        .env("PATH", path)
        .env("SECRET", &options.token)
        .env("RUST_LOG", "info")
        .env_remove("REDIS_URL")
        .env_remove("MULTIREGION_TOKEN")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()?;
    Ok(child)
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for (_, mut c) in self.procs.drain() {
            let _ = c.kill();
            let _ = c.wait();
        }
        net::cleanup();
        host::set_active(false);
    }
}

/// Where a region listens: its host's address and the recipe's default port.
pub fn region_addr(region: Host) -> SocketAddr {
    let port = match region {
        Host::As => 4000,
        Host::Us => 4001,
        _ => 4002,
    };
    SocketAddr::from((region.addr(), port))
}
