//! Progress bars for the commands that wait: one line on standard error, redrawn in place when
//! it is a terminal; when it is not (a log, a pipe), nothing until the end, so that files do not
//! fill with redraws.

use std::io::{IsTerminal, Write};

/// Width of the bar, in characters.
const WIDTH: usize = 30;

/// Draws `label [#####.....] done/total unit` over the last line; `done` past `total` is full.
pub fn draw(label: &str, done: u64, total: u64, unit: &str) {
    let stderr = std::io::stderr();
    if !stderr.is_terminal() {
        return;
    }
    let _ = write!(stderr.lock(), "\r{}", line(label, done, total, unit));
}

/// Ends a bar drawn with [`draw`]: the line is cleared so that what follows starts clean.
pub fn finish() {
    let stderr = std::io::stderr();
    if stderr.is_terminal() {
        let _ = write!(stderr.lock(), "\r{}\r", " ".repeat(WIDTH + 60));
    }
}

fn line(label: &str, done: u64, total: u64, unit: &str) -> String {
    let total = total.max(1);
    let done = done.min(total);
    let filled = (done as usize * WIDTH) / total as usize;
    format!(
        "{label} [{}{}] {done}/{total} {unit}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled)
    )
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn a_bar_fills_with_what_is_done_and_never_overflows() {
        assert_eq!(
            line("x", 0, 10, "s"),
            format!("x [{}] 0/10 s", ".".repeat(30))
        );
        assert_eq!(
            line("x", 5, 10, "s"),
            format!("x [{}{}] 5/10 s", "#".repeat(15), ".".repeat(15))
        );
        assert_eq!(
            line("x", 12, 10, "s"),
            format!("x [{}] 10/10 s", "#".repeat(30))
        );
        assert_eq!(
            line("x", 0, 0, "s"),
            format!("x [{}] 0/1 s", ".".repeat(30))
        );
    }
}
