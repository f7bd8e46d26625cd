//! Percentiles over a sorted Vec, and per-interval series for charts.

use std::time::Duration;

/// Latencies in microseconds, sorted once.
#[derive(Debug, Clone, Default)]
pub struct Latencies(Vec<u64>);

impl Latencies {
    pub fn new(mut micros: Vec<u64>) -> Latencies {
        micros.sort_unstable();
        Latencies(micros)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `q` quantile (0.99 for p99), nearest rank.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.0.is_empty() {
            return None;
        }
        let rank = ((q * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        Some(Duration::from_micros(self.0[rank - 1]))
    }

    pub fn max(&self) -> Option<Duration> {
        self.0.last().map(|&m| Duration::from_micros(m))
    }
}

/// "12.3 ms", or "-" when there was nothing to measure.
pub fn ms(d: Option<Duration>) -> String {
    match d {
        Some(d) if d >= Duration::from_secs(10) => format!("{:.1} s", d.as_secs_f64()),
        Some(d) => format!("{:.1} ms", d.as_secs_f64() * 1000.0),
        None => "-".into(),
    }
}

/// Sums `weight` of each `(at, weight)` into buckets of `width`; returns per-second rates.
pub fn rate_series(
    points: &[(Duration, f64)],
    width: Duration,
    until: Duration,
) -> Vec<(f64, f64)> {
    let buckets = (until.as_secs_f64() / width.as_secs_f64()).ceil().max(1.0) as usize;
    let mut sums = vec![0.0; buckets];
    for (at, weight) in points {
        let b = (at.as_secs_f64() / width.as_secs_f64()) as usize;
        if let Some(sum) = sums.get_mut(b) {
            *sum += weight;
        }
    }
    sums.into_iter()
        .enumerate()
        .map(|(b, sum)| {
            (
                (b as f64 + 0.5) * width.as_secs_f64(),
                sum / width.as_secs_f64(),
            )
        })
        .collect()
}

/// The p99 of the latencies `(at, latency)` that fall into each bucket of `width`, in ms.
pub fn p99_series(
    points: &[(Duration, Duration)],
    width: Duration,
    until: Duration,
) -> Vec<(f64, f64)> {
    let buckets = (until.as_secs_f64() / width.as_secs_f64()).ceil().max(1.0) as usize;
    let mut groups: Vec<Vec<u64>> = vec![Vec::new(); buckets];
    for (at, latency) in points {
        let b = (at.as_secs_f64() / width.as_secs_f64()) as usize;
        if let Some(group) = groups.get_mut(b) {
            group.push(latency.as_micros() as u64);
        }
    }
    groups
        .into_iter()
        .enumerate()
        .filter_map(|(b, group)| {
            let p99 = Latencies::new(group).quantile(0.99)?;
            Some((
                (b as f64 + 0.5) * width.as_secs_f64(),
                p99.as_secs_f64() * 1000.0,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let l = Latencies::new((1..=1000).rev().collect());
        assert_eq!(l.quantile(0.5), Some(Duration::from_micros(500)));
        assert_eq!(l.quantile(0.99), Some(Duration::from_micros(990)));
        assert_eq!(l.quantile(0.999), Some(Duration::from_micros(999)));
        assert_eq!(Latencies::default().quantile(0.5), None);
    }

    #[test]
    fn rates_per_bucket() {
        let points = [
            (Duration::from_millis(100), 10.0),
            (Duration::from_millis(400), 5.0),
            (Duration::from_millis(600), 1.0),
        ];
        let series = rate_series(&points, Duration::from_millis(500), Duration::from_secs(1));
        assert_eq!(series, vec![(0.25, 30.0), (0.75, 2.0)]);
    }
}
