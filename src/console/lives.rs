//! What the lives, board and sandbox pages need besides their handlers
//! (`src/http/console_lives.rs`): their templates, script and stylesheet, and the
//! comments-per-minute chart drawn on the server.

/// The pages' templates, added to the console's environment.
pub const TEMPLATES: [(&str, &str); 4] = [
    (
        "lives.html",
        include_str!("../../templates/console/lives.html"),
    ),
    (
        "live.html",
        include_str!("../../templates/console/live.html"),
    ),
    (
        "board.html",
        include_str!("../../templates/console/board.html"),
    ),
    (
        "sandbox.html",
        include_str!("../../templates/console/sandbox.html"),
    ),
];

/// Served at `/assets/board.js`: live numbers by EventSource and the number keys. The
/// board works without it (reload, and the buttons are forms).
pub const BOARD_JS: &str = include_str!("../../assets/board.js");
/// Served at `/assets/lives.css`.
pub const CSS: &str = include_str!("../../assets/lives.css");

/// The chart's drawing box; `assets/board.js` draws in the same one.
pub const CHART_WIDTH: f64 = 300.0;
pub const CHART_HEIGHT: f64 = 60.0;

/// The comments-per-minute line as SVG polyline points, oldest minute on the left,
/// scaled so the busiest minute touches the top.
pub fn chart_points(counts: &[i64]) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = if counts.len() > 1 {
        CHART_WIDTH / (counts.len() - 1) as f64
    } else {
        0.0
    };
    counts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let y = CHART_HEIGHT - (*c as f64 / max) * (CHART_HEIGHT - 2.0) - 1.0;
            format!("{:.1},{:.1}", i as f64 * step, y)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A reply's text cut into plain parts and links, so the checkout link can be opened
/// from the page without trusting the text as HTML.
pub fn link_parts(text: &str) -> Vec<(String, bool)> {
    let mut parts: Vec<(String, bool)> = Vec::new();
    let mut rest = text;
    // Replies put a link after any text ("付款連結：http…"), and end it with a space,
    // a line break or the end of the text.
    while let Some(at) = ["http://", "https://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        if at > 0 {
            parts.push((rest[..at].to_string(), false));
        }
        let end = rest[at..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |e| at + e);
        parts.push((rest[at..end].to_string(), true));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        parts.push((rest.to_string(), false));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_spans_the_box_and_peaks_at_the_top() {
        assert_eq!(chart_points(&[0, 4, 2]), "0.0,59.0 150.0,1.0 300.0,30.0");
        assert_eq!(chart_points(&[]), "");
    }

    #[test]
    fn links_are_cut_out_of_a_reply() {
        assert_eq!(
            link_parts("付款連結：https://x.test/c/abc"),
            vec![
                ("付款連結：".to_string(), false),
                ("https://x.test/c/abc".to_string(), true),
            ]
        );
        let parts = link_parts("Pay here: http://x.test/c/abc thanks");
        assert_eq!(
            parts,
            vec![
                ("Pay here: ".to_string(), false),
                ("http://x.test/c/abc".to_string(), true),
                (" thanks".to_string(), false),
            ]
        );
    }
}
