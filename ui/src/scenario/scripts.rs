//! The demos' scripts: what each step does, what to watch, and how long it plays out.

use super::{Effect, Script, Step};

/// Every demo, in the picker's order (the first is the default).
pub const SCRIPTS: [&Script; 3] = [&PARTITION, &ROOMS, &PRESENCE];

/// Distance, a partition, its healing, on `global`.
pub const PARTITION: Script = Script {
    name: "Partition",
    about: "A 30-second scripted demo: distance, a partition, and its healing",
    done: "Every region got every event, in order, once. Run it again any time.",
    steps: &PARTITION_STEPS,
};

/// Every region's pane on `global` alone, where the partition story is told (after the chat
/// rooms, or a person's own channels, the panes would not list its bursts).
const ON_GLOBAL: &[(&str, &[&str])] = &[
    ("as", &[wire::GLOBAL]),
    ("us", &[wire::GLOBAL]),
    ("eu", &[wire::GLOBAL]),
];

const PARTITION_STEPS: [Step; 7] = [
    Step {
        title: "Every region on the global channel",
        watch: "each pane follows global alone, the channel every burst of this story goes to",
        effect: Effect::Follow(ON_GLOBAL),
        dwell_ms: 500,
    },
    Step {
        title: "Place the regions around the globe",
        watch: "preset “global”: US 20 ms, EU 45 ms, AS 90 ms from the broker",
        effect: Effect::Preset("global"),
        dwell_ms: 2_000,
    },
    Step {
        title: "A burst of 10 in each region",
        watch: "the timeline: each region's marker lands at its own distance",
        effect: Effect::Burst {
            region: None,
            count: 10,
        },
        dwell_ms: 5_000,
    },
    Step {
        title: "Cut EU off from the broker",
        watch: "the EU pane turns red: it can neither publish nor receive",
        effect: Effect::CutOff {
            region: "eu",
            on: true,
        },
        dwell_ms: 2_500,
    },
    Step {
        title: "A burst of 10 from AS while EU is cut off",
        watch: "EU's backlog counter grows; the timeline waits for EU",
        effect: Effect::Burst {
            region: Some("as"),
            count: 10,
        },
        dwell_ms: 6_000,
    },
    Step {
        title: "Heal EU",
        watch: "EU catches up from where it stopped: in order, nothing lost, nothing twice",
        effect: Effect::CutOff {
            region: "eu",
            on: false,
        },
        dwell_ms: 8_000,
    },
    Step {
        title: "Back to one machine",
        watch: "preset “off”: the regions are microseconds from the broker again",
        effect: Effect::Preset("off"),
        dwell_ms: 1_500,
    },
];

/// Which rooms each region is in: every room has two regions, every region two rooms.
pub const ROOM_MEMBERS: &[(&str, &[&str])] = &[
    ("as", &["room-1", "room-2"]),
    ("us", &["room-2", "room-3"]),
    ("eu", &["room-1", "room-3"]),
];

/// Three chat rooms (channels): each pane gets only its rooms, each room in one order in
/// every pane that follows it, whoever posts.
pub const ROOMS: Script = Script {
    name: "Chat rooms",
    about: "A 15-second scripted demo: three chat rooms (channels), each region in two of them",
    done: "Each pane got only its rooms, each room in one order everywhere. Filter the timeline by room; the panes stay in their rooms (× on a chip leaves one).",
    steps: &ROOMS_STEPS,
};

const ROOMS_STEPS: [Step; 5] = [
    Step {
        title: "Three chat rooms: each region joins two",
        watch: "each pane's channels: AS is in rooms 1 and 2, US in 2 and 3, EU in 1 and 3",
        effect: Effect::Follow(ROOM_MEMBERS),
        dwell_ms: 1_500,
    },
    Step {
        title: "Place the regions around the globe",
        watch: "preset “global”: each region hears the rooms at its own distance",
        effect: Effect::Preset("global"),
        dwell_ms: 1_500,
    },
    Step {
        title: "Everyone talks at once, in their rooms",
        watch: "each pane lists only its two rooms; a room's messages have the same offsets, in the same order, in both its panes",
        effect: Effect::Post(&[
            ("as", "room-1", 5),
            ("eu", "room-1", 5),
            ("as", "room-2", 5),
            ("us", "room-2", 5),
            ("us", "room-3", 5),
            ("eu", "room-3", 5),
        ]),
        dwell_ms: 6_000,
    },
    Step {
        title: "US posts into room 1 without joining it",
        watch: "AS and EU get them; the US pane does not, though its acks count them",
        effect: Effect::Post(&[("us", "room-1", 3)]),
        dwell_ms: 3_000,
    },
    Step {
        title: "Back to one machine",
        watch: "preset “off”: the regions are microseconds from the broker again",
        effect: Effect::Preset("off"),
        dwell_ms: 1_500,
    },
];

/// The original's story: people log in through US and EU, then one in AS fires an event.
pub const PRESENCE: Script = Script {
    name: "Presence",
    about: "A 15-second scripted demo: Ana logs in through US, Ben through EU, then Chen in AS fires an event",
    done: "Every pane lists Ana (US), Ben (EU) and Chen (AS), each in its region's colour; the timeline has each join and leave once. Log a pane out to see its member leave everywhere.",
    steps: &PRESENCE_STEPS,
};

const PRESENCE_STEPS: [Step; 8] = [
    Step {
        title: "Every region on the global channel",
        watch: "each pane follows global: who is online there, in every region, is listed in every pane",
        effect: Effect::Follow(ON_GLOBAL),
        dwell_ms: 300,
    },
    Step {
        title: "Everyone starts as a guest",
        watch: "each pane's client is its region's guest: three members online, one per region",
        effect: Effect::LogIn(&[("as", None), ("us", None), ("eu", None)]),
        dwell_ms: 1_000,
    },
    Step {
        title: "Place the regions around the globe",
        watch: "preset “global”: US 20 ms, EU 45 ms, AS 90 ms from the broker",
        effect: Effect::Preset("global"),
        dwell_ms: 1_500,
    },
    Step {
        title: "Ana logs in through US",
        watch: "every pane lists Ana in US's colour; the timeline shows her join (and the US guest's leave), told to each pane at its distance",
        effect: Effect::LogIn(&[("us", Some("Ana"))]),
        dwell_ms: 2_500,
    },
    Step {
        title: "Ben logs in through EU",
        watch: "Ben appears in every pane, in EU's colour, beside Ana",
        effect: Effect::LogIn(&[("eu", Some("Ben"))]),
        dwell_ms: 2_500,
    },
    Step {
        title: "Chen logs in through AS",
        watch: "Chen appears in every pane, in AS's colour: three people online, one per region",
        effect: Effect::LogIn(&[("as", Some("Chen"))]),
        dwell_ms: 2_500,
    },
    Step {
        title: "Chen fires an event from AS",
        watch: "the event reaches every region; its timeline row sits above the joins",
        effect: Effect::Fire {
            region: "as",
            text: "Chen says hello from AS",
        },
        dwell_ms: 3_000,
    },
    Step {
        title: "Back to one machine",
        watch: "preset “off”: the regions are microseconds from the broker again; everyone stays online",
        effect: Effect::Preset("off"),
        dwell_ms: 1_500,
    },
];
