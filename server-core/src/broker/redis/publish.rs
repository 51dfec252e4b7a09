//! Running the publish script: for one event or a batch, each partition's events in one
//! pipeline on one connection (so Redis runs them in their order), with one `WAIT` after it
//! when acks need replicas; the partitions of a batch side by side.

use super::entries::{as_array, int_at, unexpected};
use super::log::{Known, LogState};
use super::{Acks, RedisBroker};
use crate::broker::partition::Partition;
use crate::broker::{batch_failed, publish_in_order, Broker, Published};
use crate::error::{NotDurable, Protocol, Result, Unavailable};
use crate::event::{NewEvent, Offset};
use redis::{RedisResult, ScriptInvocation, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What the publish script answered for one event.
pub(super) enum ScriptReply {
    /// Stored at `position` (or already stored: a duplicate, position unknown).
    Stored(Published, Option<Offset>),
    /// The log no longer holds what this broker knew it held: it went back in time.
    WentBack,
    /// The log has another epoch than the one published into.
    OtherEpoch,
    /// The event it must follow is not stored: refused, not stored.
    OutOfOrder,
}

impl ScriptReply {
    fn parse(reply: &Value) -> Result<ScriptReply> {
        let items = as_array(reply)?;
        Ok(match int_at(items, 0)? {
            code @ (1 | 2) => ScriptReply::Stored(
                Published {
                    offset: int_at(items, 1)? as Offset,
                    duplicate: code == 2,
                },
                (code == 1)
                    .then(|| int_at(items, 3).map(|p| p as Offset))
                    .transpose()?,
            ),
            3 => ScriptReply::WentBack,
            4 => ScriptReply::OutOfOrder,
            _ => ScriptReply::OtherEpoch,
        })
    }
}

/// The events of one partition of a batch, with their places in it.
struct Group {
    partition: Partition,
    places: Vec<usize>,
    events: Vec<NewEvent>,
}

impl RedisBroker {
    /// One event: at most three tries, the others only after the log turned out to have a
    /// new epoch (it was lost, or went back in time), in which case this never-acked event
    /// belongs to the new log.
    pub(super) async fn publish_one(&self, event: NewEvent) -> Result<Published> {
        let partition = self.partition_of(&event.channel);
        let body = serde_json::to_string(&event.body()).map_err(|e| Protocol::Body(Arc::new(e)))?;
        for _ in 0..3 {
            let state = self.state(partition);
            let events = std::slice::from_ref(&event);
            let (replies, confirmed) = self
                .run_pipeline(partition, &state, events, std::slice::from_ref(&body))
                .await?;
            match ScriptReply::parse(&replies[0])? {
                ScriptReply::Stored(published, position) => {
                    self.check_durable(published.offset, confirmed)?;
                    self.noted(partition, &state, &event, position);
                    return Ok(published);
                }
                ScriptReply::OutOfOrder => {
                    let after = event.after.clone().unwrap_or_default();
                    return Err(Unavailable::OutOfOrder(after).into());
                }
                ScriptReply::WentBack => {
                    self.start_new_history(partition, &state.epoch).await?;
                }
                ScriptReply::OtherEpoch => {
                    let now = self.open_log(partition).await?;
                    tracing::warn!(partition, old = %state.epoch, new = %now, "Redis log epoch changed; publishing into the new log");
                }
            }
        }
        Err(Protocol::EpochChurn.into())
    }

    /// [`Broker::publish_all`] for Redis: the batch split by partition, each partition's
    /// events in one pipeline, the partitions side by side; results in the batch's order.
    pub(super) async fn publish_by_partition(
        &self,
        events: Vec<NewEvent>,
    ) -> Vec<Result<Published>> {
        let n = events.len();
        let mut groups: Vec<Group> = Vec::new();
        for (place, event) in events.into_iter().enumerate() {
            let partition = self.partition_of(&event.channel);
            match groups.iter_mut().find(|g| g.partition == partition) {
                Some(g) => {
                    g.places.push(place);
                    g.events.push(event);
                }
                None => groups.push(Group {
                    partition,
                    places: vec![place],
                    events: vec![event],
                }),
            }
        }
        let runs = groups.into_iter().map(|g| async move {
            let results = self.publish_group(g.partition, g.events).await;
            (g.places, results)
        });
        let mut out: Vec<Option<Result<Published>>> = (0..n).map(|_| None).collect();
        for (places, results) in futures_util::future::join_all(runs).await {
            for (place, result) in places.into_iter().zip(results) {
                out[place] = Some(result);
            }
        }
        out.into_iter()
            .map(|r| r.expect("every event has its result"))
            .collect()
    }

    /// The events of one partition in one pipeline (plus one `WAIT` when acks need
    /// replicas). If the log turns out to have a new epoch or to have gone back in time, the
    /// rest go through [`Self::publish_one`] one by one, which handles that.
    async fn publish_group(
        &self,
        partition: Partition,
        events: Vec<NewEvent>,
    ) -> Vec<Result<Published>> {
        let n = events.len();
        let mut bodies = Vec::with_capacity(n);
        for event in &events {
            match serde_json::to_string(&event.body()) {
                Ok(body) => bodies.push(body),
                Err(e) => return batch_failed(n, Protocol::Body(Arc::new(e)).into()),
            }
        }
        let state = self.state(partition);
        let (replies, confirmed) =
            match self.run_pipeline(partition, &state, &events, &bodies).await {
                Ok(r) => r,
                Err(e) => return batch_failed(n, e),
            };
        let mut results = Vec::with_capacity(n);
        let mut rest = None;
        for (i, (event, reply)) in events.iter().zip(&replies).enumerate() {
            match ScriptReply::parse(reply) {
                Ok(ScriptReply::Stored(published, position)) => {
                    results.push(self.check_durable(published.offset, confirmed).map(|()| {
                        self.noted(partition, &state, event, position);
                        published
                    }));
                }
                Ok(ScriptReply::OutOfOrder) => {
                    let after = event.after.clone().unwrap_or_default();
                    results.push(Err(Unavailable::OutOfOrder(after).into()));
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

    /// `event` was stored at `position` (when it is new) in the log `state` knew.
    fn noted(&self, partition: Partition, state: &LogState, event: &NewEvent, at: Option<Offset>) {
        if let Some(position) = at {
            let known = Known {
                position,
                id: event.id.clone(),
                channel: event.channel.clone(),
            };
            self.note(partition, &state.epoch, known);
        }
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

    /// The invocations of the publish script for `events` (with their `bodies`) in the log
    /// `state` knows.
    fn invocations<'a>(
        &'a self,
        partition: Partition,
        state: &'a LogState,
        events: &'a [NewEvent],
        bodies: &'a [String],
    ) -> Vec<ScriptInvocation<'a>> {
        let keys = self.keys(partition);
        let known = state.known.as_ref();
        events
            .iter()
            .zip(bodies)
            .map(|(event, body)| {
                let mut invocation = keys.invocation(&self.inner.scripts.publish);
                invocation
                    .key(keys.channel(&event.channel))
                    .arg(&state.epoch)
                    .arg(&event.id)
                    .arg(self.inner.config.history)
                    .arg(body)
                    .arg(known.map_or(0, |k| k.position))
                    .arg(known.map_or("", |k| k.id.as_str()))
                    .arg(known.map_or("", |k| k.channel.as_str()))
                    .arg(&event.channel)
                    .arg(&keys.channel_prefix)
                    .arg(event.after.as_deref().unwrap_or(""));
                invocation
            })
            .collect()
    }

    /// Send the scripts of `events`, and `WAIT` when acks need replicas, in one pipeline;
    /// the replies in order, and how many replicas confirmed (`None` without `WAIT`). `WAIT`
    /// counts the replicas that have every write made so far on *its* connection, which is
    /// why it shares the pipeline.
    async fn run_pipeline(
        &self,
        partition: Partition,
        state: &LogState,
        events: &[NewEvent],
        bodies: &[String],
    ) -> Result<(Vec<Value>, Option<i64>)> {
        let invocations = self.invocations(partition, state, events, bodies);
        let mut pipe = redis::pipe();
        // Until a pipeline of this partition has run the script, each one loads it first, in
        // the same pipeline: Redis runs a connection's commands in order, so the pipelines of
        // a connection's batches stay in their order. (Loading it only after a `NOSCRIPT`
        // answer would let a later batch, sent meanwhile, be stored before this one, and
        // its events be refused as out of order.)
        let loaded = &self.inner.publish_loaded[partition as usize];
        if !loaded.load(Ordering::Relaxed) {
            pipe.cmd("SCRIPT")
                .arg("LOAD")
                .arg(self.inner.scripts.publish_source)
                .ignore();
        }
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
        let replies: Result<Vec<Value>> = self
            .with_conn(|mut c| async move {
                let result: RedisResult<Vec<Value>> = pipe.query_async(&mut c).await;
                match result {
                    Err(e)
                        if e.kind()
                            == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                    {
                        // The script cache was flushed (`SCRIPT FLUSH`, or a node that
                        // never ran it): load it, then resend.
                        first.load_async(&mut c).await?;
                        pipe.query_async(&mut c).await
                    }
                    other => other,
                }
            })
            .await;
        // A failed pipeline may mean a new connection or a restarted server: load again.
        loaded.store(replies.is_ok(), Ordering::Relaxed);
        let mut replies = replies?;
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
