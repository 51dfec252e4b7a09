//! Decoding Redis replies: stream entries into stored events, and the small shapes the Lua
//! scripts answer with.

use crate::broker::presence::{Change, PresenceChange};
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

pub(super) fn bytes(v: &Value) -> Result<&[u8]> {
    match v {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.as_bytes()),
        other => Err(unexpected("a string", other)),
    }
}

/// The number in `<n>-0`, a stream entry id.
pub(super) fn entry_number(id: &[u8]) -> Result<Offset> {
    std::str::from_utf8(id)
        .ok()
        .and_then(|s| s.split('-').next())
        .and_then(|s| s.parse::<Offset>().ok())
        .ok_or_else(|| malformed("the entry id is not <n>-0"))
}

fn text(v: &[u8], what: &'static str) -> Result<String> {
    std::str::from_utf8(v)
        .map(str::to_owned)
        .map_err(|_| malformed(what))
}

fn number(v: &[u8], what: &'static str) -> Result<Offset> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| malformed(what))
}

/// The fields of one log entry, as they are read.
#[derive(Default)]
struct Fields<'a> {
    channel: Option<&'a [u8]>,
    offset: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    stored_at: Option<&'a [u8]>,
    data: Option<&'a [u8]>,
}

/// One log entry `[id, [field, value, …]]` as a stored event.
fn parse_entry(entry: &Value) -> Result<StoredEvent> {
    let (id, fields) = match as_array(entry)? {
        [id, fields] => (bytes(id)?, as_array(fields)?),
        _ => return Err(malformed("not an [id, fields] pair")),
    };
    let mut f = Fields::default();
    for kv in fields.chunks(2) {
        if let [k, v] = kv {
            let v = bytes(v)?;
            match bytes(k)? {
                b"c" => f.channel = Some(v),
                b"o" => f.offset = Some(v),
                b"i" => f.id = Some(v),
                b"s" => f.stored_at = Some(v),
                b"d" => f.data = Some(v),
                _ => {}
            }
        }
    }
    let channel = text(
        f.channel.ok_or_else(|| malformed("no channel field"))?,
        "the channel is not UTF-8",
    )?;
    let event_id = text(
        f.id.ok_or_else(|| malformed("no id field"))?,
        "the id is not UTF-8",
    )?;
    let data = f.data.ok_or_else(|| malformed("no data field"))?;
    let event =
        NewEvent::from_body(event_id, channel, data).map_err(|e| Protocol::Body(Arc::new(e)))?;
    Ok(StoredEvent {
        position: entry_number(id)?,
        offset: number(
            f.offset.ok_or_else(|| malformed("no offset field"))?,
            "the offset is not a number",
        )?,
        stored_at: f
            .stored_at
            .map_or(Ok(0), |s| number(s, "the store time is not a number"))?,
        event,
    })
}

/// Parse `XRANGE`/`XREAD` entries: `[[id, [field, value, …]], …]`.
pub(super) fn parse_entries(v: &Value) -> Result<Vec<StoredEvent>> {
    match v {
        Value::Nil => Ok(Vec::new()),
        v => as_array(v)?.iter().map(parse_entry).collect(),
    }
}

/// The entries of each stream of an `XREAD` reply, by stream name (RESP2 array or RESP3
/// map; nothing when nil).
fn xread_streams(reply: &Value) -> Result<Vec<(&[u8], &Value)>> {
    match reply {
        Value::Nil => Ok(Vec::new()),
        Value::Array(streams) => streams
            .iter()
            .map(|s| match as_array(s)? {
                [name, entries] => Ok((bytes(name)?, entries)),
                _ => Err(unexpected("a [stream, entries] pair", s)),
            })
            .collect(),
        Value::Map(streams) => streams
            .iter()
            .map(|(name, entries)| Ok((bytes(name)?, entries)))
            .collect(),
        other => Err(unexpected("an XREAD reply", other)),
    }
}

/// Parse an `XREAD` reply of a partition's log (`log`) and presence stream (`plog`).
pub(super) fn parse_xread(
    reply: &Value,
    log: &str,
    plog: &str,
) -> Result<(Vec<StoredEvent>, Vec<PresenceChange>)> {
    let (mut events, mut presence) = (Vec::new(), Vec::new());
    for (name, entries) in xread_streams(reply)? {
        if name == log.as_bytes() {
            events = parse_entries(entries)?;
        } else if name == plog.as_bytes() {
            presence = parse_presence(entries)?;
        }
    }
    Ok((events, presence))
}

/// Parse presence stream entries: `[[id, ["k", j|l, "c", channel, "m", member], …]`.
pub(super) fn parse_presence(v: &Value) -> Result<Vec<PresenceChange>> {
    let entries = match v {
        Value::Nil => return Ok(Vec::new()),
        v => as_array(v)?,
    };
    entries
        .iter()
        .map(|entry| {
            let (id, fields) = match as_array(entry)? {
                [id, fields] => (bytes(id)?, as_array(fields)?),
                _ => return Err(malformed("not an [id, fields] pair")),
            };
            let (mut kind, mut channel, mut member) = (None, None, None);
            for kv in fields.chunks(2) {
                if let [k, v] = kv {
                    match bytes(k)? {
                        b"k" => kind = Some(bytes(v)?),
                        b"c" => channel = Some(bytes(v)?),
                        b"m" => member = Some(bytes(v)?),
                        _ => {}
                    }
                }
            }
            let change = match kind {
                Some(b"j") => Change::Join,
                Some(b"l") => Change::Leave,
                _ => return Err(malformed("a presence entry is neither j nor l")),
            };
            let channel = text(
                channel.ok_or_else(|| malformed("no channel field"))?,
                "the channel is not UTF-8",
            )?;
            let member = member.ok_or_else(|| malformed("no member field"))?;
            Ok(PresenceChange {
                position: entry_number(id)?,
                channel,
                change,
                member: serde_json::from_slice(member).map_err(|e| Protocol::Body(Arc::new(e)))?,
            })
        })
        .collect()
}
