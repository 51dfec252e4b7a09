//! Decoding and validating what clients send. Pure functions, so they can be fuzzed.
//!
//! A frame is decoded into its `wire` type here, once: a publish's payload is checked to be
//! JSON within the limits and then kept as the text it was sent as, never parsed into a tree.

use wire::client::ParseError;
use wire::limits::{MAX_ID_BYTES, MAX_JSON_DEPTH, MAX_KIND_BYTES, MAX_PAYLOAD_BYTES};
use wire::{ClientFrame, ErrorCode, Publish};

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

fn err(code: ErrorCode, message: impl Into<String>) -> InputError {
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
        Err(ParseError::NoType(e)) => Err(no_type(text, e)),
        Err(ParseError::UnknownType(other)) => Err(err(
            ErrorCode::UnknownType,
            format!(
                "unknown frame type {:?}; the only client frame is \"publish\"",
                truncate(&other)
            ),
        )),
        Err(ParseError::Fields(e)) => Err(err(
            ErrorCode::InvalidFrame,
            format!("bad publish frame ({e}); expected {{\"type\":\"publish\",\"id\":string,\"kind\":string,\"payload\":any}}"),
        )),
    }
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
    let Publish { id, kind, payload } = &frame;
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
        assert_eq!(code(r#"{"type":"subscribe"}"#), "unknown_type");
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

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(json_depth(r#"{"a":"[[[[\"{{"}"#), 1);
        assert_eq!(json_depth(r#"[[],[[]]]"#), 3);
    }
}
