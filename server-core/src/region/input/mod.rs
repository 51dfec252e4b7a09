//! Decoding and validating what clients send. Pure functions, so they can be fuzzed.
//!
//! A frame is decoded into its `wire` type here, once: a publish's payload is checked to be
//! JSON within the limits and then kept as the text it was sent as, never parsed into a tree.

mod member;

pub use self::member::{name, presence};

use wire::channel::MAX_SUBSCRIPTIONS;
use wire::client::ParseError;
use wire::limits::{MAX_ID_BYTES, MAX_JSON_DEPTH, MAX_KIND_BYTES, MAX_PAYLOAD_BYTES};
use wire::{ClientFrame, ErrorCode, Offset, Publish};

/// Why a client frame was refused: a machine-readable code and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct InputError {
    /// e.g. [`ErrorCode::InvalidJson`], [`ErrorCode::UnknownType`].
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// The publish id, when the frame was otherwise readable.
    pub id: Option<String>,
}

pub(crate) fn err(code: ErrorCode, message: impl Into<String>) -> InputError {
    InputError {
        code,
        message: message.into(),
        id: None,
    }
}

/// Decode one text frame into a valid [`ClientFrame`], or say precisely what is wrong.
pub fn decode(text: &str) -> Result<ClientFrame, InputError> {
    if json_depth(text) > MAX_JSON_DEPTH {
        return Err(err(
            ErrorCode::TooDeep,
            format!("JSON nested deeper than {MAX_JSON_DEPTH} levels is refused"),
        ));
    }
    match ClientFrame::parse(text) {
        Ok(ClientFrame::Publish(publish)) => validate(publish).map(ClientFrame::Publish),
        Ok(ClientFrame::Subscribe(s)) => channel(&s.channel).map(|()| ClientFrame::Subscribe(s)),
        Ok(ClientFrame::Unsubscribe(u)) => {
            channel(&u.channel).map(|()| ClientFrame::Unsubscribe(u))
        }
        Err(ParseError::NoType(e)) => Err(no_type(text, e)),
        Err(ParseError::UnknownType(other)) => Err(err(
            ErrorCode::UnknownType,
            format!(
                "unknown frame type {:?}; the client frames are \"publish\", \"subscribe\" and \"unsubscribe\"",
                truncate(&other)
            ),
        )),
        Err(ParseError::Fields(tag, e)) => Err(err(ErrorCode::InvalidFrame, bad_fields(tag, &e))),
    }
}

/// Decode the body of a `POST /publish` (a publish without its `type`) into a valid
/// [`Publish`], or say precisely what is wrong: the same checks as a publish frame.
pub fn decode_publish_body(text: &str) -> Result<Publish, InputError> {
    if json_depth(text) > MAX_JSON_DEPTH {
        return Err(err(
            ErrorCode::TooDeep,
            format!("JSON nested deeper than {MAX_JSON_DEPTH} levels is refused"),
        ));
    }
    match Publish::parse_body(text) {
        Ok(publish) => validate(publish),
        Err(ParseError::Fields(_, e)) if e.is_syntax() || e.is_eof() => Err(err(
            ErrorCode::InvalidJson,
            format!("the body is not valid JSON ({e})"),
        )),
        Err(e) => Err(err(
            ErrorCode::InvalidFrame,
            format!("{e}; expected {{\"channel\":string (optional),\"id\":string,\"kind\":string,\"payload\":any}}"),
        )),
    }
}

/// What a frame of type `tag` with bad fields should look like.
fn bad_fields(tag: &str, e: &serde_json::Error) -> String {
    let shape = match tag {
        "subscribe" => {
            r#"{"type":"subscribe","channel":string,"since":offset (optional),"epoch":string (optional),"presence":bool (optional)}"#
        }
        "unsubscribe" => r#"{"type":"unsubscribe","channel":string}"#,
        _ => {
            r#"{"type":"publish","id":string,"kind":string,"payload":any,"channel":string (optional)}"#
        }
    };
    format!("bad {tag} frame ({e}); expected {shape}")
}

/// `name` as a channel, or why not.
pub fn channel(name: &str) -> Result<(), InputError> {
    wire::channel::check_name(name).map_err(|e| {
        err(
            ErrorCode::InvalidChannel,
            format!("{e}; e.g. \"chat:room-1\""),
        )
    })
}

/// One channel a connection asks to follow: from now, or resuming after `since` (of the log
/// `epoch`, when given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// The channel.
    pub channel: String,
    /// Resume after this offset.
    pub since: Option<Offset>,
    /// The epoch `since` belongs to.
    pub epoch: Option<String>,
    /// Also get the channel's members and their joins and leaves.
    pub presence: bool,
}

