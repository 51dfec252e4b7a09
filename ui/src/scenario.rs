//! The scripted demos behind "Run scenario": each a fixed list of steps, and a small state
//! machine that walks the one picked, so a new user sees a whole story in under a minute:
//! [`PARTITION`] (distance, a partition, its healing), [`ROOMS`] (three chat rooms, each
//! region in two of them: a pane gets only its rooms, each room in one order everywhere) and
//! [`PRESENCE`] (the original's story: Ana logs in through US, Ben through EU, then Chen in
//! AS fires an event; every pane lists them all, each in its region's colour).
//!
//! Pure: [`crate::hooks::use_scenario`] performs each step's [`Effect`] (HTTP, publishing,
//! following channels), waits the step's dwell time, and reports back with
//! [`Scenario::apply`].

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Put every region on this preset (`wire::sim::presets`).
    Preset(&'static str),
    /// Publish a burst of `count` in `region`, or in every region when `None`.
    Burst {
        /// The region, or every region.
        region: Option<&'static str>,
        /// Events per region.
        count: u32,
    },
    /// Cut `region` off from the broker (`true`) or heal it (`false`).
    CutOff {
        /// The region.
        region: &'static str,
        /// Cut off, or heal.
        on: bool,
    },
    /// Each listed region's pane follows exactly these channels, `(region, channels)`; done
    /// once every socket confirmed them.
    Follow(&'static [(&'static str, &'static [&'static str])]),
    /// Bursts into channels, all at once, `(region, channel, count)`.
    Post(&'static [(&'static str, &'static str, u32)]),
    /// Each listed region's client goes by this display name (`None`: its guest name),
    /// `(region, name)`; done once every socket's region confirmed it (a new connection).
    LogIn(&'static [(&'static str, Option<&'static str>)]),
    /// One event of kind `event` with this text, from `region`, on `global`.
    Fire {
        /// The region.
        region: &'static str,
        /// The text.
        text: &'static str,
    },
}

/// One step of the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// What happens, in a few words.
    pub title: &'static str,
    /// What to look at meanwhile.
    pub watch: &'static str,
    /// What the step does.
    pub effect: Effect,
    /// How long to let it play out before the next step, ms.
    pub dwell_ms: u32,
}

/// A scripted demo.
#[derive(Debug, PartialEq, Eq)]
pub struct Script {
    /// Its name in the picker.
    pub name: &'static str,
    /// What it shows, in a few words (the run button's tooltip).
    pub about: &'static str,
    /// What the bar says once it is done.
    pub done: &'static str,
    /// Its steps, in order.
    pub steps: &'static [Step],
}

mod scripts;

pub use scripts::{PARTITION, PRESENCE, ROOMS, ROOM_MEMBERS, SCRIPTS};

/// Where a run of the demo is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Performing step `n` (index into the script's steps) or waiting out its dwell time.
    Running(usize),
    /// Every step ran.
    Done,
    /// Step `n` failed with this message; the demo stopped there.
    Failed(usize, String),
    /// The user stopped it during step `n`.
    Stopped(usize),
}

/// A run of a demo. `run` tells runs apart, so that a late report of an earlier run is
/// ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The demo.
    pub script: &'static Script,
    /// Which run (starts at 1, +1 per start, whichever demo).
    pub run: u64,
    /// Where it is.
    pub phase: Phase,
}

/// What happened to the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioEvent {
    /// The user pressed "Run scenario" with this demo picked.
    Start(&'static Script),
    /// The user pressed "Stop".
    Stop,
    /// Step `step` of run `run` finished and its dwell time is over.
    StepDone {
        /// The run.
        run: u64,
        /// The step.
        step: usize,
    },
    /// Step `step` of run `run` failed.
    StepFailed {
        /// The run.
        run: u64,
        /// The step.
        step: usize,
        /// Why.
        error: String,
    },
}

