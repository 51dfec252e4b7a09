//! Publishing a batch in one round trip: the publish script once per event, in one pipeline
//! on one connection, so Redis runs them in the batch's order.

use super::entries::{as_array, int_at};
use super::{Acks, LogState, RedisBroker};
use crate::broker::{not_tried, Published};
use crate::error::{BrokerError, Result};
use crate::event::{NewEvent, Offset};
use redis::{RedisResult, ScriptInvocation, Value};

impl RedisBroker {
    /// [`Broker::publish_all`](crate::broker::Broker::publish_all) for Redis: one pipeline
    /// (plus one `WAIT` for the whole batch when acks need replicas). If the log turns out
    /// to have a new epoch or to have gone back in time, the rest of the batch goes through
    /// [`Broker::publish`](crate::broker::Broker::publish) one by one, which handles that.
    pub(super) async fn publish_pipelined(&self, events: Vec<NewEvent>) -> Vec<Result<Published>> {
        let n = events.len();
        let fail_all = |e: BrokerError| -> Vec<Result<Published>> {
            let why = e.to_string();
            std::iter::once(Err(e))
                .chain((1..n).map(|_| Err(not_tried(&why))))
                .collect()
        };
        let mut jsons = Vec::with_capacity(n);
        for event in &events {
            match serde_json::to_string(event) {
                Ok(json) => jsons.push(json),
                Err(e) => return fail_all(BrokerError::Protocol(e.to_string())),
            }
        }
        let state = self.state();
        let (replies, confirmed) = match self.run_pipeline(&state, &events, &jsons).await {
            Ok(r) => r,
            Err(e) => return fail_all(e),
        };
        let mut results = Vec::with_capacity(n);
        let mut rest = None;
        for (i, (event, reply)) in events.iter().zip(&replies).enumerate() {
            match stored(reply) {
                Ok(Some(published)) => {
                    if let (Acks::Replicas(needed), Some(confirmed)) =
                        (self.inner.config.acks, confirmed)
                    {
                        if confirmed < i64::from(needed) {
                            results.push(Err(BrokerError::NotDurable(format!(
                                "stored at offset {}, but only {confirmed} of {needed} replicas \
                                 confirmed it within {:?}",
                                published.offset, self.inner.config.ack_timeout
                            ))));
                            continue;
                        }
                    }
                    self.note(&state.epoch, published.offset, &event.id);
                    results.push(Ok(published));
                }
                Ok(None) => {
                    rest = Some(i);
                    break;
                }
                Err(e) => return fail_all(e),
            }
        }
        if let Some(from) = rest {
            // New epoch, or the log went back in time: the one-by-one path deals with it.
            let mut failed: Option<String> = None;
            for event in events.into_iter().skip(from) {
                if let Some(why) = &failed {
                    results.push(Err(not_tried(why)));
                    continue;
                }
                let result = crate::broker::Broker::publish(self, event).await;
                if let Err(e) = &result {
                    failed = Some(e.to_string());
                }
                results.push(result);
            }
        }
        results
    }

    /// Send the batch's scripts (and `WAIT`) in one pipeline; the replies in order, and how
    /// many replicas confirmed (`None` without `WAIT`).
    async fn run_pipeline(
        &self,
        state: &LogState,
        events: &[NewEvent],
        jsons: &[String],
    ) -> Result<(Vec<Value>, Option<i64>)> {
        let (known, known_id) = state
            .known
            .as_ref()
            .map_or((0, ""), |(o, id)| (*o, id.as_str()));
        let invocations: Vec<ScriptInvocation<'_>> = events
            .iter()
            .zip(jsons)
            .map(|(event, json)| {
                let mut invocation = self.inner.keys.invocation(&self.inner.publish);
                invocation
                    .arg(&state.epoch)
                    .arg(&event.id)
                    .arg(self.inner.config.history)
                    .arg(json)
                    .arg(known)
                    .arg(known_id);
                invocation
            })
            .collect();
        let mut pipe = redis::pipe();
        for invocation in &invocations {
            pipe.invoke_script(invocation);
        }
        let wait = match self.inner.config.acks {
            Acks::Primary => false,
            Acks::Replicas(needed) => {
                let wait_ms = self.inner.config.ack_timeout.as_millis() as u64;
                pipe.cmd("WAIT").arg(needed).arg(wait_ms);
                true
            }
        };
        let (pipe, first) = (&pipe, &invocations[0]);
        let mut replies: Vec<Value> = self
            .with_conn(|mut c| async move {
                let result: RedisResult<Vec<Value>> = pipe.query_async(&mut c).await;
                match result {
                    Err(e)
                        if e.kind()
                            == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                    {
                        // Every invocation runs the same script: load it once, then resend.
                        first.load_async(&mut c).await?;
                        pipe.query_async(&mut c).await
                    }
                    other => other,
                }
            })
            .await?;
        let confirmed = if wait {
            match replies.pop() {
                Some(Value::Int(n)) => Some(n),
                other => {
                    return Err(BrokerError::Protocol(format!(
                        "WAIT answered {other:?}, not a count"
                    )))
                }
            }
        } else {
            None
        };
        if replies.len() != events.len() {
            return Err(BrokerError::Protocol(format!(
                "{} replies to a pipeline of {} publishes",
                replies.len(),
                events.len()
            )));
        }
        Ok((replies, confirmed))
    }
}

/// The publish script's reply: `Some` when the event is stored (or was: duplicate), `None`
/// when the log has another epoch or went back in time.
fn stored(reply: &Value) -> Result<Option<Published>> {
    let items = as_array(reply)?;
    match int_at(items, 0)? {
        code @ (1 | 2) => Ok(Some(Published {
            offset: int_at(items, 1)? as Offset,
            duplicate: code == 2,
        })),
        _ => Ok(None),
    }
}