/// The channels of `/ws?channels=a,b&since=a:3,b:7&epoch=a:E,b:F` (each parameter optional):
/// `global` when none is named; a bare `since=N` or `epoch=E` (no `channel:`) applies to the
/// only channel, and needs there to be exactly one.
pub fn wants(
    channels: Option<&str>,
    since: Option<&str>,
    epoch: Option<&str>,
) -> Result<Vec<Want>, InputError> {
    let names: Vec<&str> = match channels.map(str::trim).filter(|c| !c.is_empty()) {
        Some(list) => list.split(',').map(str::trim).collect(),
        None => vec![wire::GLOBAL],
    };
    let mut wants: Vec<Want> = Vec::new();
    for name in names {
        channel(name)?;
        if !wants.iter().any(|w| w.channel == name) {
            wants.push(Want {
                channel: name.to_owned(),
                since: None,
                epoch: None,
                presence: false,
            });
        }
    }
    if wants.len() > MAX_SUBSCRIPTIONS {
        return Err(too_many(wants.len()));
    }
    for (channel, value) in per_channel(since, &wants)? {
        let n = value.parse().map_err(|_| {
            err(
                ErrorCode::InvalidFrame,
                format!("since={value:?} is not an offset; use since=N or since=CHANNEL:N,…"),
            )
        })?;
        wants[channel].since = Some(n);
    }
    for (channel, value) in per_channel(epoch, &wants)? {
        wants[channel].epoch = Some(value.to_owned());
    }
    Ok(wants)
}

/// `a:3,b:7` (or a bare `3` for the only channel of `wants`) as `(index in wants, "3")`.
fn per_channel<'a>(
    list: Option<&'a str>,
    wants: &[Want],
) -> Result<Vec<(usize, &'a str)>, InputError> {
    let Some(list) = list.map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim) {
        let (index, value) = match item.rsplit_once(':') {
            Some((name, value)) => {
                let index = wants.iter().position(|w| w.channel == name).ok_or_else(|| {
                    err(
                        ErrorCode::InvalidChannel,
                        format!("{item:?} names {name:?}, which is not one of the channels asked for"),
                    )
                })?;
                (index, value)
            }
            None if wants.len() == 1 => (0, item),
            None => {
                return Err(err(
                    ErrorCode::InvalidFrame,
                    format!("{item:?} does not say which channel it is for; with several channels use CHANNEL:VALUE"),
                ))
            }
        };
        out.push((index, value));
    }
    Ok(out)
}

/// More channels than a connection may follow.
pub fn too_many(asked: usize) -> InputError {
    err(
        ErrorCode::TooManyChannels,
        format!("{asked} channels asked for; one connection follows at most {MAX_SUBSCRIPTIONS}"),
    )
}

/// What is wrong with a frame whose `type` could not be read (`e`: the parser's complaint).
fn no_type(text: &str, e: serde_json::Error) -> InputError {
    if e.is_syntax() || e.is_eof() {
        return err(
            ErrorCode::InvalidJson,
            format!("the frame is not valid JSON ({e}); send one JSON object per text frame"),
        );
    }
    if !text.trim_start().starts_with('{') {
        return err(
            ErrorCode::InvalidFrame,
            "a frame must be a JSON object with a \"type\" field",
        );
    }
    err(
        ErrorCode::InvalidFrame,
        "the frame has no string \"type\" field; use {\"type\":\"publish\",…}",
    )
}

fn validate(frame: Publish) -> Result<Publish, InputError> {
    let Publish {
        id, kind, payload, ..
    } = &frame;
    let with_id = |mut e: InputError| {
        e.id = Some(truncate(id));
        e
    };
    if id.is_empty() || id.len() > MAX_ID_BYTES || id.chars().any(char::is_control) {
        return Err(with_id(err(
            ErrorCode::InvalidId,
            format!("the id must be 1 to {MAX_ID_BYTES} bytes without control characters"),
        )));
    }
    if kind.is_empty() || kind.len() > MAX_KIND_BYTES || kind.chars().any(char::is_control) {
        return Err(with_id(err(
            ErrorCode::InvalidKind,
            format!("the kind must be 1 to {MAX_KIND_BYTES} bytes without control characters"),
        )));
    }
    // The payload as sent, spaces included: that is what is stored and delivered.
    let size = payload.get().len();
    if size > MAX_PAYLOAD_BYTES {
        return Err(with_id(err(
            ErrorCode::PayloadTooLarge,
            format!("the payload is {size} bytes; the limit is {MAX_PAYLOAD_BYTES}"),
        )));
    }
    channel(frame.channel()).map_err(with_id)?;
    Ok(frame)
}

