//! The channels a pane follows, and the names a person types for them (pure).
//!
//! A pane's clients follow one or more channels (`global` by default): its socket subscribes
//! to them, and the pane lists only their events. The names are checked here, with the
//! protocol's own rule ([`wire::channel::check_name`]), before anything is sent, so a typo
//! is shown at the field rather than coming back as an `invalid_channel` error frame.

use std::rc::Rc;
use wire::channel::{check_name, BadChannel, MAX_SUBSCRIPTIONS};
use wire::GLOBAL;

/// A channel's name, shared cheaply by the rows, the panes and the sockets that name it.
pub type Channel = Rc<str>;

/// Why a pane cannot follow (or stop following) a channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowError {
    /// Not a channel name.
    #[error(transparent)]
    Bad(#[from] BadChannel),
    /// The pane follows it already.
    #[error("{0} is followed already")]
    Already(String),
    /// The server's limit per connection.
    #[error("a connection follows at most {MAX_SUBSCRIPTIONS} channels")]
    TooMany,
    /// A pane's socket follows at least one channel (a connection that names none is on
    /// `global`, so an empty list could not be asked for anyway).
    #[error("a pane follows at least one channel: add another before removing {0}")]
    Last(String),
}

/// The channels one pane follows, in the order they were added; `global` alone by default.
/// Cloning is O(1): the list is shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follows(Rc<[Channel]>);

impl Default for Follows {
    fn default() -> Self {
        Follows(Rc::from([Channel::from(GLOBAL)]))
    }
}

impl Follows {
    /// These channels (checked, each once, at least one).
    pub fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Follows, FollowError> {
        let mut list: Vec<Channel> = Vec::new();
        for name in names {
            check_name(name)?;
            if !list.iter().any(|c| &**c == name) {
                list.push(name.into());
            }
        }
        match list.len() {
            0 => Err(BadChannel::Length(0).into()),
            n if n > MAX_SUBSCRIPTIONS => Err(FollowError::TooMany),
            _ => Ok(Follows(list.into())),
        }
    }

    /// These and `name` (as typed: surrounding blanks are not part of it).
    pub fn add(&self, name: &str) -> Result<Follows, FollowError> {
        let name = name.trim();
        check_name(name)?;
        if self.contains(name) {
            return Err(FollowError::Already(name.to_owned()));
        }
        if self.0.len() >= MAX_SUBSCRIPTIONS {
            return Err(FollowError::TooMany);
        }
        Ok(Follows(self.iter().cloned().chain([name.into()]).collect()))
    }

    /// These without `name`; the last one stays.
    pub fn remove(&self, name: &str) -> Result<Follows, FollowError> {
        if self.0.len() == 1 && self.contains(name) {
            return Err(FollowError::Last(name.to_owned()));
        }
        Ok(Follows(
            self.iter().filter(|c| &***c != name).cloned().collect(),
        ))
    }

    /// True when `name` is followed.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|c| &**c == name)
    }

    /// The channels, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &Channel> {
        self.0.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true (a pane follows at least one channel); for clippy's `len` rule.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True for the default, `global` alone: what every client did before channels, so the
    /// page shows (and sends) exactly what it did then.
    pub fn is_global_only(&self) -> bool {
        matches!(&*self.0, [only] if &**only == GLOBAL)
    }
}

/// The channel a publish form's field names: `global` when left blank, else the name as
/// typed (surrounding blanks dropped), checked.
pub fn publish_channel(typed: &str) -> Result<Channel, BadChannel> {
    let name = match typed.trim() {
        "" => GLOBAL,
        name => name,
    };
    check_name(name)?;
    Ok(name.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(f: &Follows) -> Vec<&str> {
        f.iter().map(|c| &**c).collect()
    }

    #[test]
    fn a_pane_follows_global_until_told_otherwise() {
        let f = Follows::default();
        assert_eq!(names(&f), ["global"]);
        assert!(f.is_global_only());
        let f = f.add(" room-1 ").unwrap();
        assert_eq!(names(&f), ["global", "room-1"]);
        assert!(!f.is_global_only());
        let f = f.remove("global").unwrap();
        assert_eq!(names(&f), ["room-1"]);
        assert!(!f.is_global_only(), "one channel, but not global");
    }

    #[test]
    fn names_are_checked_with_the_protocols_rule_before_anything_is_sent() {
        let f = Follows::default();
        assert_eq!(
            f.add("room 1"),
            Err(FollowError::Bad(BadChannel::Character(' ')))
        );
        assert_eq!(f.add("  "), Err(FollowError::Bad(BadChannel::Length(0))));
        assert_eq!(f.add("global"), Err(FollowError::Already("global".into())));
        assert_eq!(f.remove("global"), Err(FollowError::Last("global".into())));
        assert_eq!(f.remove("other"), Ok(f.clone()), "not followed: unchanged");
        let err = f.add("a/b").unwrap_err().to_string();
        assert!(err.contains("A-Z a-z 0-9 _ - . :"), "{err}");
    }

    #[test]
    fn at_most_the_servers_limit_is_followed() {
        let many: Vec<String> = (0..MAX_SUBSCRIPTIONS).map(|i| format!("c{i}")).collect();
        let f = Follows::of(many.iter().map(String::as_str)).unwrap();
        assert_eq!(f.add("one-more"), Err(FollowError::TooMany));
        let f = Follows::of(["a", "b", "a"]).unwrap();
        assert_eq!(names(&f), ["a", "b"], "a name given twice counts once");
        assert!(Follows::of([] as [&str; 0]).is_err());
    }

    #[test]
    fn a_blank_publish_channel_is_global() {
        assert_eq!(publish_channel("").as_deref(), Ok("global"));
        assert_eq!(
            publish_channel(" chat:room-1 ").as_deref(),
            Ok("chat:room-1")
        );
        assert_eq!(publish_channel("a;b"), Err(BadChannel::Character(';')));
    }
}
