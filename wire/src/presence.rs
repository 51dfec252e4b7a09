//! Presence: who is connected, in which region, on which channel.
//!
//! Every connection that follows a channel is a member of it, under a display name (given
//! on connect with `/ws?name=…`, or an anonymous one). A client that asks for presence when
//! it subscribes gets the channel's members ([`ServerFrame::Presence`](crate::ServerFrame))
//! and then a `join` or `leave` frame for every change, in one order that every region's
//! clients agree on.

use serde::{Deserialize, Serialize};

/// Longest accepted display name, in characters.
pub const MAX_NAME_CHARS: usize = 32;

/// Most members one `presence` frame (or `GET /presence`) lists; its `count` is exact
/// beyond.
pub const MAX_LISTED: usize = 1000;

/// One member of a channel: one connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    /// The connection's id, unique across regions and restarts.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The region it is connected to.
    pub region: String,
    /// When it joined the channel (Unix µs, its region's clock).
    pub since: crate::Micros,
}

/// A name that is not a display name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadName {
    /// Empty (after trimming) or over [`MAX_NAME_CHARS`] characters.
    #[error("a name is 1 to {MAX_NAME_CHARS} characters; {0} is not")]
    Length(usize),
    /// A character other than letters, digits, spaces and `_ - . ' @`.
    #[error("a name has letters, digits, spaces and _ - . ' @ only (found {0:?})")]
    Character(char),
}

/// `name` as a display name (trimmed), or why not: 1 to [`MAX_NAME_CHARS`] letters, digits
/// (any script), spaces and `_ - . ' @`.
pub fn check_name(name: &str) -> Result<String, BadName> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(BadName::Length(chars));
    }
    match name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | '\'' | '@')))
    {
        Some(c) => Err(BadName::Character(c)),
        None => Ok(name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_rules() {
        assert_eq!(check_name("  Ada Lovelace "), Ok("Ada Lovelace".into()));
        assert_eq!(check_name("李雷"), Ok("李雷".into()));
        assert_eq!(check_name("o'neil@eu"), Ok("o'neil@eu".into()));
        assert_eq!(check_name(""), Err(BadName::Length(0)));
        assert_eq!(check_name(&"x".repeat(33)), Err(BadName::Length(33)));
        assert_eq!(check_name("a<b"), Err(BadName::Character('<')));
        assert_eq!(check_name("tab\there"), Err(BadName::Character('\t')));
    }
}
