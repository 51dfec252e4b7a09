//! Why a region refuses this page: the answer of its guard (origin, then token), as the
//! state keeps it per pane and the socket learns it from a probe ([`crate::platform::refusal`]).
//!
//! Pure data, in its own module so that the state does not reach into the DOM edge for it.

/// Why a region refuses this page, as far as its guard says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `401`: the region needs a token and this tab has none, or another one.
    Token,
    /// `403`: the region does not accept pages from this page's origin.
    Origin,
}

impl Refusal {
    /// What an HTTP status from the guard means: `401` the token, `403` the origin; any other
    /// status is no refusal (the guard let the request through).
    pub fn from_status(status: u16) -> Option<Refusal> {
        match status {
            401 => Some(Refusal::Token),
            403 => Some(Refusal::Origin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Refusal;

    #[test]
    fn only_the_guards_statuses_are_refusals() {
        assert_eq!(Refusal::from_status(401), Some(Refusal::Token));
        assert_eq!(Refusal::from_status(403), Some(Refusal::Origin));
        assert_eq!(
            Refusal::from_status(400),
            None,
            "past the guard: the probe's body"
        );
        assert_eq!(Refusal::from_status(200), None);
    }
}
