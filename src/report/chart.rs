//! The report's charts, drawn by plotters as SVG text to inline in the page: bars (stacked by
//! series, across or up) and lines. Labels are SVG `<text>` in the page's sans-serif font;
//! nothing is fetched.

use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;

/// The colours of the series, in order (colour-blind safe: Okabe–Ito).
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(120, 120, 120),
];

/// One series of a chart: its name, colour and one value per category (bars) or its points
/// (lines).
pub struct Series<T> {
    pub name: String,
    pub color: RGBColor,
    pub values: Vec<T>,
}

/// What a chart says: title and axis descriptions.
pub struct Labels<'a> {
    pub title: &'a str,
    pub x: &'a str,
    pub y: &'a str,
}

const WIDTH: u32 = 760;
const FONT: &str = "sans-serif";

fn draw(
    size: (u32, u32),
    paint: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|_| paint(&root))
            .and_then(|_| root.present().map_err(|e| e.to_string()));
        if let Err(e) = drawn {
            // A chart that cannot be drawn says so in place; the page and its tables stand.
            drop(root);
            return format!(
                "<p class=\"error\">chart not drawn: {}</p>",
                super::html::esc(&e)
            );
        }
    }
    // Inline SVG in HTML needs no namespace: the page then holds no URL at all.
    svg.replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1)
}

/// Bars with one category per row (`across`, labels on the left, for long names such as
/// finding codes) or per column; several series stack.
pub fn bars(
    labels: &Labels,
    categories: &[String],
    series: &[Series<u64>],
    across: bool,
) -> String {
    bars_scaled(labels, categories, series, across, &|v| {
        format_number(*v as f64)
    })
}

/// Bars of shares in percent, one series, across: the value axis reads in percent although
/// the bars are drawn in whole hundredths (plotters' integer axis).
pub fn shares(labels: &Labels, categories: &[String], color: RGBColor, pct: &[f64]) -> String {
    let series = Series {
        name: String::new(),
        color,
        values: pct.iter().map(|p| (p * 100.0).round() as u64).collect(),
    };
    bars_scaled(labels, categories, &[series], true, &|v| {
        format_number(*v as f64 / 100.0)
    })
}

/// `bars`, with `value_label` writing the value axis' labels.
fn bars_scaled(
    labels: &Labels,
    categories: &[String],
    series: &[Series<u64>],
    across: bool,
    value_label: &dyn Fn(&u64) -> String,
) -> String {
    let n = categories.len().max(1);
    let totals: Vec<u64> = (0..n)
        .map(|i| series.iter().filter_map(|s| s.values.get(i)).sum())
        .collect();
    let top = totals.iter().copied().max().unwrap_or(0).max(1);
    let legend = series.len() > 1;
    // Room on the far side of the bars for the legend, when there is one.
    let top = if legend {
        top + top / 2 + 1
    } else {
        top + top / 10 + 1
    };
    let longest = categories.iter().map(|c| c.len()).max().unwrap_or(4) as u32;
    let size = if across {
        // The legend sits in the plot area, below the caption (~30 px), the margins (24) and
        // the axis labels (40): ~16 px per entry.
        let legend_height = if legend {
            120 + 18 * series.len() as u32
        } else {
            0
        };
        (WIDTH, (90 + 18 * n as u32).max(legend_height))
    } else {
        (WIDTH, 260)
    };
    // Category i is the segment [i, i+1) (plotters' integer ranges include their end, hence
    // `0..n - 1`); across, the first category is at the top.
    let segment = |i: usize| {
        if across { n - 1 - i } else { i }
    };
    let name = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) if *i < n => {
            categories.get(segment(*i)).cloned().unwrap_or_default()
        }
        _ => String::new(),
    };
    draw(size, |root| {
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(labels.title, (FONT, 18))
            .margin(12)
            .x_label_area_size(if across { 40 } else { 56 })
            .y_label_area_size(if across { 30 + 7 * longest } else { 64 });
        if across {
            let mut chart = builder
                .build_cartesian_2d(0..top, (0..n - 1).into_segmented())
                .map_err(|x| e(&x))?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .max_light_lines(1)
                .y_labels(n + 1)
                .y_label_formatter(&name)
                .x_label_formatter(value_label)
                .x_desc(labels.x)
                .y_desc(labels.y)
                .label_style((FONT, 12))
                .draw()
                .map_err(|x| e(&x))?;
            stack(&mut chart, series, n, (2, 2, 0, 0), |i, from, to| {
                let y = segment(i);
                [
                    (from, SegmentValue::Exact(y)),
                    (to, SegmentValue::Exact(y + 1)),
                ]
            })?;
        } else {
            let mut chart = builder
                .build_cartesian_2d((0..n - 1).into_segmented(), 0..top)
                .map_err(|x| e(&x))?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .max_light_lines(1)
                .x_labels(n + 1)
                .x_label_formatter(&name)
                .y_label_formatter(value_label)
                .x_desc(labels.x)
                .y_desc(labels.y)
                .label_style((FONT, 12))
                .draw()
                .map_err(|x| e(&x))?;
            stack(&mut chart, series, n, (0, 0, 3, 3), |i, from, to| {
                [
                    (SegmentValue::Exact(i), from),
                    (SegmentValue::Exact(i + 1), to),
                ]
            })?;
        }
        Ok(())
    })
}

