//! Charts drawn on the server as inline SVG: no script, nothing loaded. Each is an image with a
//! title and a description (`role="img"`, `aria-labelledby`), each mark carries its value as a
//! `<title>`, and the page puts a table of the same numbers beside it, so it reads without sight.
//! Every text is escaped: a chart is well-formed XML whatever its labels hold.

use std::fmt::Write as _;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 260;
const LEFT: u32 = 56;
const RIGHT: u32 = 16;
const TOP: u32 = 16;
const BOTTOM: u32 = 44;

/// One series: its name (the legend and each mark's title) and colour.
#[derive(Debug, Clone)]
pub struct Series<T> {
    pub name: &'static str,
    pub colour: &'static str,
    /// Exactly a value per label (else the chart is refused: [`Mismatch`]); for a line, `None`
    /// where there is none (a gap).
    pub values: Vec<T>,
}

/// A series whose values do not match the chart's labels one to one: drawn, the missing ones
/// would read as zeros (or values would be dropped), so the chart is not drawn.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("chart {chart}: series {series} has {values} values for {labels} labels")]
pub struct Mismatch {
    pub chart: String,
    pub series: &'static str,
    pub values: usize,
    pub labels: usize,
}

/// Every series has exactly a value per label.
fn check<T>(chart: &Chart<'_>, series: &[Series<T>]) -> Result<(), Mismatch> {
    match series.iter().find(|s| s.values.len() != chart.labels.len()) {
        None => Ok(()),
        Some(s) => Err(Mismatch {
            chart: chart.id.to_owned(),
            series: s.name,
            values: s.values.len(),
            labels: chart.labels.len(),
        }),
    }
}

/// What a chart shows: its id (unique in the page), title, description, the x axis' labels
/// and the unit of its values.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub labels: &'a [String],
    pub unit: &'a str,
}

/// `text` safe as XML character data and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The smallest "nice" axis top (1, 2 or 5 times a power of ten) at or above `max` (at least 1).
pub fn axis_top(max: f64) -> f64 {
    let max = max.max(1.0);
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .find(|top| *top >= max)
        .unwrap_or(10.0 * power)
}

/// The axis top for whole counts: a multiple of the grid's four steps (at least 4), so every
/// grid line is a whole number.
pub fn count_axis_top(max: u64) -> f64 {
    (max.max(1).div_ceil(4) * 4) as f64
}

/// A number as an axis or a mark reads it: whole when whole, else one decimal.
fn number(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn plot_width() -> f64 {
    f64::from(WIDTH - LEFT - RIGHT)
}

fn plot_height() -> f64 {
    f64::from(HEIGHT - TOP - BOTTOM)
}

/// The y of `value` on an axis up to `top`.
fn y_of(value: f64, top: f64) -> f64 {
    f64::from(TOP) + plot_height() * (1.0 - value / top)
}

/// The opening tag, title and description, the grid with its values, and the x axis' labels.
fn frame(chart: &Chart<'_>, top: f64, svg: &mut String) {
    let id = escape(chart.id);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="{id}" class="chart" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(chart.title),
        escape(chart.description),
    );
    svg.push_str(r##"<g class="grid" aria-hidden="true" font-size="11" fill="#333">"##);
    for step in 0..=4 {
        let value = top * f64::from(step) / 4.0;
        let y = y_of(value, top);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ccc"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6,
            y + 4.0,
            number(value),
        );
    }
    let _ = write!(
        svg,
        r#"<text x="12" y="{}" transform="rotate(-90 12 {})" text-anchor="middle">{}</text>"#,
        TOP + (HEIGHT - TOP - BOTTOM) / 2,
        TOP + (HEIGHT - TOP - BOTTOM) / 2,
        escape(chart.unit),
    );
    let slot = plot_width() / chart.labels.len().max(1) as f64;
    for (index, label) in chart.labels.iter().enumerate() {
        let x = f64::from(LEFT) + slot * (index as f64 + 0.5);
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
            HEIGHT - BOTTOM + 16,
            escape(label),
        );
    }
    svg.push_str("</g>");
}

