//! Errors that commands return to the UI.

use serde::{Serialize, Serializer};
use server_core::choice::ChoiceError;

/// What went wrong in a command. The UI receives the message only (see the `Serialize` impl).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Redis URL the user asked for could not be used; the app keeps its current broker.
    #[error("could not use Redis at {url}: {reason}. Still using the previous broker.")]
    Redis {
        /// The URL asked for.
        url: String,
        /// Why it failed, in words.
        reason: String,
    },
    /// The app could not start its private `redis-server`.
    #[error("could not start a private redis-server: {0}")]
    PrivateRedis(String),
    /// A region could not listen.
    #[error("could not start the regions: {0}")]
    Io(#[from] std::io::Error),
    /// A command came in while the app was shutting down.
    #[error("the regions are stopped (the app is shutting down)")]
    Stopped,
}

impl From<ChoiceError> for Error {
    fn from(e: ChoiceError) -> Self {
        match e {
            ChoiceError::Redis { url, reason } => Error::Redis { url, reason },
            ChoiceError::Private(reason) => Error::PrivateRedis(reason),
        }
    }
}

// Commands reject with a plain string: the UI shows it as is.
impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// Result of this crate's operations.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The UI sees the message, not a tagged enum.
    #[test]
    fn serializes_as_its_message() {
        let e = Error::Redis {
            url: "redis://nowhere:1".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!(
                "could not use Redis at redis://nowhere:1: connection refused. Still using the previous broker."
            )
        );
    }
}
