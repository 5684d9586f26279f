//! The one owner of stdout and stderr. stdout carries data (tables, JSON documents); status,
//! warnings and hints go to stderr. Write errors (a closed pipe) are ignored: the reader is gone.

use std::io::Write;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

#[derive(Clone, Copy, Debug)]
pub struct Ui {
    pub json: bool,
    pub quiet: bool,
}

pub const GREEN: Style = AnsiColor::Green.on_default();
pub const RED: Style = AnsiColor::Red.on_default();
pub const YELLOW: Style = AnsiColor::Yellow.on_default();
pub const BLUE: Style = AnsiColor::Blue.on_default();
pub const DIM: Style = Style::new().dimmed();
pub const BOLD: Style = Style::new().bold();

impl Ui {
    /// A line of data on stdout.
    pub fn data(&self, text: &str) {
        let mut out = anstream::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Exactly one JSON document on stdout.
    pub fn json<T: Serialize>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|e| {
            format!("{{\"success\":false,\"error\":\"cannot serialise output: {e}\",\"code\":\"internal\"}}")
        });
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Progress and status on stderr (silenced by --quiet).
    pub fn status(&self, text: &str) {
        if !self.quiet {
            let mut err = anstream::stderr().lock();
            let _ = writeln!(err, "{text}");
        }
    }

    /// A warning the user should act on (never silenced).
    pub fn warn(&self, text: &str) {
        let mut err = anstream::stderr().lock();
        let _ = writeln!(err, "{YELLOW}warning{YELLOW:#}: {text}");
    }

    /// A raw line on stderr (machine-readable data meant for stderr, e.g. `run --json`).
    pub fn warn_raw(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }

    /// Ask `question` on stderr and read one answer line from stdin: trimmed and lowercased;
    /// empty at end of input. Never silenced (a prompt nobody sees would hang).
    pub fn ask(&self, question: &str) -> String {
        {
            let mut err = anstream::stderr().lock();
            let _ = write!(err, "{question} ");
            let _ = err.flush();
        }
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        line.trim().to_lowercase()
    }

    pub fn error(&self, text: &str, hint: Option<&str>) {
        let mut err = anstream::stderr().lock();
        let _ = writeln!(err, "{RED}error{RED:#}: {text}");
        if let Some(h) = hint {
            let _ = writeln!(err, "{DIM}hint{DIM:#}: {h}");
        }
    }
}

/// Paint `text` with `style` (anstream strips it when colour is off: NO_COLOR, not a TTY).
pub fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// A plain left-aligned table; widths from the longest cell (ANSI codes not counted).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    fn visible_len(s: &str) -> usize {
        let mut n = 0;
        let mut in_esc = false;
        for c in s.chars() {
            if in_esc {
                if c == 'm' {
                    in_esc = false;
                }
            } else if c == '\x1b' {
                in_esc = true;
            } else {
                n += 1;
            }
        }
        n
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(visible_len(cell));
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                out.push_str(&" ".repeat(widths[i].saturating_sub(visible_len(cell)) + 2));
            }
        }
        out.push('\n');
    };
    line(headers.iter().map(|h| paint(BOLD, h)).collect(), &mut out);
    for row in rows {
        line(row.clone(), &mut out);
    }
    out.pop();
    out
}
