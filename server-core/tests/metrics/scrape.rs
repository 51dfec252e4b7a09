//! A small reader of the Prometheus text format for the `/metrics` tests: samples by name and
//! label set (comments skipped, label escapes undone).

use std::collections::{BTreeMap, HashMap};

/// One scrape: every sample by metric name and label set.
#[derive(Debug, Default)]
pub struct Scrape {
    /// Every sample: `(name, labels)` to value.
    pub samples: HashMap<(String, BTreeMap<String, String>), f64>,
}

impl Scrape {
    /// Parse the Prometheus text format: `name{k="v",…} value` lines, comments skipped.
    pub fn parse(text: &str) -> Scrape {
        let mut samples = HashMap::new();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (series, value) = line.rsplit_once(' ').expect("a sample line has a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').unwrap())),
                None => (series, BTreeMap::new()),
            };
            let value: f64 = value.parse().expect("a numeric value");
            samples.insert((name.to_owned(), labels), value);
        }
        Scrape { samples }
    }

    /// The sample `name` with exactly `labels` besides `region`; 0 when absent.
    pub fn value(&self, region: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut key: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        key.insert("region".into(), region.into());
        self.samples
            .get(&(name.to_owned(), key))
            .copied()
            .unwrap_or(0.0)
    }
}

/// `k="v",k2="v2"` (values may hold `\"`, `\\` and `\n` escapes).
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("a closing quote") {
                (i, '"') => break i,
                (_, '\\') => match chars.next().expect("an escaped character").1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        rest = &after[end + 1..];
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parser reads what the exposition writes, escapes included.
    #[test]
    fn the_test_parser_reads_labels_and_escapes() {
        let s = Scrape::parse(
            "# HELP x X.\n# TYPE x counter\nx_total{region=\"a\\\"b\",code=\"c\"} 3\nup{region=\"r\"} 1.5\n",
        );
        assert_eq!(s.value("a\"b", "x_total", &[("code", "c")]), 3.0);
        assert_eq!(s.value("r", "up", &[]), 1.5);
        assert_eq!(s.value("r", "missing", &[]), 0.0);
    }
}