/// The legend under the plot: a swatch and a name a series.
fn legend<T>(series: &[Series<T>], svg: &mut String) {
    svg.push_str(r##"<g class="legend" font-size="11" fill="#333">"##);
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            HEIGHT - 16,
            s.colour,
            x + 14,
            HEIGHT - 7,
            escape(s.name),
        );
        x += 24 + 7 * u32::try_from(s.name.len()).unwrap_or(20);
    }
    svg.push_str("</g>");
}

/// Bars a label, the series stacked in their order; each part titled "label: value name".
pub fn stacked_bars(chart: &Chart<'_>, series: &[Series<u64>]) -> Result<String, Mismatch> {
    check(chart, series)?;
    // A column a label: its value in each series, in the series' order.
    let mut columns = vec![Vec::with_capacity(series.len()); chart.labels.len()];
    for s in series {
        for (column, &value) in columns.iter_mut().zip(&s.values) {
            column.push(value);
        }
    }
    let top = count_axis_top(columns.iter().map(|c| c.iter().sum::<u64>()).max().unwrap_or(0));
    let mut svg = String::new();
    frame(chart, top, &mut svg);
    let slot = plot_width() / chart.labels.len().max(1) as f64;
    let bar = (slot * 0.6).max(2.0);
    svg.push_str(r#"<g class="bars">"#);
    for (index, (label, column)) in chart.labels.iter().zip(&columns).enumerate() {
        let x = f64::from(LEFT) + slot * index as f64 + (slot - bar) / 2.0;
        let mut base = 0;
        for (s, &value) in series.iter().zip(column) {
            if value == 0 {
                continue;
            }
            let (y_top, y_base) = (y_of((base + value) as f64, top), y_of(base as f64, top));
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y_top:.1}" width="{bar:.1}" height="{:.1}" fill="{}"><title>{}: {} {}</title></rect>"#,
                y_base - y_top,
                s.colour,
                escape(label),
                value,
                escape(s.name),
            );
            base += value;
        }
    }
    svg.push_str("</g>");
    legend(series, &mut svg);
    svg.push_str("</svg>");
    Ok(svg)
}

