//! The broker chain: plans are pure; choosing falls through with reasons.

use super::*;

fn local() -> Step {
    Step::Local(defaults::REDIS_URL.into())
}

/// Auto tries `REDIS_URL` instead of the default local Redis, then private, then embedded.
#[test]
fn auto_prefers_redis_url_then_private_then_embedded() {
    assert_eq!(
        plan(BrokerMode::Auto, Some("redis://h:1"), true),
        [
            Step::Url("redis://h:1".into()),
            Step::Private,
            Step::Embedded
        ]
    );
    assert_eq!(
        plan(BrokerMode::Auto, None, true),
        [local(), Step::Private, Step::Embedded]
    );
    assert_eq!(
        plan(BrokerMode::Auto, Some("  "), false),
        [local(), Step::Embedded]
    );
}

/// The env override forces a path, always ending at the embedded broker.
#[test]
fn override_forces_a_path() {
    assert_eq!(
        plan(BrokerMode::Private, Some("redis://h:1"), true),
        [Step::Private, Step::Embedded]
    );
    assert_eq!(
        plan(BrokerMode::Embedded, Some("redis://h:1"), true),
        [Step::Embedded]
    );
}

/// `serve --redis` uses that URL alone (no fallback); without it, local then embedded.
#[test]
fn serve_plan_has_no_fallback_from_an_explicit_url() {
    assert_eq!(
        serve_plan(Some("redis://h:1"), defaults::REDIS_URL, false),
        [Step::Url("redis://h:1".into())]
    );
    assert_eq!(
        serve_plan(None, "redis://l:2", false),
        [Step::Local("redis://l:2".into()), Step::Embedded]
    );
}

/// `serve --private-redis` adds the private redis-server before the embedded broker, as the
/// desktop does, but never behind an explicit URL.
#[test]
fn serve_plan_with_a_private_redis() {
    assert_eq!(
        serve_plan(None, "redis://l:2", true),
        [
            Step::Local("redis://l:2".into()),
            Step::Private,
            Step::Embedded
        ]
    );
    assert_eq!(
        serve_plan(Some("redis://h:1"), defaults::REDIS_URL, true),
        [Step::Url("redis://h:1".into())]
    );
}

/// `MULTIREGION_BROKER` values; a typo is an error that lists the allowed ones.
#[test]
fn parses_the_mode() {
    assert_eq!(BrokerMode::parse(None), Ok(BrokerMode::Auto));
    assert_eq!(BrokerMode::parse(Some("auto")), Ok(BrokerMode::Auto));
    assert_eq!(BrokerMode::parse(Some("private")), Ok(BrokerMode::Private));
    assert_eq!(
        BrokerMode::parse(Some("embedded")),
        Ok(BrokerMode::Embedded)
    );
    assert!(BrokerMode::parse(Some("redis"))
        .unwrap_err()
        .to_string()
        .contains("auto, private or embedded"));
}

/// The embedded broker is labelled as such and has no URL.
#[tokio::test]
async fn embedded_is_labelled() {
    let chosen = choose(
        &plan(BrokerMode::Embedded, None, false),
        &RedisConfig::default(),
    )
    .await
    .unwrap();
    assert_eq!(chosen.status.kind, BrokerKind::Embedded);
    assert_eq!(chosen.status.url, None);
    assert!(chosen.status.description.starts_with("Embedded broker"));
    assert!(chosen.private.is_none());
}

/// An unreachable URL is skipped with its reason, and the next step is used.
#[tokio::test]
async fn unreachable_url_falls_through_with_reason() {
    let steps = [Step::Url("redis://127.0.0.1:1".into()), Step::Embedded];
    let chosen = choose(&steps, &RedisConfig::default()).await.unwrap();
    assert_eq!(chosen.status.kind, BrokerKind::Embedded);
    assert!(chosen.status.description.contains("redis://127.0.0.1:1"));
}

/// A URL with nothing after it is an error that names it.
#[tokio::test]
async fn bad_url_is_an_error() {
    let steps = [Step::Url("not a url".into())];
    let err = choose(&steps, &RedisConfig::default())
        .await
        .err()
        .expect("error");
    assert!(err.to_string().contains("not a url"));
}

/// The private path starts redis-server, and the status carries its URL.
#[tokio::test]
async fn private_path_starts_redis_server() {
    let chosen = choose(
        &plan(BrokerMode::Private, None, true),
        &RedisConfig::default(),
    )
    .await
    .unwrap();
    let private = chosen.private.as_ref().expect("private redis");
    assert_eq!(chosen.status.kind, BrokerKind::Redis);
    assert!(chosen.status.private);
    assert_eq!(chosen.status.url, Some(private.url()));
    let port = private.port();
    chosen.release().await;
    assert!(!redis_process::ping(port, Duration::from_secs(1)));
}
