//! Decoding Redis replies: stream entries into stored events, and the small shapes the Lua
//! scripts answer with.

use crate::error::{BrokerError, Protocol, Result};
use crate::event::{NewEvent, Offset, StoredEvent};
use redis::Value;
use std::sync::Arc;

/// A reply of another shape than `expected`.
pub(super) fn unexpected(expected: &'static str, got: &Value) -> BrokerError {
    Protocol::Reply {
        expected,
        got: format!("{got:?}"),
    }
    .into()
}

fn malformed(what: &'static str) -> BrokerError {
    Protocol::Entry(what).into()
}

pub(super) fn as_array(v: &Value) -> Result<&[Value]> {
    match v {
        Value::Array(items) => Ok(items),
        other => Err(unexpected("an array", other)),
    }
}

pub(super) fn int_at(items: &[Value], i: usize) -> Result<i64> {
    match items.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        other => Err(unexpected("an integer", other.unwrap_or(&Value::Nil))),
    }
}

fn bytes(v: &Value) -> Result<&[u8]> {
    match v {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.as_bytes()),
        other => Err(unexpected("a string", other)),
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
                _ => return Err(malformed("not an [id, fields] pair")),
            };
            let offset = std::str::from_utf8(id)
                .ok()
                .and_then(|s| s.split('-').next())
                .and_then(|s| s.parse::<Offset>().ok())
                .ok_or_else(|| malformed("the entry id is not <offset>-0"))?;
            let (mut id, mut stored_at, mut data) = (None, None, None);
            for kv in fields.chunks(2) {
                if let [k, v] = kv {
                    match bytes(k)? {
                        b"s" => {
                            stored_at = std::str::from_utf8(bytes(v)?)
                                .ok()
                                .and_then(|s| s.parse().ok())
                        }
                        b"d" => data = Some(bytes(v)?),
                        b"i" => id = Some(bytes(v)?),
                        _ => {}
                    }
                }
            }
            let id = std::str::from_utf8(id.ok_or_else(|| malformed("no id field"))?)
                .map_err(|_| malformed("the id is not UTF-8"))?;
            let data = data.ok_or_else(|| malformed("no data field"))?;
            let event = NewEvent::from_body(id.to_owned(), data)
                .map_err(|e| Protocol::Body(Arc::new(e)))?;
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
        other => Err(unexpected("an XREAD reply", other)),
    }
}
