//! Plain-text tables and colour for `headroomctl`'s human output. Colour
//! only when stdout is a terminal and `NO_COLOR` is unset.

use std::io::IsTerminal;

/// Whether to emit ANSI colour on stdout.
pub fn colour_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// ANSI styles (no-ops when colour is off).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    on: bool,
}

impl Style {
    pub fn new(on: bool) -> Style {
        Style { on }
    }

    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\u{1b}[{code}m{s}\u{1b}[0m")
        } else {
            s.to_string()
        }
    }

    pub fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.wrap("36", s)
    }
}

/// Visible width of `s`, ignoring ANSI escapes.
fn width(s: &str) -> usize {
    let mut w = 0;
    let mut in_esc = false;
    for c in s.chars() {
        if in_esc {
            if c == 'm' {
                in_esc = false;
            }
        } else if c == '\u{1b}' {
            in_esc = true;
        } else {
            w += 1;
        }
    }
    w
}

/// A table: a header row and data rows; numeric-looking cells right-align.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self, style: Style) -> String {
        let cols = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(width(c));
            }
        }
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String, head: bool| {
            for (i, c) in cells.iter().enumerate().take(cols) {
                let pad = widths[i].saturating_sub(width(c));
                let numeric = !head
                    && i > 0
                    && c.trim_start_matches(['$', '-', '+'])
                        .chars()
                        .next()
                        .is_some_and(|ch| ch.is_ascii_digit());
                if i > 0 {
                    out.push_str("  ");
                }
                let cell = if head { style.bold(c) } else { c.clone() };
                if numeric {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(&cell);
                } else {
                    out.push_str(&cell);
                    if i + 1 < cols {
                        out.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.push('\n');
        };
        line(&self.header, &mut out, true);
        for r in &self.rows {
            line(r, &mut out, false);
        }
        out
    }
}

/// `12345678` → `12,345,678`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Percentage saved, or `-` when nothing was seen.
pub fn saved_pct(before: u64, after: u64) -> String {
    if before == 0 {
        "-".into()
    } else {
        format!(
            "{:.1}%",
            100.0 * (before.saturating_sub(after)) as f64 / before as f64
        )
    }
}

/// Seconds as `3d 4h`, `5h 2m`, `4m 10s`, `12.3s`.
pub fn duration(secs: f64) -> String {
    let s = secs as u64;
    if s >= 86_400 {
        format!("{}d {}h", s / 86_400, (s % 86_400) / 3600)
    } else if s >= 3600 {
        format!("{}h {}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {}s", s / 60, s % 60)
    } else {
        format!("{secs:.1}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(saved_pct(200, 50), "75.0%");
        assert_eq!(saved_pct(0, 0), "-");
        assert_eq!(duration(3725.0), "1h 2m");
    }

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(&["name", "count"]);
        t.row(vec!["a".into(), "5".into()]);
        t.row(vec!["long".into(), "1,000".into()]);
        let s = t.render(Style::new(false));
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "name  count");
        assert_eq!(lines[1], "a         5");
        assert_eq!(lines[2], "long  1,000");
    }
}
