//! Channels onto partitions: which partition of the log holds a channel.
//!
//! The log is split into a fixed number of partitions (`--partitions`, the same for every
//! process sharing the log, checked at connect). A channel lives in exactly one of them,
//! chosen by a stable hash of its name (jump consistent hash of its FNV-1a, so every process,
//! version and language that follows these two published functions agrees). A partition is
//! one ordered log with its own epoch; its channels are interleaved in it, each with its own
//! dense offsets. On Redis each partition has a hash tag of its own, spread over the slot
//! space, so that the partitions of a Cluster are spread over its shards.

/// The index of a partition: `0..partitions`.
pub type Partition = u16;

/// The partition of `channel` among `partitions` (at least 1).
pub fn of(channel: &str, partitions: u16) -> Partition {
    jump(fnv1a(channel.as_bytes()), partitions.max(1))
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Jump consistent hash (Lamping and Veach, 2014): `key` into `0..buckets`, moving only
/// `1/buckets` of the keys when a bucket is added.
fn jump(mut key: u64, buckets: u16) -> Partition {
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b as Partition
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mapping is pinned: a change would move channels between partitions, and processes
    /// of two versions sharing one log would disagree.
    #[test]
    fn the_mapping_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let pinned: Vec<Partition> = ["global", "chat:1", "orders"]
            .iter()
            .map(|c| of(c, 12))
            .collect();
        assert_eq!(pinned, [PINNED_GLOBAL, PINNED_CHAT_1, PINNED_ORDERS]);
        assert!((0..100).all(|i| of(&format!("c{i}"), 1) == 0));
    }

    const PINNED_GLOBAL: Partition = 3;
    const PINNED_CHAT_1: Partition = 8;
    const PINNED_ORDERS: Partition = 10;

    /// Channels spread evenly: 12,000 names over 12 partitions, none above 1,150.
    #[test]
    fn channels_spread_evenly() {
        let mut counts = [0usize; 12];
        for i in 0..12_000 {
            counts[of(&format!("room-{i}"), 12) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&n| (850..1150).contains(&n)),
            "{counts:?}"
        );
    }

    /// Growing from 12 to 13 partitions moves about 1/13 of the channels, all to the new one.
    #[test]
    fn one_more_partition_moves_few_channels() {
        let moved: Vec<Partition> = (0..13_000)
            .map(|i| format!("room-{i}"))
            .filter(|c| of(c, 12) != of(c, 13))
            .map(|c| of(&c, 13))
            .collect();
        assert!(moved.iter().all(|&p| p == 12));
        assert!((800..1200).contains(&moved.len()), "{}", moved.len());
    }
}
