//! The scripted demo behind "Run scenario": a fixed list of steps and a small state machine
//! that walks it, so a new user sees the whole story (distance, a partition, its healing) in
//! about thirty seconds.
//!
//! Pure: [`crate::hooks::use_scenario`] performs each step's [`Effect`] (HTTP, publishing),
//! waits the step's dwell time, and reports back with [`Scenario::apply`].

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

/// The demo, in order.
pub const STEPS: [Step; 6] = [
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

/// Where a run of the demo is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Performing step `n` (index into [`STEPS`]) or waiting out its dwell time.
    Running(usize),
    /// Every step ran.
    Done,
    /// Step `n` failed with this message; the demo stopped there.
    Failed(usize, String),
    /// The user stopped it during step `n`.
    Stopped(usize),
}

/// A run of the demo. `run` tells runs apart, so that a late report of an earlier run is
/// ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Which run (starts at 1, +1 per start).
    pub run: u64,
    /// Where it is.
    pub phase: Phase,
}

/// What happened to the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioEvent {
    /// The user pressed "Run scenario".
    Start,
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
        let next = |phase| Some(Scenario { run, phase });
        match event {
            ScenarioEvent::Start if running.is_none() => Some(Scenario {
                run: run + 1,
                phase: Phase::Running(0),
            }),
            ScenarioEvent::Start => current.cloned(),
            ScenarioEvent::Stop => match running {
                Some(n) => next(Phase::Stopped(n)),
                None => current.cloned(),
            },
            ScenarioEvent::StepDone { run: r, step } if r == run && running == Some(step) => {
                if step + 1 < STEPS.len() {
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
            Phase::Running(n) => STEPS.get(n).map(|s| (n, s)),
            _ => None,
        }
    }

    /// Total time of the demo's dwell times, ms (the effects themselves add a little).
    pub fn length_ms() -> u32 {
        STEPS.iter().map(|s| s.dwell_ms).sum()
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
        let mut s = Scenario::apply(None, ScenarioEvent::Start);
        for n in 0..STEPS.len() {
            assert_eq!(s.as_ref().unwrap().phase, Phase::Running(n));
            s = done(&s, n);
        }
        assert_eq!(s.unwrap().phase, Phase::Done);
    }

    #[test]
    fn the_story_is_distance_then_a_partition_then_healing() {
        let effects: Vec<Effect> = STEPS.iter().map(|s| s.effect).collect();
        let at = |e: Effect| effects.iter().position(|x| *x == e).unwrap();
        let cut = at(Effect::CutOff {
            region: "eu",
            on: true,
        });
        let heal = at(Effect::CutOff {
            region: "eu",
            on: false,
        });
        assert_eq!(at(Effect::Preset("global")), 0);
        assert!(matches!(
            effects[cut + 1],
            Effect::Burst {
                region: Some("as"),
                ..
            }
        ));
        assert!(cut < heal && heal < effects.len() - 1);
        assert_eq!(effects.last(), Some(&Effect::Preset("off")));
        assert!((20_000..=35_000).contains(&Scenario::length_ms()));
    }

    #[test]
    fn stale_reports_and_double_starts_change_nothing() {
        let first = Scenario::apply(None, ScenarioEvent::Start);
        let again = Scenario::apply(first.as_ref(), ScenarioEvent::Start);
        assert_eq!(again, first, "a start while running is ignored");
        // A report about another step, or of an older run, is ignored.
        assert_eq!(done(&first, 3), first);
        let stopped = Scenario::apply(first.as_ref(), ScenarioEvent::Stop);
        assert_eq!(stopped.as_ref().unwrap().phase, Phase::Stopped(0));
        let second = Scenario::apply(stopped.as_ref(), ScenarioEvent::Start);
        assert_eq!(second.as_ref().unwrap().run, 2);
        let late = ScenarioEvent::StepDone { run: 1, step: 0 };
        assert_eq!(Scenario::apply(second.as_ref(), late), second);
    }

    #[test]
    fn a_failed_step_stops_the_run_and_keeps_the_reason() {
        let s = Scenario::apply(None, ScenarioEvent::Start);
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
}
