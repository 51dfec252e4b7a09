//! [`with_both_brokers!`](crate::with_both_brokers): one scenario, both brokers.

/// Run each scenario `async fn name(broker: SharedBroker)` against every broker:
/// `memory::name` on the embedded broker and `redis::name` on a `redis-server` of the test's
/// own, both keeping `history` events.
#[macro_export]
macro_rules! with_both_brokers {
    (history = $history:expr; $($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let broker = server_core::broker::MemoryBroker::new($history);
                    super::$name(std::sync::Arc::new(broker)).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = $crate::RedisServer::start();
                    let broker = $crate::redis_broker(&server, $history).await;
                    super::$name(std::sync::Arc::new(broker)).await;
                }
            )*
        }
    };
}
