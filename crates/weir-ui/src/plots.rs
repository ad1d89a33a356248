//! Plots drawn on the server as SVG: a confusion matrix and ROC curves. Every text in them
//! (class names, series labels) goes through [`escape`], so the result may be inserted as
//! markup.

use std::fmt::{self, Write};

use super::format;
use super::html::escape;
use super::visualize::{ConfusionMatrix, RocPoint};

/// SVG markup built here, every text in it escaped.
pub struct Svg(String);

impl fmt::Display for Svg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Svg {
    #[cfg(test)]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Colors of overlaid series, distinguishable and readable on white.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];

pub fn confusion_matrix(matrix: &ConfusionMatrix) -> Svg {
    let n = matrix.labels.len();
    let cell = (400 / n.max(1)).clamp(12, 44) as f64;
    let margin_left = 100.0;
    let margin_top = 100.0;
    let size = cell * n as f64;
    let width = margin_left + size + 10.0;
    let height = margin_top + size + 30.0;
    let max = matrix
        .rows
        .iter()
        .flatten()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="confusion-matrix" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="Confusion matrix">"#
    );
    let _ = write!(
        svg,
        r#"<text x="{x}" y="14" text-anchor="middle" class="axis-title">Predicted</text><text x="12" y="{y}" text-anchor="middle" transform="rotate(-90 12 {y})" class="axis-title">Actual</text>"#,
        x = margin_left + size / 2.0,
        y = margin_top + size / 2.0
    );
    for (i, label) in matrix.labels.iter().enumerate() {
        let label = escape(&format::clip(label, 14));
        let center = i as f64 * cell + cell / 2.0;
        let _ = write!(
            svg,
            r#"<text x="{x}" y="{y}" text-anchor="end" dominant-baseline="middle" class="label">{label}</text>"#,
            x = margin_left - 6.0,
            y = margin_top + center
        );
        let (tx, ty) = (margin_left + center, margin_top - 6.0);
        let _ = write!(
            svg,
            r#"<text x="{tx}" y="{ty}" transform="rotate(-45 {tx} {ty})" class="label">{label}</text>"#
        );
    }
    for (actual, row) in matrix.rows.iter().enumerate().take(n) {
        for (predicted, value) in row.iter().enumerate().take(n) {
            let alpha = (value / max).clamp(0.0, 1.0);
            let (x, y) = (
                margin_left + predicted as f64 * cell,
                margin_top + actual as f64 * cell,
            );
            let tooltip = escape(&format!(
                "actual {}, predicted {}: {}",
                matrix.labels[actual],
                matrix.labels[predicted],
                format::number(*value)
            ));
            let _ = write!(
                svg,
                r##"<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="rgba(21,101,192,{alpha:.3})" stroke="#ddd"><title>{tooltip}</title></rect>"##
            );
            if cell >= 18.0 {
                let color = if alpha > 0.55 { "#fff" } else { "#222" };
                let _ = write!(
                    svg,
                    r#"<text x="{cx}" y="{cy}" text-anchor="middle" dominant-baseline="middle" fill="{color}" class="value">{v}</text>"#,
                    cx = x + cell / 2.0,
                    cy = y + cell / 2.0,
                    v = format::number(*value)
                );
            }
        }
    }
    svg.push_str("</svg>");
    Svg(svg)
}

/// One curve of an ROC plot.
pub struct RocSeries<'a> {
    pub label: String,
    pub points: &'a [RocPoint],
}

