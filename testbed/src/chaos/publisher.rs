//! A region's publisher: new ids round-robin on the channels, [`WINDOW`] in flight, each
//! retried by id until acked (see [`super::workload`] for the whole contract). Every send is
//! counted as an attempt and every ack recorded with its offset, so the checker can require
//! one offset per id.

use super::deploy::region_addr;
use super::history::Publish;
use super::nemesis::REGIONS;
use super::workload::{channel_index, Context, ANSWER, CHANNELS, WINDOW};
use crate::socket::{connect_to, Ws, BACKOFF};
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use wire::ServerFrame;

/// An id in flight: its index in the history, its id and channel, when to resend it after a
/// temporary refusal.
struct InFlight {
    index: usize,
    id: String,
    channel: &'static str,
    retry_at: Option<Instant>,
}

async fn send(ctx: &Context, ws: &mut Ws, f: &InFlight) -> bool {
    ctx.shared.lock().unwrap().history.publishes[f.index].attempts += 1;
    let payload = serde_json::json!({ "n": f.index });
    let text = wire::Publish::new(f.id.clone(), "chaos", &payload)
        .on(f.channel)
        .to_text();
    ws.send(Message::Text(text.into())).await.is_ok()
}

/// Publish from `region` until stopped; see the module doc.
pub(super) async fn publish(mut ctx: Context, region: usize) {
    let mut n = 0u64;
    let mut inflight: Vec<InFlight> = Vec::new();
    'connection: loop {
        if ctx.stop.is_cancelled() {
            return;
        }
        if ctx.stop_publishing.is_cancelled() && inflight.is_empty() {
            ctx.publishers_done.fetch_add(1, Ordering::SeqCst);
            return;
        }
        let query = format!("token={}", ctx.token);
        let Some((mut ws, _)) = connect_to(region_addr(region), &query).await else {
            tokio::time::sleep(BACKOFF).await;
            continue;
        };
        ctx.storm.mark_unchanged();
        for f in &mut inflight {
            f.retry_at = None;
        }
        for f in &inflight {
            if !send(&ctx, &mut ws, f).await {
                tokio::time::sleep(BACKOFF).await;
                continue 'connection;
            }
        }
        let mut progress = Instant::now();
        let mut tick = tokio::time::interval(ctx.every);
        loop {
            tokio::select! {
                _ = ctx.stop.cancelled() => return,
                _ = ctx.storm.changed() => break,
                _ = tick.tick() => {
                    if ctx.stop_publishing.is_cancelled() && inflight.is_empty() {
                        ctx.publishers_done.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    if !ctx.stop_publishing.is_cancelled() && inflight.len() < WINDOW {
                        let id = format!("{}-{n}", REGIONS[region]);
                        let channel = CHANNELS[(n % 3) as usize];
                        n += 1;
                        let index = {
                            let mut sh = ctx.shared.lock().unwrap();
                            let p = Publish::new(id.clone(), channel.into(), REGIONS[region]);
                            sh.history.publishes.push(p);
                            sh.history.publishes.len() - 1
                        };
                        if inflight.is_empty() {
                            progress = Instant::now();
                        }
                        inflight.push(InFlight { index, id, channel, retry_at: None });
                        if !send(&ctx, &mut ws, inflight.last().expect("pushed")).await {
                            break;
                        }
                    }
                    let now = Instant::now();
                    for f in &mut inflight {
                        if f.retry_at.is_some_and(|t| t <= now) {
                            f.retry_at = None;
                            if !send(&ctx, &mut ws, f).await {
                                break;
                            }
                        }
                    }
                    if !inflight.is_empty() && progress.elapsed() > ANSWER {
                        break;
                    }
                }
                msg = ws.next() => {
                    let text = match msg {
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                        Some(Ok(_)) => continue,
                    };
                    match serde_json::from_str::<ServerFrame>(&text) {
                        Ok(ServerFrame::Ack { id, channel, offset, duplicate }) => {
                            let Some(k) = inflight.iter().position(|f| f.id == id) else { continue };
                            let f = inflight.remove(k);
                            progress = Instant::now();
                            let mut sh = ctx.shared.lock().unwrap();
                            let ms = sh.history.now();
                            sh.history.publishes[f.index].acks.push((offset, duplicate, ms));
                            if let Some(c) = channel_index(&channel) {
                                sh.max_acked[c] = sh.max_acked[c].max(offset);
                            }
                        }
                        Ok(ServerFrame::Error { id: Some(id), temporary, code, .. }) => {
                            let Some(k) = inflight.iter().position(|f| f.id == id) else { continue };
                            if temporary {
                                inflight[k].retry_at = Some(Instant::now() + BACKOFF);
                            } else {
                                let f = inflight.remove(k);
                                ctx.shared.lock().unwrap().history.publishes[f.index].refused =
                                    Some(code.to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        drop(ws);
        tokio::time::sleep(BACKOFF).await;
    }
}
