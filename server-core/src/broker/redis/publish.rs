//! Running the publish script: for one event or a batch, in one pipeline on one connection
//! (so Redis runs a batch in its order), with one `WAIT` after it when acks need replicas.

use super::entries::{as_array, int_at, unexpected};
use super::{Acks, LogState, RedisBroker};
use crate::broker::{batch_failed, publish_in_order, Published};
use crate::error::{NotDurable, Protocol, Result};
use crate::event::{NewEvent, Offset};
use redis::{RedisResult, ScriptInvocation, Value};
use std::sync::Arc;

/// What the publish script answered for one event.
pub(super) enum ScriptReply {
    /// Stored (or already stored: a duplicate).
    Stored(Published),
    /// The log no longer holds what this broker knew it held: it went back in time.
    WentBack,
    /// The log has another epoch than the one published into.
    OtherEpoch,
}

impl ScriptReply {
    fn parse(reply: &Value) -> Result<ScriptReply> {
        let items = as_array(reply)?;
        Ok(match int_at(items, 0)? {
            code @ (1 | 2) => ScriptReply::Stored(Published {
                offset: int_at(items, 1)? as Offset,
                duplicate: code == 2,
            }),
            3 => ScriptReply::WentBack,
            _ => ScriptReply::OtherEpoch,
        })
    }
}

impl RedisBroker {
    /// One try of the publish script for `event` (`json`) in the log `state` knows.
    pub(super) async fn try_publish(
        &self,
        state: &LogState,
        event: &NewEvent,
        json: &str,
    ) -> Result<ScriptReply> {
        let (replies, confirmed) = self
            .run_pipeline(
                state,
                std::slice::from_ref(event),
                std::slice::from_ref(&json),
            )
            .await?;
        let reply = ScriptReply::parse(&replies[0])?;
        if let ScriptReply::Stored(published) = &reply {
            self.check_durable(published.offset, confirmed)?;
        }
        Ok(reply)
    }

    /// [`Broker::publish_all`](crate::broker::Broker::publish_all) for Redis: one pipeline
    /// (plus one `WAIT` for the whole batch when acks need replicas). If the log turns out
    /// to have a new epoch or to have gone back in time, the rest of the batch goes through
    /// [`Broker::publish`](crate::broker::Broker::publish) one by one, which handles that.
    pub(super) async fn publish_pipelined(&self, events: Vec<NewEvent>) -> Vec<Result<Published>> {
        let n = events.len();
        let mut jsons = Vec::with_capacity(n);
        for event in &events {
            match serde_json::to_string(&event.body()) {
                Ok(json) => jsons.push(json),
                Err(e) => return batch_failed(n, Protocol::Body(Arc::new(e)).into()),
            }
        }
        let state = self.state();
        let (replies, confirmed) = match self.run_pipeline(&state, &events, &jsons).await {
            Ok(r) => r,
            Err(e) => return batch_failed(n, e),
        };
        let mut results = Vec::with_capacity(n);
        let mut rest = None;
        for (i, (event, reply)) in events.iter().zip(&replies).enumerate() {
            match ScriptReply::parse(reply) {
                Ok(ScriptReply::Stored(published)) => {
                    results.push(self.check_durable(published.offset, confirmed).map(|()| {
                        self.note(&state.epoch, published.offset, &event.id);
                        published
                    }));
                }
                Ok(ScriptReply::WentBack | ScriptReply::OtherEpoch) => {
                    rest = Some(i);
                    break;
                }
                Err(e) => return batch_failed(n, e),
            }
        }
        if let Some(from) = rest {
            // New epoch, or the log went back in time: the one-by-one path deals with it.
            results.extend(publish_in_order(self, events.into_iter().skip(from)).await);
        }
        results
    }

    /// With `--acks replicas:N`, an event stored at `offset` counts only once `confirmed`
    /// replicas (what `WAIT` answered) reach N.
    fn check_durable(&self, offset: Offset, confirmed: Option<i64>) -> Result<()> {
        if let (Acks::Replicas(needed), Some(confirmed)) = (self.inner.config.acks, confirmed) {
            if confirmed < i64::from(needed) {
                return Err(NotDurable {
                    offset,
                    confirmed,
                    needed,
                    waited: self.inner.config.ack_timeout,
                }
                .into());
            }
        }
        Ok(())
    }

    /// Send the scripts of `events` (with their `jsons`), and `WAIT` when acks need
    /// replicas, in one pipeline; the replies in order, and how many replicas confirmed
    /// (`None` without `WAIT`). `WAIT` counts the replicas that have every write made so far
    /// on *its* connection, which is why it shares the pipeline.
    async fn run_pipeline(
        &self,
        state: &LogState,
        events: &[NewEvent],
        jsons: &[impl AsRef<str>],
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
                    .arg(json.as_ref())
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
                    return Err(unexpected(
                        "a count from WAIT",
                        &other.unwrap_or(Value::Nil),
                    ))
                }
            }
        } else {
            None
        };
        if replies.len() != events.len() {
            return Err(Protocol::Reply {
                expected: "one reply per publish of the pipeline",
                got: format!("{} replies to {} publishes", replies.len(), events.len()),
            }
            .into());
        }
        Ok((replies, confirmed))
    }
}
