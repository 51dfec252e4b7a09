//! Decoding Redis replies: stream entries into stored events, and the small shapes the Lua
//! scripts answer with.

use crate::error::{BrokerError, Result};
use crate::event::{NewEvent, Offset, StoredEvent};
use redis::Value;

pub(super) fn protocol(msg: String) -> BrokerError {
    BrokerError::Protocol(msg)
}

pub(super) fn as_array(v: &Value) -> Result<&[Value]> {
    match v {
        Value::Array(items) => Ok(items),
        other => Err(protocol(format!("expected an array, got {other:?}"))),
    }
}

pub(super) fn int_at(items: &[Value], i: usize) -> Result<i64> {
    match items.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        other => Err(protocol(format!("expected an integer, got {other:?}"))),
    }
}

fn bytes(v: &Value) -> Result<&[u8]> {
    match v {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.as_bytes()),
        other => Err(protocol(format!("expected a string, got {other:?}"))),
    }
}

/// Parse `XRANGE`/`XREAD` entries: `[[id, [field, value, …]], …]`.
pub(super) fn parse_entries(v: &Value) -> Result<Vec<StoredEvent>> {
    let entries = match v {
        Value::Nil => return Ok(Vec::new()),
        v => as_array(v)?,
    };
    entries
        .iter()
        .map(|entry| {
            let pair = as_array(entry)?;
            let (id, fields) = match pair {
                [id, fields] => (bytes(id)?, as_array(fields)?),
                _ => return Err(protocol("malformed stream entry".into())),
            };
            let offset = std::str::from_utf8(id)
                .ok()
                .and_then(|s| s.split('-').next())
                .and_then(|s| s.parse::<Offset>().ok())
                .ok_or_else(|| protocol("stream entry id is not <offset>-0".into()))?;
            let (mut stored_at, mut data) = (None, None);
            for kv in fields.chunks(2) {
                if let [k, v] = kv {
                    match bytes(k)? {
                        b"s" => {
                            stored_at = std::str::from_utf8(bytes(v)?)
                                .ok()
                                .and_then(|s| s.parse().ok())
                        }
                        b"d" => data = Some(bytes(v)?),
                        _ => {}
                    }
                }
            }
            let event: NewEvent =
                serde_json::from_slice(data.ok_or_else(|| protocol("entry has no data".into()))?)
                    .map_err(|e| protocol(format!("entry data is not an event: {e}")))?;
            Ok(StoredEvent {
                offset,
                stored_at: stored_at.unwrap_or(0),
                event,
            })
        })
        .collect()
}

/// Parse an `XREAD` reply for one stream (RESP2 array or RESP3 map; nil when nothing came).
pub(super) fn parse_xread(reply: &Value) -> Result<Vec<StoredEvent>> {
    match reply {
        Value::Nil => Ok(Vec::new()),
        Value::Array(streams) => match streams.first() {
            Some(Value::Array(pair)) if pair.len() == 2 => parse_entries(&pair[1]),
            _ => Ok(Vec::new()),
        },
        Value::Map(streams) => match streams.first() {
            Some((_, entries)) => parse_entries(entries),
            None => Ok(Vec::new()),
        },
        other => Err(protocol(format!("unexpected XREAD reply {other:?}"))),
    }
}
