//! Errors at the broker boundary.

/// What can go wrong talking to a broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The broker could not be reached or did not answer in time; retrying may succeed.
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// The broker answered with something this version does not understand.
    #[error("broker protocol error: {0}")]
    Protocol(String),
    /// The broker is set up in a way the log cannot work with; the message says what to
    /// change. Retrying does not help.
    #[error("broker misconfigured: {0}")]
    Config(String),
    /// The event was stored, but not confirmed as durable as configured (`--acks
    /// replicas:N`); retrying with the same id stores nothing twice and may succeed.
    #[error("not durable yet: {0}")]
    NotDurable(String),
}

impl From<redis::RedisError> for BrokerError {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
        {
            BrokerError::Unavailable(e.to_string())
        } else {
            BrokerError::Protocol(e.to_string())
        }
    }
}

/// Result alias for broker operations.
pub type Result<T> = std::result::Result<T, BrokerError>;
