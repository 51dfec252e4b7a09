//! A subscriber of the chaos run: follows every channel and records every frame; resumes
//! with `since` and `epoch` per channel when its socket closes, goes silent for [`SILENCE`]
//! (until the run settles) or a storm comes, as its [`Behaviour`] says (see
//! [`super::workload`] for the whole workload).

use super::deploy::region_addr;
use super::history::{Behaviour, Seen};
use super::nemesis::REGIONS;
use super::rng::Rng;
use super::workload::{channel_index, Context, CHANNELS, SILENCE};
use crate::socket::{connect_to, next_frame, BACKOFF};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use wire::ServerFrame;

/// A subscriber's resume query: every channel, with `since` and `epoch` once it has them.
fn query(token: &str, at: &Option<Vec<(u64, String)>>) -> String {
    let mut q = format!("token={token}&channels={}", CHANNELS.join(","));
    if let Some(at) = at {
        let since: Vec<String> = at
            .iter()
            .zip(CHANNELS)
            .map(|((o, _), c)| format!("{c}:{o}"))
            .collect();
        let epoch: Vec<String> = at
            .iter()
            .zip(CHANNELS)
            .map(|((_, e), c)| format!("{c}:{e}"))
            .collect();
        q.push_str(&format!(
            "&since={}&epoch={}",
            since.join(","),
            epoch.join(",")
        ));
    }
    q
}

pub(super) async fn subscribe(
    mut ctx: Context,
    index: usize,
    mut region: usize,
    behaviour: Behaviour,
    mut rng: Rng,
) {
    let mut at: Option<Vec<(u64, String)>> = None;
    while !ctx.stop.is_cancelled() {
        let Some((mut ws, welcome)) =
            connect_to(region_addr(region), &query(&ctx.token, &at)).await
        else {
            tokio::time::sleep(BACKOFF).await;
            continue;
        };
        ctx.storm.mark_unchanged();
        if let ServerFrame::Welcome {
            channels, member, ..
        } = welcome
        {
            let channels: Vec<(String, u64, String)> = channels
                .into_iter()
                .map(|c| (c.channel, c.offset, c.epoch))
                .collect();
            if at.is_none() {
                let mut first = vec![(0, String::new()); 3];
                for (c, o, e) in &channels {
                    if let Some(i) = channel_index(c) {
                        first[i] = (*o, e.clone());
                    }
                }
                at = Some(first);
            }
            let mut sh = ctx.shared.lock().unwrap();
            if !sh.welcomed[index] {
                for (c, o, _) in &channels {
                    if let Some(i) = channel_index(c) {
                        sh.last[index][i] = *o;
                    }
                }
            }
            sh.welcomed[index] = true;
            sh.member[index] = member.map(|m| m.id);
            let ms = sh.history.now();
            let seen = Seen::Welcome {
                region: REGIONS[region].to_owned(),
                channels,
            };
            sh.history.subscribers[index].seen.push((ms, seen));
        }
        let drop_after = match behaviour {
            Behaviour::Staying | Behaviour::Slow => Duration::from_secs(3600 * 24),
            _ => Duration::from_millis(rng.range(2000, 8000)),
        };
        let drop_at = tokio::time::Instant::now() + drop_after;
        let mut pause_at = Instant::now() + Duration::from_millis(rng.range(2000, 6000));
        loop {
            if behaviour == Behaviour::Slow && Instant::now() >= pause_at {
                let pause = Duration::from_millis(rng.range(1000, 8000));
                tokio::select! {
                    _ = ctx.stop.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause_at = Instant::now() + Duration::from_millis(rng.range(2000, 6000));
            }
            let frame = tokio::select! {
                _ = ctx.stop.cancelled() => return,
                _ = ctx.storm.changed() => break,
                _ = tokio::time::sleep_until(drop_at), if !ctx.stop_publishing.is_cancelled() => break,
                f = next_frame(&mut ws, SILENCE) => f,
            };
            let frame = match frame {
                Ok(Some(frame)) => frame,
                // Silence is expected once the run has settled.
                Err(()) if ctx.holding.load(Ordering::SeqCst) => continue,
                _ => break,
            };
            let at = at.as_mut().expect("set at the first welcome");
            let mut sh = ctx.shared.lock().unwrap();
            let ms = sh.history.now();
            let seen = match frame {
                ServerFrame::Event(e) => {
                    let Some(i) = channel_index(&e.channel) else {
                        continue;
                    };
                    at[i].0 = e.offset;
                    sh.last[index][i] = e.offset;
                    Seen::Event {
                        epoch: at[i].1.clone(),
                        channel: e.channel,
                        offset: e.offset,
                        id: e.id,
                    }
                }
                ServerFrame::Gap {
                    channel, from, to, ..
                } => Seen::Gap { channel, from, to },
                ServerFrame::Epoch {
                    channel,
                    epoch,
                    lost_after,
                    ..
                } => {
                    // A frame naming the log it already follows takes nothing away (a
                    // region taking up the log this subscriber had already).
                    if let Some(i) = channel_index(&channel).filter(|i| at[*i].1 != epoch) {
                        at[i] = (0, epoch.clone());
                        sh.last[index][i] = 0;
                    }
                    Seen::Epoch {
                        channel,
                        epoch,
                        lost_after,
                    }
                }
                ServerFrame::CaughtUp { channel, offset } => Seen::CaughtUp { channel, offset },
                _ => continue,
            };
            sh.history.subscribers[index].seen.push((ms, seen));
        }
        {
            let mut sh = ctx.shared.lock().unwrap();
            let ms = sh.history.now();
            sh.history.subscribers[index].seen.push((ms, Seen::Closed));
            sh.member[index] = None;
        }
        drop(ws);
        if behaviour == Behaviour::Roaming {
            region = (region + 1) % 3;
        }
        tokio::time::sleep(BACKOFF).await;
    }
}
