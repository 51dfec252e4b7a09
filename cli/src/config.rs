//! `multiregion serve`'s settings, in one place: each field of [`Settings`] is a command-line
//! flag, an environment variable (scalars only) and a key of the `--config` TOML file.
//!
//! # Precedence
//! For each key: a flag on the command line, else its environment variable, else the file,
//! else the default. Clap reads the first two and the defaults; [`resolve`] asks it where
//! each value came from ([`ArgMatches::value_source`]) and lets the file replace only the
//! defaults. A repeatable flag (`--region`, `--peer`, …) given on the command line replaces
//! the file's list; it is not appended to it.
//!
//! # Keys
//! A key is the flag's name with `_` for `-` (`--write-timeout-ms` → `write_timeout_ms`);
//! repeatable flags take the plural (`--region` → `regions`, `--peer` → `peers`,
//! `--allow-origin` → `allow_origins`, `--public-url` → `public_urls`). Durations are
//! milliseconds, in `_ms` keys. Environment variables are `MULTIREGION_` and the key in
//! upper case (`MULTIREGION_MAX_CONNECTIONS`), except `REDIS_URL` for `redis`.
//!
//! # Adding a setting
//! Add a field to [`Settings`] (flag, environment variable, default from
//! `server_core::defaults`, doc line = help text) and, for a region setting, one line in
//! [`Settings::region_config`]. The file, `--print-config` and the precedence follow.

use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use serde::{Deserialize, Serialize};
use server_core::broker::{Acks, RedisConfig};
use server_core::defaults;
use server_core::region::RegionConfig;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Every setting of `multiregion serve`: its flags, and the keys of its configuration file.
#[derive(Args, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    // ---- which regions, where ----
    /// Region to run (repeatable).
    #[arg(long = "region", value_name = "NAME", default_values_t = defaults::REGIONS.map(|(n, _)| n.to_string()))]
    pub regions: Vec<String>,
    /// Address to bind. Anything but loopback exposes the regions to the network: use --token.
    #[arg(long, env = "MULTIREGION_BIND", default_value_t = defaults::BIND)]
    pub bind: IpAddr,
    /// Port of the first default region (as); us and eu follow it.
    #[arg(long, env = "MULTIREGION_PORT_BASE", default_value_t = defaults::REGIONS[0].1)]
    pub port_base: u16,
    /// Port of the region, when exactly one --region is given.
    #[arg(long, env = "MULTIREGION_PORT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Directory of the built UI to serve at `/`.
    #[arg(long, env = "MULTIREGION_UI_DIR", value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_dir: Option<PathBuf>,
    /// Another region the UI should connect to, as NAME=URL (repeatable).
    #[arg(long = "peer", value_name = "NAME=URL")]
    pub peers: Vec<String>,
    /// The URL browsers reach this region at, advertised in `/regions` (default: the bound
    /// address, with 0.0.0.0 shown as 127.0.0.1). `URL` with one --region, else `NAME=URL`
    /// (repeatable). Pages served from it are accepted by every region that lists it.
    #[arg(long = "public-url", value_name = "[NAME=]URL")]
    pub public_urls: Vec<String>,
    /// Extra web origin allowed to open WebSockets (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Shared token clients must present (`?token=` or `Authorization: Bearer`).
    #[arg(long, env = "MULTIREGION_TOKEN", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Simulated WAN between each region and the broker: `off`, or `global` (US 20 ms,
    /// EU 45 ms, AS 90 ms one way). Changeable at run time with `PUT /sim`.
    #[arg(long, env = "MULTIREGION_SIM", default_value = "off", value_parser = wire::sim::presets::NAMES)]
    pub sim: String,

    // ---- the broker ----
    /// Redis URL of the shared log. Default: redis://127.0.0.1:6379 if it answers, else (with
    /// --private-redis) a private redis-server, else the embedded broker.
    #[arg(long, env = "REDIS_URL", value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
    /// The Redis tried when --redis is not given; if it does not answer, the next step is used.
    #[arg(long, env = "MULTIREGION_DEFAULT_REDIS", default_value = defaults::REDIS_URL, value_name = "URL")]
    pub default_redis: String,
    /// When no Redis is given or answers, start a private redis-server (stopped on exit)
    /// before falling back to the embedded broker: the desktop app's chain.
    #[arg(long, env = "MULTIREGION_PRIVATE_REDIS", action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true", value_name = "BOOL")]
    pub private_redis: bool,
    /// Key prefix in Redis (separate logs can share one Redis).
    #[arg(long, env = "MULTIREGION_REDIS_PREFIX", default_value = defaults::REDIS_PREFIX)]
    pub redis_prefix: String,
    /// Events kept in the log's history (and ids kept for deduplication).
    #[arg(long, env = "MULTIREGION_HISTORY", default_value_t = defaults::HISTORY)]
    pub history: usize,
    /// When a publish is acked: `primary` (once the Redis primary stored it) or `replicas:N`
    /// (only once `WAIT` confirms N replicas hold it; otherwise the client gets a temporary
    /// error and retries by id, which never stores it twice).
    #[arg(
        long,
        env = "MULTIREGION_ACKS",
        default_value = "primary",
        value_name = "primary|replicas:N"
    )]
    pub acks: String,
    /// How long a publish waits for its replicas with `--acks replicas:N`, in milliseconds.
    #[arg(
        long,
        env = "MULTIREGION_ACKS_TIMEOUT_MS",
        default_value_t = 1000,
        value_name = "MS"
    )]
    pub acks_timeout_ms: u64,
    /// PEM file of the CA that signed the Redis server's certificate (`rediss://`), when it
    /// is not in the system's trust store.
    #[arg(long, env = "MULTIREGION_REDIS_CA", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_ca: Option<PathBuf>,

    // ---- each client ----
    /// Clients one region holds at most (WebSocket and Socket.IO); more get 503.
    #[arg(long, env = "MULTIREGION_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Events a client may fall behind before it is disconnected as a slow consumer.
    #[arg(long, env = "MULTIREGION_CLIENT_QUEUE", default_value_t = defaults::CLIENT_QUEUE)]
    pub client_queue: usize,
    /// How long one frame may take to go out before the client counts as slow, in ms.
    #[arg(long, env = "MULTIREGION_WRITE_TIMEOUT_MS", value_name = "MS",
          default_value_t = defaults::WRITE_TIMEOUT.as_millis() as u64)]
    pub write_timeout_ms: u64,
    /// How long a slow consumer gets to read why it is disconnected, in ms.
    #[arg(long, env = "MULTIREGION_SLOW_GRACE_MS", value_name = "MS",
          default_value_t = defaults::SLOW_GRACE.as_millis() as u64)]
    pub slow_grace_ms: u64,
    /// How often each client is pinged, in ms; one silent for two intervals is dropped.
    #[arg(long, env = "MULTIREGION_PING_INTERVAL_MS", value_name = "MS",
          default_value_t = defaults::PING_INTERVAL.as_millis() as u64)]
    pub ping_interval_ms: u64,
    /// Sustained publishes per second allowed per connection.
    #[arg(long, env = "MULTIREGION_PUBLISH_RATE", default_value_t = defaults::PUBLISH_RATE)]
    pub publish_rate: u32,
    /// Publishes allowed in one burst per connection.
    #[arg(long, env = "MULTIREGION_PUBLISH_BURST", default_value_t = defaults::PUBLISH_BURST)]
    pub publish_burst: u32,
    /// Resumes that may read history at once per region; more wait their turn.
    #[arg(long, env = "MULTIREGION_CONCURRENT_REPLAYS", default_value_t = defaults::CONCURRENT_REPLAYS)]
    pub concurrent_replays: usize,
    /// Frames one connection may have unanswered (publishes in flight, replies not yet
    /// sent); past it the server stops reading that socket until replies go out.
    #[arg(long, env = "MULTIREGION_PUBLISH_PIPELINE", default_value_t = defaults::PUBLISH_PIPELINE)]
    pub publish_pipeline: usize,
}