impl Scenario {
    /// The next state of `current` (no run yet: `None`) after `event`.
    pub fn apply(current: Option<&Scenario>, event: ScenarioEvent) -> Option<Scenario> {
        let run = current.map_or(0, |s| s.run);
        let running = current.and_then(|s| match s.phase {
            Phase::Running(n) => Some(n),
            _ => None,
        });
        let script = current.map_or(&PARTITION, |s| s.script);
        let next = |phase| Some(Scenario { script, run, phase });
        match event {
            ScenarioEvent::Start(script) if running.is_none() => Some(Scenario {
                script,
                run: run + 1,
                phase: Phase::Running(0),
            }),
            ScenarioEvent::Start(_) => current.cloned(),
            ScenarioEvent::Stop => match running {
                Some(n) => next(Phase::Stopped(n)),
                None => current.cloned(),
            },
            ScenarioEvent::StepDone { run: r, step } if r == run && running == Some(step) => {
                if step + 1 < script.steps.len() {
                    next(Phase::Running(step + 1))
                } else {
                    next(Phase::Done)
                }
            }
            ScenarioEvent::StepFailed {
                run: r,
                step,
                error,
            } if r == run && running == Some(step) => next(Phase::Failed(step, error)),
            // A report from an earlier run, or about a step that is not running: stale.
            ScenarioEvent::StepDone { .. } | ScenarioEvent::StepFailed { .. } => current.cloned(),
        }
    }

    /// The step being performed, if running.
    pub fn current(&self) -> Option<(usize, &'static Step)> {
        match self.phase {
            Phase::Running(n) => self.script.steps.get(n).map(|s| (n, s)),
            _ => None,
        }
    }
}

impl Script {
    /// Total time of the demo's dwell times, ms (the effects themselves add a little).
    pub fn length_ms(&self) -> u32 {
        self.steps.iter().map(|s| s.dwell_ms).sum()
    }

    /// The demo named `name`, if there is one.
    pub fn named(name: &str) -> Option<&'static Script> {
        SCRIPTS.into_iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(s: &Option<Scenario>, step: usize) -> Option<Scenario> {
        let run = s.as_ref().unwrap().run;
        Scenario::apply(s.as_ref(), ScenarioEvent::StepDone { run, step })
    }

    #[test]
    fn a_run_walks_every_step_in_order_then_is_done() {
        let mut s = Scenario::apply(None, ScenarioEvent::Start(&PARTITION));
        for n in 0..PARTITION.steps.len() {
            assert_eq!(s.as_ref().unwrap().phase, Phase::Running(n));
            s = done(&s, n);
        }
        assert_eq!(s.unwrap().phase, Phase::Done);
    }

    #[test]
    fn the_story_is_on_global_distance_then_a_partition_then_healing() {
        let effects: Vec<Effect> = PARTITION.steps.iter().map(|s| s.effect).collect();
        let at = |e: Effect| effects.iter().position(|x| *x == e).unwrap();
        let cut = at(Effect::CutOff {
            region: "eu",
            on: true,
        });
        let heal = at(Effect::CutOff {
            region: "eu",
            on: false,
        });
        assert!(matches!(effects[0], Effect::Follow(panes)
            if panes.iter().all(|(_, c)| *c == [wire::GLOBAL])));
        assert_eq!(at(Effect::Preset("global")), 1);
        assert!(matches!(
            effects[cut + 1],
            Effect::Burst {
                region: Some("as"),
                ..
            }
        ));
        assert!(cut < heal && heal < effects.len() - 1);
        assert_eq!(effects.last(), Some(&Effect::Preset("off")));
        assert!((20_000..=35_000).contains(&PARTITION.length_ms()));
    }

    #[test]
    fn stale_reports_and_double_starts_change_nothing() {
        let first = Scenario::apply(None, ScenarioEvent::Start(&PARTITION));
        let again = Scenario::apply(first.as_ref(), ScenarioEvent::Start(&ROOMS));
        assert_eq!(again, first, "a start while running is ignored");
        // A report about another step, or of an older run, is ignored.
        assert_eq!(done(&first, 3), first);
        let stopped = Scenario::apply(first.as_ref(), ScenarioEvent::Stop);
        assert_eq!(stopped.as_ref().unwrap().phase, Phase::Stopped(0));
        let second = Scenario::apply(stopped.as_ref(), ScenarioEvent::Start(&ROOMS));
        assert_eq!(second.as_ref().unwrap().run, 2);
        assert_eq!(
            second.as_ref().unwrap().script,
            &ROOMS,
            "the demo picked then"
        );
        let late = ScenarioEvent::StepDone { run: 1, step: 0 };
        assert_eq!(Scenario::apply(second.as_ref(), late), second);
    }

