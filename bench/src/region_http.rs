//! What the bench reads from a region over HTTP: a counter of `GET /metrics`, and the members
//! of a channel from `GET /presence` (see docs/protocol.md). The bench's own regions have
//! no token, so neither request carries one.

use crate::target::Target;
use anyhow::Context;
use serde::Deserialize;
use std::time::Duration;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// An HTTP client for the regions' endpoints.
#[derive(Debug, Clone)]
pub struct RegionHttp {
    client: reqwest::Client,
}

/// The part of a `presence` frame the bench reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Members {
    /// Members of the channel, every region's (exact).
    pub count: u64,
    /// Those listed (at most 1,000).
    pub members: Vec<Member>,
}

/// One listed member.
#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    /// Its display name.
    pub name: String,
}

impl RegionHttp {
    /// A client with a per-request timeout.
    pub fn new() -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(RegionHttp { client })
    }

    /// The body of `GET path` on `target`'s region, which must answer 200.
    async fn get(&self, target: &Target, path: &str) -> anyhow::Result<String> {
        let url = target.http(path);
        let response = self.client.get(&url).send().await?;
        let status = response.status();
        let body = response.text().await?;
        anyhow::ensure!(status.is_success(), "GET {url}: {status} {body}");
        Ok(body)
    }

    /// The value of the counter `name` (its full name, e.g.
    /// `multiregion_presence_changes_total`) in the region's `/metrics`, summed over its
    /// series.
    pub async fn counter(&self, target: &Target, name: &str) -> anyhow::Result<f64> {
        let text = self.get(target, "/metrics").await?;
        counter_in(&text, name).with_context(|| format!("no {name} in {}'s /metrics", target.name))
    }

    /// The members of `channel` as the region's `GET /presence` answers them now.
    pub async fn members(&self, target: &Target, channel: &str) -> anyhow::Result<Members> {
        let body = self
            .get(target, &format!("/presence?channel={channel}"))
            .await?;
        Ok(serde_json::from_str(&body)?)
    }
}

/// The sum of the series of `name` in a Prometheus text exposition; `None` when it has none.
fn counter_in(text: &str, name: &str) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter is read from its series, not from its help, type or a longer name's lines.
    #[test]
    fn reads_a_counter_from_the_exposition() {
        let text = "# HELP multiregion_presence_changes Joins and leaves.\n\
                    # TYPE multiregion_presence_changes counter\n\
                    multiregion_presence_changes_total{region=\"as\"} 42\n\
                    multiregion_presence_changes_total_other{region=\"as\"} 7\n";
        assert_eq!(
            counter_in(text, "multiregion_presence_changes_total"),
            Some(42.0)
        );
        assert_eq!(counter_in(text, "multiregion_gaps_total"), None);
    }
}
