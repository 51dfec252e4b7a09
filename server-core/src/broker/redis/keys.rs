//! Where a partition's log lives in Redis: its keys, all under one hash tag so that the
//! partition is one Cluster slot and its Lua scripts may touch every one of them.
//!
//! Partition `i` of `n` under prefix `P` has the hash tag `{P.i.k}`, with the smallest `k`
//! that puts it in the `i`-th of `n` equal ranges of the 16,384 slots. A Cluster hands out
//! slots in ranges (`redis-cli --cluster create` gives each primary one), so consecutive
//! partitions land on the same shard and the partitions spread evenly over the shards: 12
//! partitions are 4 per shard on 3 primaries. Every process computes the same tags.
//!
//! Keys of one partition (tag `T`):
//! - `T:log`, the stream of its events: entry id `<position>-0`, fields `c` channel, `o`
//!   offset in the channel, `i` id, `s` store time (µs), `d` the rest of the event (JSON);
//! - `T:ids`, hash `<channel>\n<id>` → offset (trimmed with the stream), for deduplication;
//! - `T:seq`, the position counter; `T:epoch`, the epoch;
//! - `T:chseq`, hash channel → its newest offset (every channel ever used in the epoch);
//! - `T:ch:<channel>`, one stream per channel: entry id `<offset>-0`, field `p` the position,
//!   trimmed with the log: the channel's history, by offset;
//! - presence: `T:plog`, the stream of its changes (entry id `<presence position>-0`, fields
//!   `k` `j`oin or `l`eave, `c` channel, `m` the member), bounded; `T:pseq` its counter;
//!   `T:leases`, hash instance → lease end (ms); `T:pch`, the channels with members;
//!   `T:m:<channel>`, hash member id → member; `T:mi:<instance>`, that instance's members.
//!
//! And one key of the whole log, `{P}:meta` (hash: `partitions`), which every process checks
//! so that all of them split channels the same way.

use redis::{Script, ScriptInvocation};

/// The slots of a Redis Cluster.
const SLOTS: u32 = 16_384;

/// The keys of one partition.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    pub(super) log: String,
    pub(super) ids: String,
    pub(super) seq: String,
    pub(super) epoch: String,
    pub(super) chseq: String,
    /// `T:ch:`, the prefix of the channels' streams.
    pub(super) channel_prefix: String,
    /// `T:`, the prefix of every key of the partition (for the keys Lua scripts name
    /// themselves: members, instance indexes).
    pub(super) prefix: String,
    /// The presence stream, its counter, the leases, the channels with members.
    pub(super) plog: String,
    pub(super) pseq: String,
    pub(super) leases: String,
    pub(super) pch: String,
}

impl Keys {
    /// The keys of partition `partition` of `partitions` under `prefix`.
    pub(super) fn new(prefix: &str, partition: u16, partitions: u16) -> Keys {
        let tag = tag(prefix, partition, partitions);
        Keys {
            log: format!("{{{tag}}}:log"),
            ids: format!("{{{tag}}}:ids"),
            seq: format!("{{{tag}}}:seq"),
            epoch: format!("{{{tag}}}:epoch"),
            chseq: format!("{{{tag}}}:chseq"),
            channel_prefix: format!("{{{tag}}}:ch:"),
            prefix: format!("{{{tag}}}:"),
            plog: format!("{{{tag}}}:plog"),
            pseq: format!("{{{tag}}}:pseq"),
            leases: format!("{{{tag}}}:leases"),
            pch: format!("{{{tag}}}:pch"),
        }
    }

    /// The members hash of `channel`.
    pub(super) fn members(&self, channel: &str) -> String {
        format!("{}m:{channel}", self.prefix)
    }

    /// The stream of `channel`'s offsets.
    pub(super) fn channel(&self, channel: &str) -> String {
        format!("{}{channel}", self.channel_prefix)
    }

    /// `script` with the five partition keys bound in the order every Lua script declares
    /// them (`KEYS[1]` stream, `[2]` ids, `[3]` position counter, `[4]` epoch, `[5]` channel
    /// counters).
    pub(super) fn invocation<'a>(&'a self, script: &'a Script) -> ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(&self.log)
            .key(&self.ids)
            .key(&self.seq)
            .key(&self.epoch)
            .key(&self.chseq);
        invocation
    }
}

/// The key of the log's settings.
pub(super) fn meta(prefix: &str) -> String {
    format!("{{{prefix}}}:meta")
}

/// The hash tag of partition `i` of `n`: the first `P.i.k` whose slot is in the `i`-th range.
fn tag(prefix: &str, i: u16, n: u16) -> String {
    let n = u32::from(n.max(1));
    let i = u32::from(i) % n;
    let range = (i * SLOTS / n)..((i + 1) * SLOTS / n);
    (0u32..)
        .map(|k| format!("{prefix}.{i}.{k}"))
        .find(|t| range.contains(&u32::from(slot(t.as_bytes()))))
        .expect("some suffix lands in every range")
}

/// The Cluster slot of a hash tag: CRC16 (XMODEM) modulo 16,384.
pub(super) fn slot(tag: &[u8]) -> u16 {
    let crc = tag.iter().fold(0u16, |mut crc, b| {
        crc ^= u16::from(*b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
        crc
    });
    crc % SLOTS as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slots Redis's own `CLUSTER KEYSLOT` answers (its documentation's examples).
    #[test]
    fn slots_are_redis_slots() {
        // CRC16/XMODEM of "123456789" is 0x31C3, below 16,384: its own slot.
        assert_eq!(slot(b"123456789"), 0x31C3);
        assert_eq!(slot(b"foo"), 12_182);
        assert_eq!(slot(b"user1000"), 3_443);
    }

    /// Each partition's tag lands in its own range of slots, in order.
    #[test]
    fn partitions_spread_over_the_slots() {
        for n in [1u16, 3, 12, 16] {
            for i in 0..n {
                let keys = Keys::new("mrs", i, n);
                let tag = keys.log.trim_start_matches('{').split('}').next().unwrap();
                let s = u32::from(slot(tag.as_bytes()));
                let (lo, hi) = (
                    u32::from(i) * SLOTS / u32::from(n),
                    (u32::from(i) + 1) * SLOTS / u32::from(n),
                );
                assert!((lo..hi).contains(&s), "{n}/{i}: {tag} in slot {s}");
            }
        }
    }
}
