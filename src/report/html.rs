//! The page: sections of figures (a chart with its numbers in a table beside it), every text
//! escaped, CSS inline, no script. Text from DNS or the input shows control characters as
//! `\DDD`, as in the CSV tables.

use std::fmt::Write as _;

/// `text` safe inside HTML text and attribute values, control characters as `\DDD`.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && (c as u32) < 0x100 => {
                let _ = write!(out, "\\{:03}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A table cell: its text, and where in `summary.json` its number comes from (the `data-summary`
/// attribute, a dotted path, so that a reader or a test can check it).
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub summary: Option<String>,
    /// An anchor on the page this cell links to.
    pub link: Option<String>,
    pub numeric: bool,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            ..Cell::default()
        }
    }

    pub fn count(n: u64) -> Cell {
        Cell {
            text: n.to_string(),
            numeric: true,
            ..Cell::default()
        }
    }

    /// A fractional number with `decimals` decimals.
    pub fn number(x: f64, decimals: usize) -> Cell {
        Cell {
            text: format!("{x:.decimals$}"),
            numeric: true,
            ..Cell::default()
        }
    }

    pub fn from_summary(mut self, path: impl Into<String>) -> Cell {
        self.summary = Some(path.into());
        self
    }

    pub fn linked(mut self, anchor: impl Into<String>) -> Cell {
        self.link = Some(anchor.into());
        self
    }
}

/// A table of numbers (or of anything).
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub head: Vec<String>,
    /// Each row with its id (an anchor to link to), if any.
    pub rows: Vec<(Option<String>, Vec<Cell>)>,
}

impl Table {
    pub fn new(head: &[&str]) -> Table {
        Table {
            head: head.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push((None, cells));
    }

    /// A row that links can point at (`#id`).
    pub fn anchored_row(&mut self, id: String, cells: Vec<Cell>) {
        self.rows.push((Some(id), cells));
    }

    fn render(&self, out: &mut String) {
        out.push_str("<table>\n<thead><tr>");
        for h in &self.head {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for (id, row) in &self.rows {
            match id {
                Some(id) => {
                    let _ = write!(out, "<tr id=\"{}\">", esc(id));
                }
                None => out.push_str("<tr>"),
            }
            for c in row {
                out.push_str(if c.numeric { "<td class=\"n\"" } else { "<td" });
                if let Some(path) = &c.summary {
                    let _ = write!(out, " data-summary=\"{}\"", esc(path));
                }
                out.push('>');
                match &c.link {
                    Some(anchor) => {
                        let _ = write!(out, "<a href=\"#{}\">{}</a>", esc(anchor), esc(&c.text));
                    }
                    None => out.push_str(&esc(&c.text)),
                }
                out.push_str("</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
    }
}

/// The page being built.
pub struct Page {
    title: String,
    body: String,
    open: bool,
}

const STYLE: &str = r#"
body { font-family: sans-serif; margin: 0 auto; max-width: 1280px; padding: 0 16px 32px; color: #1b1b1b; }
h1 { font-size: 1.6em; margin: 20px 0 4px; }
h2 { font-size: 1.3em; border-bottom: 2px solid #0072b2; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 1.05em; margin: 18px 0 6px; }
nav a { margin-right: 12px; }
.banner { padding: 10px 14px; border-radius: 4px; font-weight: bold; }
.banner.complete { background: #e3f4ec; border: 1px solid #009e73; }
.banner.interrupted { background: #fdecea; border: 1px solid #d55e00; }
.row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; margin: 12px 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { flex-basis: 100%; font-size: 0.9em; color: #444; }
table { border-collapse: collapse; font-size: 0.85em; margin: 4px 0; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 8px; white-space: pre-wrap; word-break: break-all; }
.error { color: #d55e00; }
@media print { nav { display: none; } figure { break-inside: avoid; } h2 { break-after: avoid; } }
"#;

impl Page {
    pub fn new(title: &str) -> Page {
        Page {
            title: title.to_string(),
            body: String::new(),
            open: false,
        }
    }

    /// Starts a section with an `id` for links and tests.
    pub fn section(&mut self, id: &str, heading: &str) {
        self.close();
        let _ = writeln!(
            self.body,
            "<section id=\"{}\">\n<h2>{}</h2>",
            esc(id),
            esc(heading)
        );
        self.open = true;
    }

    fn close(&mut self) {
        if self.open {
            self.body.push_str("</section>\n");
            self.open = false;
        }
    }

    pub fn heading(&mut self, text: &str) {
        let _ = writeln!(self.body, "<h3>{}</h3>", esc(text));
    }

    pub fn paragraph(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p>{}</p>", esc(text));
    }

    /// A section of one paragraph with a class (`banner complete`, `banner interrupted`).
    pub fn banner(&mut self, id: &str, class: &str, text: &str) {
        self.close();
        let _ = writeln!(
            self.body,
            "<section id=\"{}\">\n<p class=\"{}\">{}</p>\n</section>",
            esc(id),
            esc(class),
            esc(text)
        );
    }

    pub fn preformatted(&mut self, text: &str) {
        let _ = writeln!(self.body, "<pre>{}</pre>", esc(text));
    }

    pub fn table(&mut self, table: &Table) {
        table.render(&mut self.body);
    }

    /// Small tables side by side.
    pub fn tables(&mut self, tables: &[Table]) {
        self.body.push_str("<div class=\"row\">\n");
        for t in tables {
            t.render(&mut self.body);
        }
        self.body.push_str("</div>\n");
    }

    /// A chart (SVG from [`super::chart`]) with its caption and its numbers.
    pub fn figure(&mut self, svg: &str, caption: &str, table: &Table) {
        self.body.push_str("<figure>\n");
        self.body.push_str(svg);
        self.body.push('\n');
        table.render(&mut self.body);
        let _ = writeln!(self.body, "<figcaption>{}</figcaption>", esc(caption));
        self.body.push_str("</figure>\n");
    }

    /// Raw HTML built by this module's callers from escaped parts.
    pub fn raw(&mut self, html: &str) {
        self.body.push_str(html);
    }

    /// The whole document, with a table of contents of `sections` (id, heading).
    pub fn finish(mut self, sections: &[(&str, &str)]) -> String {
        self.close();
        let mut nav = String::from("<nav>");
        for (id, heading) in sections {
            let _ = write!(nav, "<a href=\"#{}\">{}</a>", esc(id), esc(heading));
        }
        nav.push_str("</nav>");
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n{nav}\n{}</body>\n</html>\n",
            esc(&self.title),
            esc(&self.title),
            self.body
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_with_control_characters_shown() {
        assert_eq!(
            esc("<a href='x'>&\"\u{1b}[31m\n"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\\027[31m\\010"
        );
        assert_eq!(esc("bücher.test"), "bücher.test");
    }
}