/// Bars of one series.
pub fn single(
    labels: &Labels,
    categories: &[String],
    name: &str,
    color: RGBColor,
    values: Vec<u64>,
    across: bool,
) -> String {
    let series = Series {
        name: name.to_string(),
        color,
        values,
    };
    bars(labels, categories, &[series], across)
}

/// Draws `series` stacked over `n` categories: category `i` of a series spans `from..to` of the
/// value axis, placed by `corners`; `margin` (top, bottom, left, right) in pixels keeps bars
/// apart. A legend when there is more than one series.
fn stack<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    series: &[Series<u64>],
    n: usize,
    margin: (u32, u32, u32, u32),
    corners: impl Fn(usize, u64, u64) -> [(X::ValueType, Y::ValueType); 2],
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    for (k, s) in series.iter().enumerate() {
        let rects = (0..n).map(|i| {
            let below: u64 = series[..k].iter().filter_map(|s| s.values.get(i)).sum();
            let v = s.values.get(i).copied().unwrap_or(0);
            let mut r = Rectangle::new(corners(i, below, below + v), s.color.filled());
            r.set_margin(margin.0, margin.1, margin.2, margin.3);
            r
        });
        let drawn = chart.draw_series(rects).map_err(|x| e(&x))?;
        if series.len() > 1 {
            let color = s.color;
            drawn.label(s.name.as_str()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
            });
        }
    }
    if series.len() > 1 {
        legend(chart)?;
    }
    Ok(())
}

/// The legend of a chart's labelled series, in its upper right corner.
fn legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 12))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// Lines through points `(x, y)`; `x_name` writes an x value as its axis label (for a
/// categorical x such as latency buckets).
pub fn lines(
    labels: &Labels,
    series: &[Series<(f64, f64)>],
    x_name: Option<&dyn Fn(&f64) -> String>,
) -> String {
    let points = || series.iter().flat_map(|s| s.values.iter());
    let x_max = points().map(|p| p.0).fold(0.0, f64::max).max(1.0);
    let x_min = points()
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min)
        .min(x_max);
    let x_min = if x_min.is_finite() { x_min } else { 0.0 };
    let y_max = points().map(|p| p.1).fold(0.0, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    draw((WIDTH, 280), |root| {
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let mut chart = ChartBuilder::on(root)
            .caption(labels.title, (FONT, 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(72)
            .build_cartesian_2d(x_min..x_max, 0.0..y_max)
            .map_err(|x| e(&x))?;
        let plain = |v: &f64| format_number(*v);
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(labels.x)
            .y_desc(labels.y)
            .max_light_lines(1)
            .label_style((FONT, 12))
            .y_label_formatter(&plain);
        match x_name {
            Some(f) => {
                let ticks = (x_max - x_min).round() as usize + 1;
                mesh.x_labels(ticks).x_label_formatter(f);
            }
            None => {
                mesh.x_label_formatter(&plain);
            }
        }
        mesh.draw().map_err(|x| e(&x))?;
        for s in series.iter().filter(|s| !s.values.is_empty()) {
            let color = s.color;
            chart
                .draw_series(LineSeries::new(
                    s.values.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(|x| e(&x))?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        if series.iter().filter(|s| !s.values.is_empty()).count() > 1 {
            legend(&mut chart)?;
        }
        Ok(())
    })
}

/// A number as an axis label: whole numbers plainly, thousands as `k`, millions as `M`.
fn format_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_their_labels_and_nothing_external() {
        let cats: Vec<String> = ["MX_NO_IPV6", "SPF_NONE", "<b>&"]
            .map(String::from)
            .to_vec();
        let svg = bars(
            &Labels {
                title: "Findings",
                x: "domains",
                y: "code",
            },
            &cats,
            &[
                Series {
                    name: "ERROR".into(),
                    color: PALETTE[5],
                    values: vec![3, 0, 1],
                },
                Series {
                    name: "WARN".into(),
                    color: PALETTE[1],
                    values: vec![1, 7, 0],
                },
            ],
            true,
        );
        assert!(svg.starts_with("<svg"), "{}", &svg[..50.min(svg.len())]);
        for text in [
            "Findings",
            "MX_NO_IPV6",
            "SPF_NONE",
            "&lt;b&gt;&amp;",
            "ERROR",
            "WARN",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert!(!svg.contains("<b>"), "labels are escaped");
        let line = lines(
            &Labels {
                title: "Rate",
                x: "s",
                y: "domains/s",
            },
            &[Series {
                name: "domains/s".into(),
                color: PALETTE[0],
                values: vec![(1.0, 10.0), (2.0, 30.0)],
            }],
            None,
        );
        assert!(line.starts_with("<svg") && line.contains("<polyline"));
        for svg in [svg, line] {
            assert!(!svg.contains("http") && !svg.contains("href"), "{svg}");
        }
    }
}
