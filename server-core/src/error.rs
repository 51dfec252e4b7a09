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
