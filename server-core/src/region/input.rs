//! Decoding and validating what clients send. Pure functions, so they can be fuzzed.
//!
//! A publish frame is parsed once, here: its payload is checked to be JSON within the limits
//! and then kept as the text it was sent as ([`Payload`]), never parsed into a tree.

use crate::event::Payload;
use serde::Deserialize;
use wire::limits::{MAX_ID_BYTES, MAX_JSON_DEPTH, MAX_KIND_BYTES, MAX_PAYLOAD_BYTES};
use wire::ErrorCode;

/// A valid publish (`wire::ClientFrame::Publish`), with its payload kept raw.
#[derive(Debug)]
pub struct Publish {
    /// Client-chosen id.
    pub id: String,
    /// Event kind.
    pub kind: String,
    /// The payload as sent (`null` when the frame has none).
    pub payload: Payload,
}

/// The publish frame's fields as parsed: `wire::ClientFrame::Publish` is an internally
/// tagged enum, which cannot hold a raw value, so the server reads this flat shape.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishIn {
    #[serde(rename = "type")]
    tag: String,
    id: String,
    kind: String,
    #[serde(default)]
    payload: Option<Payload>,
}

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

/// Decode one text frame into a valid [`Publish`], or say precisely what is wrong.
pub fn decode(text: &str) -> Result<Publish, InputError> {
    if json_depth(text) > MAX_JSON_DEPTH {
        return Err(err(
            ErrorCode::TooDeep,
            format!("JSON nested deeper than {MAX_JSON_DEPTH} levels is refused"),
        ));
    }
    let frame: PublishIn = serde_json::from_str(text).map_err(|e| classify(text, Some(e)))?;
    if frame.tag != "publish" {
        return Err(classify(text, None));
    }
    validate(Publish {
        id: frame.id,
        kind: frame.kind,
        payload: frame
            .payload
            .unwrap_or_else(|| crate::event::payload(&serde_json::Value::Null)),
    })
}

/// What is wrong with a frame that is not a valid publish (`e`: the parser's complaint).
fn classify(text: &str, e: Option<serde_json::Error>) -> InputError {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return err(
                ErrorCode::InvalidJson,
                format!("the frame is not valid JSON ({e}); send one JSON object per text frame"),
            )
        }
    };
    let Some(obj) = value.as_object() else {
        return err(
            ErrorCode::InvalidFrame,
            "a frame must be a JSON object with a \"type\" field",
        );
    };
    match obj.get("type").and_then(|t| t.as_str()) {
        None => err(ErrorCode::InvalidFrame, "the frame has no string \"type\" field; use {\"type\":\"publish\",…}"),
        Some("publish") => err(
            ErrorCode::InvalidFrame,
            format!("bad publish frame ({}); expected {{\"type\":\"publish\",\"id\":string,\"kind\":string,\"payload\":any}}", e.map_or_else(String::new, |e| e.to_string())),
        ),
        Some(other) => err(
            ErrorCode::UnknownType,
            format!("unknown frame type {:?}; the only client frame is \"publish\"", truncate(other)),
        ),
    }
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
