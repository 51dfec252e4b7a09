//! The presence parameters of `/ws`: who the client is (`name`) and which of its channels it
//! wants the members of (`presence`).

use super::{err, InputError, Want};
use wire::ErrorCode;

/// The display name of `/ws?name=…` (trimmed), `None` when not given, or why it is refused.
pub fn name(raw: Option<&str>) -> Result<Option<String>, InputError> {
    let Some(raw) = raw.filter(|n| !n.trim().is_empty()) else {
        return Ok(None);
    };
    wire::presence::check_name(raw)
        .map(Some)
        .map_err(|e| err(ErrorCode::InvalidName, format!("{e}; e.g. name=Ana")))
}

/// Mark the channels of `wants` named by `/ws?presence=…`: `1` (or `true`) for all of them,
/// or a comma-separated list of some; each listed channel must be one of `wants`.
pub fn presence(raw: Option<&str>, wants: &mut [Want]) -> Result<(), InputError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(());
    };
    match raw {
        "1" | "true" => wants.iter_mut().for_each(|w| w.presence = true),
        "0" | "false" => {}
        list => {
            for name in list.split(',').map(str::trim) {
                let want = wants.iter_mut().find(|w| w.channel == name).ok_or_else(|| {
                    err(
                        ErrorCode::InvalidChannel,
                        format!("presence={name:?} is not one of the channels of this connection; use presence=1 for all of them, or list some of `channels`"),
                    )
                })?;
                want.presence = true;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::wants;
    use super::*;

    #[test]
    fn names_are_optional_and_checked() {
        assert_eq!(name(None).unwrap(), None);
        assert_eq!(name(Some("  ")).unwrap(), None);
        assert_eq!(name(Some(" Ana ")).unwrap().as_deref(), Some("Ana"));
        assert_eq!(name(Some("<b>")).unwrap_err().code, ErrorCode::InvalidName);
        let long = "x".repeat(wire::presence::MAX_NAME_CHARS + 1);
        assert_eq!(name(Some(&long)).unwrap_err().code, ErrorCode::InvalidName);
    }

    #[test]
    fn presence_marks_all_or_the_listed_channels() {
        let mut w = wants(Some("a,b"), None, None).unwrap();
        presence(Some("b"), &mut w).unwrap();
        assert_eq!((w[0].presence, w[1].presence), (false, true));
        presence(Some("1"), &mut w).unwrap();
        assert!(w.iter().all(|w| w.presence));
        let mut w = wants(None, None, None).unwrap();
        presence(None, &mut w).unwrap();
        assert!(!w[0].presence);
        let e = presence(Some("c"), &mut w).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidChannel);
    }
}