pub fn roc_curves(series: &[RocSeries<'_>]) -> Svg {
    let (width, height) = (420.0, 340.0);
    let (left, top, plot_w, plot_h) = (48.0, 12.0, 350.0, 270.0);
    let x = |fpr: f64| left + fpr * plot_w;
    let y = |tpr: f64| top + (1.0 - tpr) * plot_h;
    let legend_height = if series.len() > 1 || series.iter().any(|s| !s.label.is_empty()) {
        16.0 * series.len() as f64
    } else {
        0.0
    };
    let total_height = height + legend_height;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="roc-curve" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {total_height}" width="{width}" height="{total_height}" role="img" aria-label="ROC curve"><rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>"##
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            svg,
            r##"<line x1="{gx}" y1="{top}" x2="{gx}" y2="{bottom}" stroke="#eee"/><line x1="{left}" y1="{gy}" x2="{right}" y2="{gy}" stroke="#eee"/><text x="{gx}" y="{ly}" text-anchor="middle" class="tick">{tick}</text><text x="{lx}" y="{gy}" text-anchor="end" dominant-baseline="middle" class="tick">{tick}</text>"##,
            gx = x(tick),
            gy = y(tick),
            bottom = top + plot_h,
            right = left + plot_w,
            ly = top + plot_h + 14.0,
            lx = left - 4.0,
        );
    }
    let _ = write!(
        svg,
        r##"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#aaa" stroke-dasharray="4 4"/><text x="{cx}" y="{ay}" text-anchor="middle" class="axis-title">False positive rate</text><text x="12" y="{cy}" text-anchor="middle" transform="rotate(-90 12 {cy})" class="axis-title">True positive rate</text>"##,
        x0 = x(0.0),
        y0 = y(0.0),
        x1 = x(1.0),
        y1 = y(1.0),
        cx = left + plot_w / 2.0,
        ay = top + plot_h + 32.0,
        cy = top + plot_h / 2.0,
    );
    for (i, curve) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points: Vec<String> = curve
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.false_positive_rate), y(p.recall)))
            .collect();
        let label = escape(&curve.label);
        let _ = write!(
            svg,
            r#"<polyline class="series" points="{}" fill="none" stroke="{color}" stroke-width="2"><title>{label}</title></polyline>"#,
            points.join(" ")
        );
        if legend_height > 0.0 {
            let ly = height + 16.0 * i as f64;
            let _ = write!(
                svg,
                r#"<rect x="{left}" y="{ry}" width="12" height="4" fill="{color}"/><text x="{tx}" y="{ly}" dominant-baseline="middle" class="legend">{text}</text>"#,
                ry = ly - 2.0,
                tx = left + 18.0,
                text = escape(&format::clip(&curve.label, 60)),
            );
        }
    }
    svg.push_str("</svg>");
    Svg(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_matrix_draws_every_cell_and_escapes_labels() {
        let matrix = ConfusionMatrix {
            labels: vec!["<script>alert(1)</script>".to_owned(), "b".to_owned()],
            rows: vec![vec![5.0, 1.0], vec![2.0, 7.0]],
        };
        let svg = confusion_matrix(&matrix);
        let text = svg.as_str();
        assert!(text.starts_with("<svg") && text.ends_with("</svg>"));
        assert_eq!(text.matches("<rect ").count(), 4);
        assert!(!text.contains("<script>"));
        assert!(text.contains("&lt;script&gt;"));
        assert!(text.contains(">7</text>"));
    }

    #[test]
    fn roc_curves_map_rates_into_the_plot_and_label_series() {
        let points = [
            RocPoint {
                false_positive_rate: 0.0,
                recall: 0.0,
                threshold: 1.0,
            },
            RocPoint {
                false_positive_rate: 1.0,
                recall: 1.0,
                threshold: 0.0,
            },
        ];
        let svg = roc_curves(&[
            RocSeries {
                label: "run \"a\" & <b>".to_owned(),
                points: &points,
            },
            RocSeries {
                label: "b".to_owned(),
                points: &points[..1],
            },
        ]);
        let text = svg.as_str();
        assert_eq!(text.matches("<polyline").count(), 2);
        // (0, 0) is the bottom left corner of the plot, (1, 1) the top right.
        assert!(text.contains(r#"points="48.0,282.0 398.0,12.0""#));
        assert!(text.contains("run &quot;a&quot; &amp; &lt;b&gt;"));
        assert!(!text.contains("<b>"));
    }
}