/// Why the settings could not be resolved; nothing is started.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML (the message names the line and column).
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// toml's message, with line and column.
        message: String,
    },
    /// A key no setting has.
    #[error("{path}, line {line}: unknown key `{key}` (the keys are: {known})")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// Where.
        line: usize,
        /// The key.
        key: String,
        /// Every key, comma-separated.
        known: String,
    },
    /// A value that does not fit its key.
    #[error("{origin}: bad value for `{key}`: {message}")]
    BadValue {
        /// The key.
        key: String,
        /// Where it was set: `FILE, line N`, `--flag`, or an environment variable.
        origin: String,
        /// Why it does not fit.
        message: String,
    },
}

/// Where each key's value came from, for error messages.
struct Origins<'a> {
    matches: &'a ArgMatches,
    /// Keys set by the file, with the file and the line.
    file: BTreeMap<String, String>,
}

impl Origins<'_> {
    fn of(&self, key: &str) -> String {
        let command = Settings::augment_args(clap::Command::new("settings"));
        let arg = command.get_arguments().find(|a| a.get_id() == key);
        match self.matches.value_source(key) {
            Some(ValueSource::CommandLine) => {
                format!("--{}", arg.and_then(|a| a.get_long()).unwrap_or(key))
            }
            Some(ValueSource::EnvVariable) => {
                let env = arg.and_then(|a| a.get_env()).unwrap_or_default();
                format!("the environment ({})", env.to_string_lossy())
            }
            _ => self
                .file
                .get(key)
                .cloned()
                .unwrap_or_else(|| "the defaults".into()),
        }
    }
}

/// The effective settings: `cli` (flags, environment, defaults as clap parsed them into
/// `matches`) with the keys of the file at `file` replacing the defaults. Every key of the
/// file is checked, also those the command line overrides.
pub fn resolve(
    matches: &ArgMatches,
    cli: Settings,
    file: Option<&Path>,
) -> Result<Settings, ConfigError> {
    let mut origins = Origins {
        matches,
        file: BTreeMap::new(),
    };
    let settings = match file {
        None => cli,
        Some(path) => merge_file(matches, cli, path, &mut origins.file)?,
    };
    settings.validate(&origins)?;
    Ok(settings)
}

