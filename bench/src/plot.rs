//! SVG plots (plotters' SVG backend: text is left to the viewer, so no system fonts needed).

use crate::stats::TimelinePoint;
use anyhow::anyhow;
use plotters::prelude::*;
use std::path::Path;

const SIZE: (u32, u32) = (900, 480);
const COLORS: [RGBColor; 5] = [BLUE, RED, GREEN, MAGENTA, BLACK];

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plot: {e}")
}

/// One line of a chart.
pub struct Series<'a> {
    /// Legend.
    pub name: String,
    /// `(x, y)` points.
    pub points: &'a [(f64, f64)],
}

/// Latency over time: p50, p99 and max per bucket, by send instant.
pub fn timeline(path: &Path, title: &str, points: &[TimelinePoint]) -> anyhow::Result<()> {
    let pick = |f: fn(&TimelinePoint) -> f64| -> Vec<(f64, f64)> {
        points.iter().map(|p| (p.t_s, f(p))).collect()
    };
    let (p50, p99, max) = (pick(|p| p.p50_ms), pick(|p| p.p99_ms), pick(|p| p.max_ms));
    lines(
        path,
        title,
        ("time since the first publish (s)", "latency (ms)"),
        &[
            Series {
                name: "p50".into(),
                points: &p50,
            },
            Series {
                name: "p99".into(),
                points: &p99,
            },
            Series {
                name: "max".into(),
                points: &max,
            },
        ],
        None,
    )
}

/// Latency CDFs, one line per run, with the floor (ms) as a vertical line if given.
pub fn cdf(path: &Path, title: &str, runs: &[Series], floor_ms: Option<f64>) -> anyhow::Result<()> {
    lines(
        path,
        title,
        ("latency (ms)", "fraction of deliveries"),
        runs,
        floor_ms,
    )
}

/// A line chart with a legend, and an optional vertical marker at x = `vertical`.
pub fn lines(
    path: &Path,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    series: &[Series],
    vertical: Option<f64>,
) -> anyhow::Result<()> {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let x_max = xs.fold(vertical.unwrap_or(0.0), f64::max).max(1e-3) * 1.05;
    let y_max = ys.fold(0.0, f64::max).max(1e-3) * 1.05;
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()
        .map_err(err)?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    if let Some(x) = vertical {
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(LineSeries::new(
                [(x, 0.0), (x, y_max)],
                grey.stroke_width(1),
            ))
            .map_err(err)?
            .label(format!("floor {x:.2} ms"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
