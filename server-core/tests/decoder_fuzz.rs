//! Property tests (bounded fuzzing) of the client frame decoder: whatever a client sends,
//! decoding never panics, and it accepts exactly the frames within the documented limits.

use proptest::prelude::*;
use server_core::region::input::{decode, json_depth};
use wire::limits::{MAX_ID_BYTES, MAX_KIND_BYTES};

fn config() -> ProptestConfig {
    // Bounded for CI; raise PROPTEST_CASES to fuzz longer by hand.
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(2000),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(40, 200, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary text never panics the decoder, and every refusal has a code and a message.
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        if let Err(e) = decode(&text) {
            prop_assert!(!e.code.as_str().is_empty() && !e.message.is_empty());
        }
    }

    /// Arbitrary bytes that happen to be JSON-ish (brackets, quotes, escapes) never panic.
    #[test]
    fn bracket_soup_never_panics(text in r#"[\[\]{}",:\\a-z0-9 ]{0,400}"#) {
        let _ = decode(&text);
        let _ = json_depth(&text);
    }

    /// A publish frame is accepted exactly when its fields are within the limits, and what
    /// is accepted is what was sent.
    #[test]
    fn publish_frames_are_accepted_within_limits(
        id in "[^\u{0}-\u{1f}]{0,140}",
        kind in "[a-z]{0,70}",
        payload in json_value(),
    ) {
        let text = serde_json::json!({"type":"publish","id":id,"kind":kind,"payload":payload}).to_string();
        let within = !id.is_empty() && id.len() <= MAX_ID_BYTES && !id.chars().any(char::is_control) && !kind.is_empty() && kind.len() <= MAX_KIND_BYTES
            && json_depth(&text) <= wire::limits::MAX_JSON_DEPTH
            && payload.to_string().len() <= wire::limits::MAX_PAYLOAD_BYTES;
        match decode(&text) {
            Ok(wire::ClientFrame::Publish(frame)) => {
                prop_assert!(within, "accepted a frame outside the limits");
                // Kept as sent: the raw payload is the sent text, and means the sent value.
                prop_assert_eq!(frame.payload.get(), payload.to_string());
                let value: serde_json::Value = serde_json::from_str(frame.payload.get()).unwrap();
                prop_assert_eq!((frame.id, frame.kind, value), (id, kind, payload));
            }
            Ok(other) => prop_assert!(false, "a publish decoded as {other:?}"),
            Err(e) => prop_assert!(!within, "refused a valid frame: {}", e),
        }
    }
}
