//! Outbox tests: ids kept through retries, backoff, reconnects, permanent refusals, the bound.

use super::*;
use wire::ErrorCode;

fn refused(id: &str, code: ErrorCode, temporary: bool) -> ServerFrame {
    ServerFrame::Error {
        code,
        message: "no".into(),
        id: Some(id.into()),
        temporary,
    }
}

fn ack(id: &str) -> ServerFrame {
    ServerFrame::Ack {
        id: id.into(),
        channel: wire::GLOBAL.into(),
        offset: 1,
        duplicate: false,
    }
}

/// Send everything queued; the ids sent, in order.
fn send_all(o: &mut Outbox) -> Vec<String> {
    let mut ids = Vec::new();
    while let Some(p) = o.take() {
        ids.push(p.id.clone());
        o.sent(p);
    }
    ids
}

#[test]
fn a_temporarily_refused_publish_is_retried_with_the_same_id_until_acked() {
    let mut o = Outbox::new("eu-1".into());
    o.push(&Draft::new("click", "hi", 1)).unwrap();
    let first = send_all(&mut o);
    assert_eq!(first, ["eu-1-1"]);
    assert_eq!(
        o.on_reply(&refused("eu-1-1", ErrorCode::BrokerUnavailable, true), 0.0),
        Reply::Retry(250.0)
    );
    let p = o.pending();
    assert_eq!((p.total(), p.retrying), (1, 1));
    assert_eq!(p.retry_reason.as_deref(), Some("broker_unavailable"));
    // Not before its backoff ends.
    o.promote(249.0);
    assert!(send_all(&mut o).is_empty());
    o.promote(250.0);
    assert_eq!(send_all(&mut o), first, "the same id again");
    // Refused again: the wait doubles.
    assert_eq!(
        o.on_reply(&refused("eu-1-1", ErrorCode::RateLimited, true), 1_000.0),
        Reply::Retry(500.0)
    );
    assert_eq!(o.next_due(), Some(1_500.0));
    o.promote(1_500.0);
    assert_eq!(send_all(&mut o), first);
    assert_eq!(o.on_reply(&ack("eu-1-1"), 1_600.0), Reply::Acked);
    assert_eq!(
        o.pending(),
        OutboxCounts::default(),
        "nothing left, no reason shown"
    );
}

#[test]
fn the_backoff_stops_growing_at_its_cap() {
    let mut o = Outbox::new("as".into());
    o.push(&Draft::new("k", "t", 1)).unwrap();
    let mut now = 0.0;
    let mut last = 0.0;
    for _ in 0..12 {
        o.promote(now);
        let ids = send_all(&mut o);
        assert_eq!(ids, ["as-1"]);
        match o.on_reply(&refused("as-1", ErrorCode::BrokerUnavailable, true), now) {
            Reply::Retry(ms) => last = ms,
            other => panic!("expected a retry, got {other:?}"),
        }
        now += last;
    }
    assert_eq!(last, MAX_BACKOFF_MS);
}

#[test]
fn a_reconnect_resends_what_was_in_flight_first_and_in_order() {
    let mut o = Outbox::new("us".into());
    o.push(&Draft::new("k", "t", 3)).unwrap();
    let p1 = o.take().unwrap();
    o.sent(p1);
    let p2 = o.take().unwrap();
    o.sent(p2);
    o.disconnected();
    assert_eq!(send_all(&mut o), ["us-1", "us-2", "us-3"]);
    assert_eq!(o.pending().inflight, 3);
}

#[test]
fn a_permanent_refusal_drops_the_publish_and_counts_it() {
    let mut o = Outbox::new("us".into());
    o.push(&Draft::new("k", "t", 2)).unwrap();
    send_all(&mut o);
    assert_eq!(
        o.on_reply(&refused("us-2", ErrorCode::PayloadTooLarge, false), 0.0),
        Reply::Dropped
    );
    assert_eq!(o.on_reply(&ack("us-1"), 0.0), Reply::Acked);
    let p = o.pending();
    assert_eq!((p.total(), p.dropped), (0, 1));
    // An answer about an id not in flight changes nothing.
    assert_eq!(o.on_reply(&ack("us-1"), 0.0), Reply::None);
    assert_eq!(
        o.on_reply(&refused("other", ErrorCode::RateLimited, true), 0.0),
        Reply::None
    );
}

#[test]
fn a_full_outbox_refuses_new_work_whole_and_keeps_what_it_holds() {
    let mut o = Outbox::new("as".into());
    o.push(&Draft::new("k", "t", MAX_PENDING as u32 - 1))
        .unwrap();
    let err = o.push(&Draft::new("k", "t", 2)).unwrap_err().to_string();
    assert!(err.contains("at most 20000"), "{err}");
    assert_eq!(
        o.pending().total(),
        MAX_PENDING - 1,
        "nothing of the refused burst queued"
    );
    // Retries waiting out a backoff count against the bound too.
    let p = o.take().unwrap();
    o.sent(p);
    o.on_reply(&refused("as-1", ErrorCode::RateLimited, true), 0.0);
    assert_eq!(o.pending().total(), MAX_PENDING - 1);
    o.push(&Draft::new("k", "t", 1)).unwrap();
    assert!(o.push(&Draft::new("k", "t", 1)).is_err());
}

#[test]
fn bursts_carry_their_position_and_every_id_is_distinct() {
    let mut o = Outbox::new("eu".into());
    o.push(&Draft::new("k", "hello", 3)).unwrap();
    o.push(&Draft::new("k", "one", 1)).unwrap();
    let frames: Vec<serde_json::Value> = std::iter::from_fn(|| o.take())
        .map(|p| serde_json::from_str(&p.frame).unwrap())
        .collect();
    assert_eq!(frames[2]["payload"]["burst"], "3/3");
    assert_eq!(frames[3]["payload"], serde_json::json!({"text": "one"}));
    let ids: std::collections::BTreeSet<_> = frames.iter().map(|f| f["id"].to_string()).collect();
    assert_eq!(ids.len(), 4);
}

#[test]
fn a_publish_goes_out_as_the_wire_frame_with_its_payload() {
    let mut o = Outbox::new("us-7".into());
    o.push(&Draft::new("click", "hi", 1)).unwrap();
    let p = o.take().unwrap();
    assert_eq!(
        p.frame,
        r#"{"type":"publish","id":"us-7-1","kind":"click","payload":{"text":"hi"}}"#
    );
    o.push(&Draft::new("chat", "yo", 1).on("room-1".into()))
        .unwrap();
    assert_eq!(
        o.take().unwrap().frame,
        r#"{"type":"publish","id":"us-7-2","kind":"chat","payload":{"text":"yo"},"channel":"room-1"}"#
    );
}