/// A short, safe prefix of client text for echoing back in messages.
fn truncate(s: &str) -> String {
    s.chars().take(MAX_ID_BYTES).collect()
}

/// Deepest nesting of `[` / `{` outside strings. Linear, no allocation, so a hostile frame
/// is measured before the parser (which recurses) ever sees it.
pub fn json_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> ErrorCode {
        decode(text).unwrap_err().code
    }

    /// Every shape of wrong frame is named as before the frames moved to `wire`.
    #[test]
    fn non_objects_and_trailing_garbage() {
        assert_eq!(code(r#""text""#), "invalid_frame");
        assert_eq!(code(r#"{"type":5}"#), "invalid_frame");
        assert_eq!(
            code(r#"{"type":"publish","id":"a","kind":"k"} x"#),
            "invalid_json"
        );
        assert_eq!(
            code(r#"{"type":"publish","id":"a","kind":"k","payload":}"#),
            "invalid_json"
        );
    }

    #[test]
    fn accepts_a_publish() {
        assert!(decode(r#"{"type":"publish","id":"x","kind":"k","payload":[1,{"a":2}]}"#).is_ok());
    }

    #[test]
    fn names_what_is_wrong() {
        assert_eq!(code("{nope"), "invalid_json");
        assert_eq!(code("[1,2]"), "invalid_frame");
        assert_eq!(code(r#"{"id":"x"}"#), "invalid_frame");
        assert_eq!(code(r#"{"type":"frobnicate"}"#), "unknown_type");
        assert_eq!(code(r#"{"type":"subscribe"}"#), "invalid_frame");
        assert_eq!(
            code(r#"{"type":"subscribe","channel":"a b"}"#),
            "invalid_channel"
        );
        assert_eq!(
            code(r#"{"type":"publish","id":"x","kind":"k","channel":""}"#),
            "invalid_channel"
        );
        assert_eq!(code(r#"{"type":"publish","id":"x"}"#), "invalid_frame");
        assert_eq!(
            code(r#"{"type":"publish","id":5,"kind":"k"}"#),
            "invalid_frame"
        );
        assert_eq!(
            code(r#"{"type":"publish","id":"","kind":"k"}"#),
            "invalid_id"
        );
        assert_eq!(
            code(r#"{"type":"publish","id":"a","kind":""}"#),
            "invalid_kind"
        );
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(code(&deep), "too_deep");
        let big = format!(
            r#"{{"type":"publish","id":"a","kind":"k","payload":"{}"}}"#,
            "x".repeat(20_000)
        );
        assert_eq!(code(&big), "payload_too_large");
    }

    /// `/ws` channel parameters: the default, lists, per-channel resumes, and what is refused.
    #[test]
    fn channel_parameters() {
        let w = wants(None, Some("9"), Some("e")).unwrap();
        assert_eq!(
            w,
            [Want {
                channel: "global".into(),
                since: Some(9),
                epoch: Some("e".into()),
                presence: false,
            }]
        );
        let w = wants(Some("a,chat:b"), Some("a:3,chat:b:7"), Some("chat:b:E")).unwrap();
        assert_eq!((w[0].since, w[1].since), (Some(3), Some(7)));
        assert_eq!(
            (w[0].epoch.as_deref(), w[1].epoch.as_deref()),
            (None, Some("E"))
        );
        let code = |c: Option<&str>, s: Option<&str>| wants(c, s, None).unwrap_err().code;
        assert_eq!(code(Some("a b"), None), "invalid_channel");
        assert_eq!(code(Some("a,,b"), None), "invalid_channel");
        assert_eq!(code(Some("a,b"), Some("3")), "invalid_frame");
        assert_eq!(code(Some("a"), Some("x:3")), "invalid_channel");
        assert_eq!(code(None, Some("abc")), "invalid_frame");
        let many: Vec<String> = (0..65).map(|i| format!("c{i}")).collect();
        assert_eq!(code(Some(&many.join(",")), None), "too_many_channels");
        assert!(wants(Some(&many[..64].join(",")), None, None).is_ok());
    }

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(json_depth(r#"{"a":"[[[[\"{{"}"#), 1);
        assert_eq!(json_depth(r#"[[],[[]]]"#), 3);
    }
}
