//! Reading `/metrics` and the figures the Settings panel shows.

use super::*;

/// An exposition as a region writes it (abridged).
fn exposition(connections: [u32; 2], delivered: u32, lag: &[(&str, u32)]) -> String {
    let mut text = format!(
        "# HELP multiregion_connections Clients connected now.\n\
         # TYPE multiregion_connections gauge\n\
         multiregion_connections{{region=\"us\",transport=\"ws\"}} {}\n\
         multiregion_connections{{region=\"us\",transport=\"socketio\"}} {}\n\
         # TYPE multiregion_events_delivered_total counter\n\
         multiregion_events_delivered_total{{region=\"us\",transport=\"ws\"}} {delivered}\n\
         multiregion_events_delivered_total{{region=\"us\",transport=\"socketio\"}} 0\n\
         # TYPE multiregion_broker_lag_seconds histogram\n",
        connections[0], connections[1]
    );
    for (le, count) in lag {
        text.push_str(&format!(
            "multiregion_broker_lag_seconds_bucket{{region=\"us\",le=\"{le}\"}} {count}\n"
        ));
    }
    text.push_str("multiregion_broker_lag_seconds_count{region=\"us\"} 0\n");
    text
}

#[test]
fn a_scrape_sums_the_transports_and_reads_the_lag_buckets() {
    let s = parse(&exposition(
        [3, 2],
        40,
        &[("+Inf", 10), ("0.001", 4), ("0.005", 9)],
    ));
    assert_eq!(s.connections, 5.0);
    assert_eq!(s.delivered, 40.0);
    assert_eq!(
        s.lag_buckets,
        vec![(0.001, 4.0), (0.005, 9.0), (f64::INFINITY, 10.0)],
        "sorted by bound"
    );
    assert_eq!(parse("garbage\n{}\nx y z\n"), Scrape::default());
}

#[test]
fn labels_are_read_with_their_escapes() {
    assert_eq!(
        label("region=\"a\\\"b\",le=\"0.5\"}", "le").as_deref(),
        Some("0.5")
    );
    assert_eq!(
        label("region=\"a\\\"b\",le=\"0.5\"}", "region").as_deref(),
        Some("a\"b")
    );
    assert_eq!(label("region=\"us\"}", "le"), None);
    assert_eq!(label("le=\"unterminated", "le"), None);
}

#[test]
fn quantiles_interpolate_within_their_bucket() {
    let b = [(0.001, 50.0), (0.01, 100.0), (f64::INFINITY, 100.0)];
    // The 50th of 100 is the top of the first bucket; the 99th is 49/50 into the second.
    assert_eq!(quantile(0.5, &b), Some(0.001));
    let p99 = quantile(0.99, &b).unwrap();
    assert!((p99 - (0.001 + 0.009 * 49.0 / 50.0)).abs() < 1e-12, "{p99}");
    // Beyond every finite bound: the highest finite bound.
    assert_eq!(
        quantile(0.99, &[(0.001, 1.0), (f64::INFINITY, 10.0)]),
        Some(0.001)
    );
    assert_eq!(quantile(0.99, &[(0.001, 0.0), (f64::INFINITY, 0.0)]), None);
    assert_eq!(quantile(0.99, &[]), None);
}

#[test]
fn events_per_second_and_p99_come_from_the_interval_between_two_scrapes() {
    let first = parse(&exposition(
        [1, 0],
        100,
        &[("0.001", 10), ("0.1", 10), ("+Inf", 10)],
    ));
    let f = figures(None, 1_000_000, &first);
    assert_eq!(f.connections, 1);
    assert_eq!(f.events_per_sec, None, "one scrape has no rate");
    let p99 = f.lag_p99.unwrap();
    assert!(
        (p99 - 0.00099).abs() < 1e-12,
        "99 % into the first bucket: {p99}"
    );
    // 2 s later: 300 more deliveries, and 10 slower reads, all in the 0.1 s bucket.
    let second = parse(&exposition(
        [2, 1],
        400,
        &[("0.001", 10), ("0.1", 20), ("+Inf", 20)],
    ));
    let g = figures(Some(&(1_000_000, first.clone())), 3_000_000, &second);
    assert_eq!(g.connections, 3);
    assert_eq!(g.events_per_sec, Some(150.0));
    let p99 = g.lag_p99.unwrap();
    assert!(p99 > 0.09, "only the recent, slower reads count: {p99}");
    // Nothing read in between: the p99 since start.
    let h = figures(Some(&(3_000_000, second.clone())), 4_000_000, &second);
    assert_eq!(h.events_per_sec, Some(0.0));
    assert_eq!(h.lag_p99, quantile(0.99, &second.lag_buckets));
}

/// A failed scrape whose message is `message`.
fn failed(message: &str) -> HttpError {
    HttpError::Browser(crate::error::JsError(message.into()))
}

#[test]
fn the_board_keeps_one_row_per_region_and_its_last_good_scrape() {
    let scraped = |region: &str, at, result| Scraped {
        region: region.into(),
        at,
        result,
    };
    let board = Rc::new(Board::default())
        .reduce(scraped("us", 1_000_000, Ok(exposition([1, 0], 10, &[]))))
        .reduce(scraped("eu", 1_000_000, Err(failed("401 unauthorized"))))
        .reduce(scraped("us", 2_000_000, Ok(exposition([1, 0], 30, &[]))));
    let names: Vec<_> = board.rows.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(names, ["us", "eu"]);
    assert_eq!(board.rows[0].figures.unwrap().events_per_sec, Some(20.0));
    assert_eq!(board.rows[1].error.as_deref(), Some("401 unauthorized"));
    assert_eq!(board.rows[1].figures, None);
    // A failed scrape keeps the figures and reports the failure; the next success clears it.
    let board = board.reduce(scraped("us", 3_000_000, Err(failed("unreachable"))));
    assert!(board.rows[0].figures.is_some());
    assert_eq!(board.rows[0].error.as_deref(), Some("unreachable"));
    let board = board.reduce(scraped("us", 4_000_000, Ok(exposition([0, 0], 30, &[]))));
    assert_eq!(board.rows[0].error, None);
    assert_eq!(board.rows[0].figures.unwrap().events_per_sec, Some(0.0));
}
