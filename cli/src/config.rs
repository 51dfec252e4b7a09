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
//! Add a field to the group it belongs to (`server_core::settings`, `BrokerSettings`,
//! `Deployment`: its flag, environment variable, default from `server_core::defaults`, doc
//! line = help text). The file, `--print-config` and the precedence follow.

use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use serde::{Deserialize, Serialize};
use server_core::choice::BrokerSettings;
use server_core::serve::{Deployment, Shared};
use server_core::settings::{AccessConfig, ClientLimits, PublishLimits};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Every setting of `multiregion serve`: its flags, and the keys of its configuration file,
/// by concern (each group and its settings are documented where they are defined).
#[derive(Args, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Settings {
    /// Which regions run where ([`Deployment`]).
    #[command(flatten)]
    #[serde(flatten)]
    pub deployment: Deployment,
    /// Who may act on them ([`AccessConfig`]).
    #[command(flatten)]
    #[serde(flatten)]
    pub access: AccessConfig,
    /// Simulated WAN between each region and the broker: `off`, or `global` (US 20 ms,
    /// EU 45 ms, AS 90 ms one way). Changeable at run time with `PUT /sim`.
    #[arg(long, env = "MULTIREGION_SIM", default_value = "off", value_parser = wire::sim::presets::NAMES)]
    pub sim: String,
    /// The broker ([`BrokerSettings`]).
    #[command(flatten)]
    #[serde(flatten)]
    pub broker: BrokerSettings,
    /// What each client may hold ([`ClientLimits`]).
    #[command(flatten)]
    #[serde(flatten)]
    pub clients: ClientLimits,
    /// What each connection may publish ([`PublishLimits`]).
    #[command(flatten)]
    #[serde(flatten)]
    pub publishing: PublishLimits,
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
    /// Checks clap cannot make for the file's values (and the same for the flags): the
    /// preset, and the settings that must be at least 1.
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
        let positive = self
            .clients
            .positive()
            .into_iter()
            .chain(self.publishing.positive())
            .chain([
                ("history", self.broker.history as u64),
                ("partitions", self.broker.partitions.into()),
            ]);
        for (key, value) in positive {
            if value == 0 {
                return Err(bad(key, "must be at least 1".into()));
            }
        }
        if self.deployment.regions.is_empty() {
            return Err(bad("regions", "name at least one region".into()));
        }
        Ok(())
    }

    /// What every region of the deployment shares.
    pub fn shared(&self) -> Shared<'_> {
        Shared {
            access: &self.access,
            clients: &self.clients,
            publishing: &self.publishing,
            sim: &self.sim,
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
