//! The exposition's names, labels and counts, without a server.

use super::*;

fn line_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[test]
fn every_series_is_labelled_with_its_region_and_starts_at_zero() {
    let m = Metrics::new("eu");
    let text = m.encode();
    for series in [
        r#"multiregion_connections{region="eu",transport="ws"}"#,
        r#"multiregion_connections_accepted_total{region="eu",transport="socketio"}"#,
        r#"multiregion_events_delivered_total{region="eu",transport="ws"}"#,
        r#"multiregion_sent_bytes_total{region="eu",transport="ws"}"#,
        r#"multiregion_broker_errors_total{region="eu",operation="read"}"#,
        r#"multiregion_gaps_total{region="eu"}"#,
        r#"multiregion_epoch_changes_total{region="eu"}"#,
        r#"multiregion_feed_reconnects_total{region="eu"}"#,
        r#"multiregion_history_replays_total{region="eu"}"#,
        r#"multiregion_broker_lag_seconds_count{region="eu"}"#,
        r#"multiregion_publishes_total{region="eu",transport="socketio",outcome="stored"}"#,
        r#"multiregion_publishes_total{region="eu",transport="ws",outcome="duplicate"}"#,
        r#"multiregion_publish_duration_seconds_count{region="eu",transport="ws"}"#,
        r#"multiregion_fanout_duration_seconds_count{region="eu",transport="socketio"}"#,
    ] {
        assert_eq!(line_value(&text, series), Some(0.0), "{series} in:\n{text}");
    }
    assert!(
        text.contains("# TYPE multiregion_broker_lag_seconds histogram"),
        "{text}"
    );
}

#[test]
fn publishes_count_by_outcome_and_refusals_by_code() {
    let m = Metrics::new("us");
    let started = Instant::now();
    let ack = |duplicate| ServerFrame::Ack {
        id: "a".into(),
        channel: "global".into(),
        offset: 1,
        duplicate,
    };
    m.answered(Transport::Ws, &ack(false), started);
    m.answered(Transport::Ws, &ack(false), started);
    m.answered(Transport::Ws, &ack(true), started);
    m.answered(
        Transport::Ws,
        &ServerFrame::error(ErrorCode::RateLimited, "x"),
        started,
    );
    m.refused(Transport::SocketIo, &ErrorCode::BrokerUnavailable);
    let text = m.encode();
    let get = |s: &str| line_value(&text, s).unwrap_or_else(|| panic!("{s} in:\n{text}"));
    assert_eq!(
        get(r#"multiregion_publishes_total{region="us",transport="ws",outcome="stored"}"#),
        2.0
    );
    assert_eq!(
        get(r#"multiregion_publishes_total{region="us",transport="ws",outcome="duplicate"}"#),
        1.0
    );
    assert_eq!(
        get(
            r#"multiregion_publishes_total{region="us",transport="ws",outcome="refused",code="rate_limited"}"#
        ),
        1.0
    );
    assert_eq!(
        get(
            r#"multiregion_publishes_total{region="us",transport="socketio",outcome="refused",code="broker_unavailable"}"#
        ),
        1.0
    );
    assert_eq!(
        get(r#"multiregion_broker_errors_total{region="us",operation="publish"}"#),
        1.0
    );
    // Acks are timed, refusals are not.
    assert_eq!(
        get(r#"multiregion_publish_duration_seconds_count{region="us",transport="ws"}"#),
        3.0
    );
}

#[test]
fn the_connections_gauge_follows_the_guards() {
    let m = Metrics::new("as");
    let a = m.connected(Transport::Ws);
    let b = m.connected(Transport::Ws);
    drop(a);
    let text = m.encode();
    assert_eq!(
        line_value(
            &text,
            r#"multiregion_connections{region="as",transport="ws"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        line_value(
            &text,
            r#"multiregion_connections_accepted_total{region="as",transport="ws"}"#
        ),
        Some(2.0)
    );
    drop(b);
    assert_eq!(
        line_value(
            &m.encode(),
            r#"multiregion_connections{region="as",transport="ws"}"#
        ),
        Some(0.0)
    );
}

#[test]
fn a_fanned_out_write_counts_its_events_bytes_and_times() {
    let m = Metrics::new("eu");
    let mut written = Written::default();
    let now = crate::event::now_micros();
    written.add(&Message::Text("0123456789".into()), Some(now));
    written.add(&Message::Text("gap".into()), None);
    m.fanned_out(Transport::Ws, &written);
    // A clock that disagrees (stored "after" received) counts as no lag, not a panic.
    m.read(now + 5_000_000, now);
    let text = m.encode();
    let get = |s: &str| line_value(&text, s).unwrap_or_else(|| panic!("{s} in:\n{text}"));
    assert_eq!(
        get(r#"multiregion_events_delivered_total{region="eu",transport="ws"}"#),
        1.0
    );
    assert_eq!(
        get(r#"multiregion_sent_bytes_total{region="eu",transport="ws"}"#),
        13.0
    );
    assert_eq!(
        get(r#"multiregion_fanout_duration_seconds_count{region="eu",transport="ws"}"#),
        1.0
    );
    assert_eq!(
        get(r#"multiregion_broker_lag_seconds_bucket{region="eu",le="0.0001"}"#),
        1.0
    );
}