fn merge_file(
    matches: &ArgMatches,
    cli: Settings,
    path: &Path,
    file_origins: &mut BTreeMap<String, String>,
) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    let doc: BTreeMap<Spanned<String>, toml::Value> =
        toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            path: path.into(),
            message: e.to_string().trim_end().into(),
        })?;
    let base = toml::Table::try_from(&cli).expect("settings serialize as a table");
    let keys = keys();
    let mut merged = base.clone();
    for (key, value) in doc {
        let line = text[..key.span().start].matches('\n').count() + 1;
        let key = key.into_inner();
        if !keys.contains(&key) {
            return Err(ConfigError::UnknownKey {
                path: path.into(),
                line,
                key,
                known: keys.join(", "),
            });
        }
        let origin = format!("{}, line {line}", path.display());
        // Check this value alone against its field's type.
        let mut probe = base.clone();
        probe.insert(key.clone(), value.clone());
        if let Err(e) = probe.try_into::<Settings>() {
            return Err(ConfigError::BadValue {
                key,
                origin,
                message: e.message().trim_end().into(),
            });
        }
        let explicit = matches!(
            matches.value_source(&key),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        if !explicit {
            merged.insert(key.clone(), value);
            file_origins.insert(key, origin);
        }
    }
    Ok(merged
        .try_into()
        .expect("every value was checked against its field"))
}

/// Every key, in the order of [`Settings`].
pub fn keys() -> Vec<String> {
    Settings::augment_args(clap::Command::new("settings"))
        .get_arguments()
        .map(|a| a.get_id().as_str().to_owned())
        .collect()
}

impl Settings {
    /// Checks clap cannot make for the file's values (and the same for the flags): presets,
    /// `acks`, and the settings that must be at least 1.
    fn validate(&self, origins: &Origins) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| ConfigError::BadValue {
            key: key.into(),
            origin: origins.of(key),
            message,
        };
        if !wire::sim::presets::NAMES.contains(&self.sim.as_str()) {
            let names = wire::sim::presets::NAMES.join(", ");
            return Err(bad("sim", format!("{:?} is not one of {names}", self.sim)));
        }
        self.acks
            .parse::<Acks>()
            .map_err(|e| bad("acks", e.to_string()))?;
        let at_least_one = [
            ("max_connections", self.max_connections as u64),
            ("client_queue", self.client_queue as u64),
            ("write_timeout_ms", self.write_timeout_ms),
            ("ping_interval_ms", self.ping_interval_ms),
            ("publish_rate", self.publish_rate.into()),
            ("publish_burst", self.publish_burst.into()),
            ("concurrent_replays", self.concurrent_replays as u64),
            ("history", self.history as u64),
            ("publish_pipeline", self.publish_pipeline as u64),
        ];
        for (key, value) in at_least_one {
            if value == 0 {
                return Err(bad(key, "must be at least 1".into()));
            }
        }
        if self.regions.is_empty() {
            return Err(bad("regions", "name at least one region".into()));
        }
        Ok(())
    }

    /// The configuration of the region called `name` (without its peers and link, which
    /// depend on the other regions).
    pub fn region_config(&self, name: &str) -> RegionConfig {
        let mut config = RegionConfig::new(name);
        config.ui_dir = self.ui_dir.clone();
        config.allowed_origins = self.allow_origins.clone();
        config.token = self.token.clone();
        config.max_connections = self.max_connections;
        config.client_queue = self.client_queue;
        config.write_timeout = Duration::from_millis(self.write_timeout_ms);
        config.slow_grace = Duration::from_millis(self.slow_grace_ms);
        config.ping_interval = Duration::from_millis(self.ping_interval_ms);
        config.publish_rate = self.publish_rate;
        config.publish_burst = self.publish_burst;
        config.concurrent_replays = self.concurrent_replays;
        config.publish_pipeline = self.publish_pipeline;
        config
    }

    /// The log's settings for every Redis tried (each step of the choice sets the URL).
    pub fn log(&self) -> RedisConfig {
        RedisConfig {
            prefix: self.redis_prefix.clone(),
            history: self.history,
            acks: self.acks.parse().expect("validated"),
            ack_timeout: Duration::from_millis(self.acks_timeout_ms),
            ca_file: self.redis_ca.clone(),
            ..RedisConfig::default()
        }
    }

    /// The settings as a TOML file `--config` accepts back; keys that are not set are listed
    /// as comments.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("settings serialize as TOML");
        let table: toml::Table = body.parse().expect("toml reads what it wrote");
        let mut out = String::from(
            "# multiregion serve: the effective configuration (flags over environment over \
             file over defaults).\n# Durations are in milliseconds.\n",
        );
        out.push_str(&body);
        for key in keys().into_iter().filter(|k| !table.contains_key(k)) {
            out.push_str(&format!("# {key}: not set\n"));
        }
        out
    }
}
