//! Where text goes: results on stdout, notices, errors and the wire on
//! stderr; colours and a spinner only on a terminal.
//!
//! In the interactive session a line editor owns the terminal, so every
//! line goes through its printer instead, which redraws the prompt below.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cli::Color;

/// Prints a line above the prompt of a line editor.
pub(crate) type LinePrinter = Box<dyn FnMut(String) + Send>;

/// The terminal's settings and outputs; cheap to clone.
#[derive(Clone)]
pub(crate) struct Term {
    color: bool,
    verbose: bool,
    printer: Arc<Mutex<Option<LinePrinter>>>,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const CYAN: &str = "\x1b[36m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// How a line is coloured.
#[derive(Clone, Copy)]
pub(crate) enum Tone {
    Error,
    Good,
    Warn,
    Event,
    Dim,
}

impl Term {
    pub(crate) fn new(color: Color, verbose: bool) -> Term {
        let color = match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Term {
            color,
            verbose,
            printer: Arc::new(Mutex::new(None)),
        }
    }

    /// From now on every line goes through `printer` (or back to the
    /// standard streams with `None`).
    pub(crate) fn set_printer(&self, printer: Option<LinePrinter>) {
        *self.printer.lock().unwrap_or_else(|e| e.into_inner()) = printer;
    }

    pub(crate) fn verbose(&self) -> bool {
        self.verbose
    }

    /// `text` in `tone`, when colouring.
    pub(crate) fn paint(&self, tone: Tone, text: &str) -> String {
        let code = match tone {
            Tone::Error => RED,
            Tone::Good => GREEN,
            Tone::Warn => YELLOW,
            Tone::Event => CYAN,
            Tone::Dim => DIM,
        };
        match self.color {
            true => format!("{code}{text}{RESET}"),
            false => text.to_owned(),
        }
    }

    /// A result line, on stdout.
    pub(crate) fn out(&self, line: &str) {
        if self.through_printer(line) {
            return;
        }
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) ends the output, not the program with a panic.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// A notice, on stderr.
    pub(crate) fn note(&self, tone: Tone, line: &str) {
        let painted = self.paint(tone, line);
        if self.through_printer(&painted) {
            return;
        }
        let _ = writeln!(std::io::stderr().lock(), "{painted}");
    }

    /// An error, `sio: ` first, on stderr.
    pub(crate) fn error(&self, line: &str) {
        let prefix = match self.color {
            true => format!("{BOLD}{RED}sio:{RESET} "),
            false => "sio: ".to_owned(),
        };
        let line = format!("{prefix}{line}");
        if !self.through_printer(&line) {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }

    /// With `--verbose`: a packet sent (`->`) or received (`<-`).
    pub(crate) fn wire(&self, sent: bool, text: &str) {
        if !self.verbose {
            return;
        }
        let (arrow, code) = match sent {
            true => ("->", YELLOW),
            false => ("<-", BLUE),
        };
        let line = match self.color {
            true => format!("{code}{arrow}{RESET} {DIM}{text}{RESET}"),
            false => format!("{arrow} {text}"),
        };
        if !self.through_printer(&line) {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }

    fn through_printer(&self, line: &str) -> bool {
        let mut printer = self.printer.lock().unwrap_or_else(|e| e.into_inner());
        match printer.as_mut() {
            Some(p) => {
                p(line.to_owned());
                true
            }
            None => false,
        }
    }

    /// A spinner on stderr saying `what` until the guard is dropped; nothing
    /// unless colouring (a terminal) and not verbose (whose lines it would
    /// cut through).
    pub(crate) fn spinner(&self, what: String) -> Spinner {
        if !self.color || self.verbose {
            return Spinner(None);
        }
        let stopped = Arc::new(AtomicBool::new(false));
        let stop = stopped.clone();
        tokio::spawn(async move {
            const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let mut tick = tokio::time::interval(Duration::from_millis(80));
            for frame in FRAMES.iter().cycle() {
                tick.tick().await;
                let mut err = std::io::stderr().lock();
                // Checked under the lock the drop clears the line under.
                if stop.load(Ordering::Acquire) {
                    return;
                }
                let _ = write!(err, "\r{CYAN}{frame}{RESET} {what}\x1b[K");
                let _ = err.flush();
            }
        });
        Spinner(Some(stopped))
    }
}

/// A running spinner; dropping it stops it and clears its line.
pub(crate) struct Spinner(Option<Arc<AtomicBool>>);

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(stopped) = self.0.take() {
            let mut err = std::io::stderr().lock();
            stopped.store(true, Ordering::Release);
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}