    #[test]
    fn a_failed_step_stops_the_run_and_keeps_the_reason() {
        let s = Scenario::apply(None, ScenarioEvent::Start(&PARTITION));
        let s = done(&s, 0);
        let failed = ScenarioEvent::StepFailed {
            run: 1,
            step: 1,
            error: "US: not connected".into(),
        };
        let s = Scenario::apply(s.as_ref(), failed).unwrap();
        assert_eq!(s.phase, Phase::Failed(1, "US: not connected".into()));
        assert_eq!(s.current(), None);
    }

    /// Every room has two member regions and every region two rooms; each room hears from
    /// both its members, and one room from a region outside it.
    #[test]
    fn the_rooms_are_two_by_two_and_posted_into_from_inside_and_out() {
        let members = |room: &str| -> Vec<&str> {
            (ROOM_MEMBERS.iter())
                .filter(|(_, rooms)| rooms.contains(&room))
                .map(|(r, _)| *r)
                .collect()
        };
        for room in ["room-1", "room-2", "room-3"] {
            assert_eq!(members(room).len(), 2, "{room}");
        }
        assert!(ROOM_MEMBERS.iter().all(|(_, rooms)| rooms.len() == 2));
        let posts: Vec<(&str, &str, u32)> = (ROOMS.steps.iter())
            .flat_map(|s| match s.effect {
                Effect::Post(posts) => posts.to_vec(),
                _ => vec![],
            })
            .collect();
        for room in ["room-1", "room-2", "room-3"] {
            for member in members(room) {
                assert!(posts.iter().any(|(r, c, _)| (*r, *c) == (member, room)));
            }
        }
        assert!(
            posts.iter().any(|(r, c, _)| !members(c).contains(r)),
            "a post from outside a room"
        );
        assert!(
            matches!(ROOMS.steps[0].effect, Effect::Follow(_)),
            "rooms first"
        );
        assert_eq!(ROOMS.steps.last().unwrap().effect, Effect::Preset("off"));
        assert!(ROOMS.length_ms() <= 20_000);
        assert_eq!(Script::named("Chat rooms"), Some(&ROOMS));
        assert_eq!(SCRIPTS[0], &PARTITION, "the default is the first demo");
    }

    /// The original's story: everyone a guest first (so a second run shows the joins again),
    /// then Ana through US, Ben through EU, Chen through AS, and only then Chen's event.
    #[test]
    fn the_presence_story_logs_in_ana_ben_then_chen_who_fires_an_event() {
        let effects: Vec<Effect> = PRESENCE.steps.iter().map(|s| s.effect).collect();
        let at = |e: Effect| effects.iter().position(|x| *x == e).unwrap();
        assert!(matches!(effects[0], Effect::Follow(panes)
            if panes.iter().all(|(_, c)| *c == [wire::GLOBAL])));
        assert!(matches!(effects[1], Effect::LogIn(names)
            if names.len() == 3 && names.iter().all(|(_, n)| n.is_none())));
        let ana = at(Effect::LogIn(&[("us", Some("Ana"))]));
        let ben = at(Effect::LogIn(&[("eu", Some("Ben"))]));
        let chen = at(Effect::LogIn(&[("as", Some("Chen"))]));
        let fire = (effects.iter())
            .position(|e| matches!(e, Effect::Fire { region: "as", .. }))
            .unwrap();
        assert!(1 < ana && ana < ben && ben < chen && chen < fire);
        assert_eq!(effects.last(), Some(&Effect::Preset("off")));
        assert!(PRESENCE.length_ms() <= 20_000);
        assert_eq!(Script::named("Presence"), Some(&PRESENCE));
    }
}
