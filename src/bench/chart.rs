//! The benchmark's SVG chart: throughput and p99 latency over time, drawn with plotters.

use std::path::Path;

use plotters::prelude::*;

/// One line of a panel.
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub colour: RGBColor,
}

pub const PIPELINE: RGBColor = RGBColor(31, 119, 180);
pub const PIPELINE_LIGHT: RGBColor = RGBColor(44, 160, 44);
pub const BASELINE: RGBColor = RGBColor(214, 39, 40);

/// Two panels over one time axis: comments/s above, p99 latency in ms (log scale) below.
pub fn draw(path: &Path, title: &str, throughput: &[Line], latency: &[Line]) -> anyhow::Result<()> {
    let until = throughput
        .iter()
        .chain(latency)
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let top = throughput
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(1.0f64, f64::max)
        * 1.1;
    let (low_ms, high_ms) = latency
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold((f64::MAX, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let low_ms = low_ms.clamp(0.1, 1.0);

    let root = SVGBackend::new(path, (1000, 760)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let (upper, lower) = root.split_vertically(370);

    let mut chart = ChartBuilder::on(&upper)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .caption("comments per second", ("sans-serif", 16))
        .build_cartesian_2d(0f64..until, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("seconds from the first send")
        .y_desc("comments/s")
        .draw()?;
    for line in throughput {
        let colour = line.colour;
        chart
            .draw_series(LineSeries::new(
                line.points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(line.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;

    let mut chart = ChartBuilder::on(&lower)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .caption(
            "p99 latency by intended send time, per half second (log scale)",
            ("sans-serif", 16),
        )
        .build_cartesian_2d(0f64..until, (low_ms..high_ms * 1.5).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("seconds from the first send")
        .y_desc("ms")
        .draw()?;
    for line in latency {
        let colour = line.colour;
        chart
            .draw_series(LineSeries::new(
                line.points.iter().map(|&(x, y)| (x, y.max(low_ms))),
                colour.stroke_width(2),
            ))?
            .label(line.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}