/// A line a series through its values (broken where there is none), a dot titled
/// "label: value unit name" on each.
pub fn lines(chart: &Chart<'_>, series: &[Series<Option<f64>>]) -> Result<String, Mismatch> {
    check(chart, series)?;
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .fold(0.0_f64, f64::max);
    let top = axis_top(max);
    let mut svg = String::new();
    frame(chart, top, &mut svg);
    let slot = plot_width() / chart.labels.len().max(1) as f64;
    svg.push_str(r#"<g class="lines">"#);
    for s in series {
        let points: Vec<Option<(f64, f64)>> = s
            .values
            .iter()
            .enumerate()
            .map(|(index, value)| value.map(|v| (f64::from(LEFT) + slot * (index as f64 + 0.5), y_of(v, top))))
            .collect();
        for run in points.split(Option::is_none).filter(|run| run.len() > 1) {
            let path: Vec<String> = run.iter().flatten().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = write!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
                path.join(" "),
                s.colour
            );
        }
        for ((point, value), label) in points.iter().zip(&s.values).zip(chart.labels) {
            let (Some((x, y)), Some(value)) = (point, value) else {
                continue;
            };
            let _ = write!(
                svg,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{}"><title>{}: {} {} {}</title></circle>"#,
                s.colour,
                escape(label),
                number(*value),
                escape(chart.unit),
                escape(s.name),
            );
        }
    }
    svg.push_str("</g>");
    legend(series, &mut svg);
    svg.push_str("</svg>");
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["2026-01".to_owned(), "2026-02 <&>".to_owned()]
    }

    #[test]
    fn axes_end_on_a_nice_number() {
        assert_eq!(axis_top(0.0), 1.0);
        assert_eq!(axis_top(3.0), 5.0);
        assert_eq!(axis_top(7.0), 10.0);
        assert_eq!(axis_top(12.0), 20.0);
        assert_eq!(axis_top(40.5), 50.0);
        assert_eq!(axis_top(100.0), 100.0);
        assert_eq!(count_axis_top(0), 4.0);
        assert_eq!(count_axis_top(1), 4.0);
        assert_eq!(count_axis_top(13), 16.0);
    }

    #[test]
    fn stacked_bars_title_each_part_with_its_value_and_escape_every_text() {
        let labels = labels();
        let chart = Chart {
            id: "outcomes",
            title: "Requests \"received\"",
            description: "Per month",
            labels: &labels,
            unit: "requests",
        };
        let svg = stacked_bars(
            &chart,
            &[
                Series {
                    name: "in time",
                    colour: "#2e7d32",
                    values: vec![3, 0],
                },
                Series {
                    name: "late",
                    colour: "#b26a00",
                    values: vec![1, 2],
                },
            ],
        )
        .unwrap();
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" id="outcomes""#));
        assert!(svg.contains(r#"<title id="outcomes-title">Requests &quot;received&quot;</title>"#));
        assert!(svg.contains("<title>2026-01: 3 in time</title>"));
        assert!(svg.contains("<title>2026-02 &lt;&amp;&gt;: 2 late</title>"));
        // A zero draws no part; three parts in all.
        assert_eq!(svg.matches("<rect x=").count() - 2, 3, "{svg}");
        assert!(!svg.contains("<script"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn lines_break_where_a_month_has_no_value() {
        let labels: Vec<String> = ["a", "b", "c", "d"].map(str::to_owned).to_vec();
        let chart = Chart {
            id: "times",
            title: "t",
            description: "d",
            labels: &labels,
            unit: "days",
        };
        let svg = lines(
            &chart,
            &[Series {
                name: "median",
                colour: "#1565c0",
                values: vec![Some(1.0), Some(2.5), None, Some(4.0)],
            }],
        )
        .unwrap();
        // One line through a and b; d alone is a dot.
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("<title>b: 2.5 days median</title>"));
    }

    #[test]
    fn a_series_shorter_or_longer_than_its_labels_is_refused_never_drawn_as_zeros() {
        let labels = labels();
        let chart = Chart {
            id: "outcomes",
            title: "t",
            description: "d",
            labels: &labels,
            unit: "requests",
        };
        let bars = |values: Vec<u64>| {
            stacked_bars(
                &chart,
                &[Series {
                    name: "late",
                    colour: "#b26a00",
                    values,
                }],
            )
        };
        assert_eq!(
            bars(vec![1]),
            Err(Mismatch {
                chart: "outcomes".to_owned(),
                series: "late",
                values: 1,
                labels: 2
            })
        );
        assert!(bars(vec![1, 2, 3]).is_err());
        let line = |values: Vec<Option<f64>>| {
            lines(
                &chart,
                &[Series {
                    name: "median",
                    colour: "#1565c0",
                    values,
                }],
            )
        };
        assert_eq!(line(vec![Some(1.0)]).unwrap_err().values, 1);
        assert!(line(vec![Some(1.0), None]).is_ok());
    }

    /// Whatever a label, a title or a series holds, it is text in the SVG: no element, no
    /// attribute of its own (the page puts the SVG in with `|safe`).
    #[test]
    fn a_label_with_markup_or_quotes_stays_text() {
        let hostile = "<script>alert(1)</script>\" onload=\"alert(2)";
        let labels = vec![hostile.to_owned()];
        let chart = Chart {
            id: "x\"><script>",
            title: hostile,
            description: hostile,
            labels: &labels,
            unit: hostile,
        };
        let bars = stacked_bars(
            &chart,
            &[Series {
                name: "in time",
                colour: "#2e7d32",
                values: vec![1],
            }],
        )
        .unwrap();
        let line = lines(
            &chart,
            &[Series {
                name: "median",
                colour: "#1565c0",
                values: vec![Some(1.0)],
            }],
        )
        .unwrap();
        for svg in [bars, line] {
            assert!(!svg.contains("<script"), "{svg}");
            assert!(!svg.contains("\" onload"), "{svg}");
            assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot; onload=&quot;alert(2)"));
        }
    }
}
