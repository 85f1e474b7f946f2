//! An emulator of what GitHub's runner does with a Docker action's stdout and stderr, written
//! from actions/runner's source (`Runner.Sdk/ProcessInvoker.cs`, `Runner.Worker/Handlers/
//! OutputManager.cs`, `Runner.Worker/ActionCommandManager.cs`, `Runner.Common/ActionCommand.cs`):
//! it turns the captured bytes into the job log a reader sees, with every workflow command that
//! took effect.
//!
//! - Lines: each stream is decoded as UTF-8 (invalid bytes become U+FFFD) and split as .NET's
//!   `StreamReader.ReadLine` does: at `\r\n`, `\n` or a lone `\r`, nothing else.
//! - A line holding `::` or `##[` is offered to the command manager: first the `::name
//!   props::data` form after `TrimStart()` (leading white space, Unicode's included), then the old
//!   `##[name props]data` form anywhere in the line. Only registered names count (case-
//!   insensitive); `notice` is taken as enabled (github.com has enhanced annotations).
//! - The runner matches `::` and `##[` with culture-sensitive `StartsWith`/`IndexOf`, which skip
//!   "ignorable" code points (soft hyphen, zero-width joiners, ...): the emulator removes those
//!   before matching, so it finds at least every command the runner finds.
//! - `::stop-commands::TOKEN` stops all processing (lines are printed verbatim, `::add-mask::`
//!   lines included) until a line `::TOKEN::`; `::echo::on` echoes processed commands;
//!   `::add-mask::V` masks V and each of its lines from then on (the log masks a line when it is
//!   written, so a secret printed before its mask shows).
//! - stdout and stderr are read by two threads into one command manager, in an order nobody can
//!   know: [`JobLogs`] keeps both orders and every assertion must hold for both.

use std::collections::BTreeMap;

const REGISTERED: &[&str] = &[
    "stop-commands",
    "set-env",
    "set-output",
    "save-state",
    "add-mask",
    "add-path",
    "add-matcher",
    "remove-matcher",
    "debug",
    "warning",
    "error",
    "notice",
    "group",
    "endgroup",
    "echo",
];

/// The commands this program emits itself; anything else in effect was injected.
pub const OURS: &[&str] = &[
    "add-mask", "error", "warning", "notice", "debug", "group", "endgroup",
];

/// One entry of the job log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A line shown as text (already masked, as the log shows it).
    Output(String),
    /// A workflow command that took effect (data and properties as the runner unescaped them).
    Command {
        name: String,
        properties: BTreeMap<String, String>,
        data: String,
    },
    /// The runner failed the step while processing this command line.
    Failed(String),
}

/// The job log of one reading order.
#[derive(Debug, Clone, Default)]
pub struct JobLog {
    pub entries: Vec<Entry>,
    masks: Vec<String>,
    stopped_by: Option<String>,
    echo: bool,
}

impl JobLog {
    fn mask(&self, text: &str) -> String {
        let mut masks = self.masks.clone();
        masks.sort_by_key(|mask| std::cmp::Reverse(mask.len()));
        let mut text = text.to_owned();
        for mask in masks.iter().filter(|mask| !mask.is_empty()) {
            text = text.replace(mask.as_str(), "***");
        }
        text
    }

    fn output(&mut self, line: &str) {
        let shown = self.mask(line);
        self.entries.push(Entry::Output(shown));
    }

    fn line(&mut self, line: &str) {
        let probe = without_ignorables(line);
        if (probe.contains("##[") || probe.contains("::")) && self.try_command(&probe, line) {
            return;
        }
        self.output(line);
    }

    /// `ActionCommandManager.TryProcessCommand`; `raw` is the line as printed (echoed).
    fn try_command(&mut self, probe: &str, raw: &str) -> bool {
        let registered: Vec<String> = REGISTERED
            .iter()
            .map(|name| (*name).to_owned())
            .chain(self.stopped_by.clone())
            .collect();
        let Some(command) = parse_v2(probe, &registered).or_else(|| parse_v1(probe, &registered))
        else {
            return false;
        };
        let (name, properties, data) = command;
        if let Some(token) = self.stopped_by.clone() {
            if name.eq_ignore_ascii_case(&token) {
                self.output(raw);
                self.stopped_by = None;
                return true;
            }
            return false;
        }
        if name.eq_ignore_ascii_case("stop-commands") {
            let invalid = data.is_empty()
                || data.eq_ignore_ascii_case("pause-logging")
                || REGISTERED
                    .iter()
                    .any(|known| known.eq_ignore_ascii_case(&data));
            if invalid {
                self.entries.push(Entry::Failed(self.mask(raw)));
                return true;
            }
            if data.len() > 6 {
                self.masks.push(data.clone());
            }
            self.stopped_by = Some(data.clone());
            self.output(raw);
            self.entries.push(Entry::Command {
                name,
                properties,
                data,
            });
            return true;
        }
        let lower = name.to_ascii_lowercase();
        let omit_echo = matches!(
            lower.as_str(),
            "add-mask" | "debug" | "warning" | "error" | "notice"
        );
        if self.echo && !omit_echo {
            self.output(raw);
        }
        match lower.as_str() {
            "add-mask" if !data.trim().is_empty() => {
                self.masks.push(data.clone());
                for piece in data.split(['\r', '\n']).map(str::trim) {
                    if !piece.is_empty() {
                        self.masks.push(piece.to_owned());
                    }
                }
            }
            "echo" => match data.trim().to_ascii_uppercase().as_str() {
                "ON" => self.echo = true,
                "OFF" => self.echo = false,
                _ => self.entries.push(Entry::Failed(self.mask(raw))),
            },
            // Disabled on GitHub's runners unless the workflow opts in: the step fails.
            "set-env" | "add-path" => self.entries.push(Entry::Failed(self.mask(raw))),
            _ => {}
        }
        let data = if lower == "add-mask" {
            "***".to_owned()
        } else {
            self.mask(&data)
        };
        self.entries.push(Entry::Command {
            name,
            properties,
            data,
        });
        true
    }

    /// The log as text: plain lines, and commands as the runner shows them (`##[error]...`).
    pub fn text(&self) -> String {
        let mut text = String::new();
        for entry in &self.entries {
            match entry {
                Entry::Output(line) => text.push_str(line),
                Entry::Command { name, .. } if name.eq_ignore_ascii_case("add-mask") => {
                    continue;
                }
                Entry::Command {
                    name,
                    properties,
                    data,
                } => {
                    text.push_str(&format!("##[{name}]"));
                    if let Some(title) = properties.get("title") {
                        text.push_str(&format!("{title}: "));
                    }
                    text.push_str(data);
                }
                Entry::Failed(line) => text.push_str(&format!("##[failed]{line}")),
            }
            text.push('\n');
        }
        text
    }

    /// The commands that took effect.
    pub fn commands(&self) -> Vec<(&str, &str)> {
        self.entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Command { name, data, .. } => Some((name.as_str(), data.as_str())),
                _ => None,
            })
            .collect()
    }
}

/// Read the streams in this order into one log.
pub fn emulate(streams: &[&[u8]]) -> JobLog {
    let mut log = JobLog::default();
    for stream in streams {
        for line in read_lines(&String::from_utf8_lossy(stream)) {
            log.line(&line);
        }
    }
    log
}

/// `StreamReader.ReadLine`: `\r\n`, `\n` and a lone `\r` end a line.
pub fn read_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            '\n' => lines.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

type Parsed = (String, BTreeMap<String, String>, String);

/// `ActionCommand.TryParseV2`: `::name k=v,k=v::data` after leading white space.
fn parse_v2(line: &str, registered: &[String]) -> Option<Parsed> {
    let message = line.trim_start();
    let rest = message.strip_prefix("::")?;
    let end = rest.find("::")?;
    let info = &rest[..end];
    let (name, properties) = info.split_once(' ').unwrap_or((info, ""));
    if !registered
        .iter()
        .any(|known| known.eq_ignore_ascii_case(name))
    {
        return None;
    }
    let mut parsed = BTreeMap::new();
    for pair in properties.trim().split(',').filter(|p| !p.is_empty()) {
        if let Some((key, value)) = pair.split_once('=') {
            if !key.is_empty() && !value.is_empty() {
                parsed.insert(key.to_owned(), unescape_property(value));
            }
        }
    }
    Some((name.to_owned(), parsed, unescape_data(&rest[end + 2..])))
}

/// `ActionCommand.TryParse`: `##[name k=v;k=v]data` anywhere in the line.
fn parse_v1(line: &str, registered: &[String]) -> Option<Parsed> {
    let start = line.find("##[")?;
    let after = &line[start + 3..];
    let close = after.find(']')?;
    let info = &after[..close];
    let (name, properties) = info.split_once(' ').unwrap_or((info, ""));
    if !registered
        .iter()
        .any(|known| known.eq_ignore_ascii_case(name))
    {
        return None;
    }
    let mut parsed = BTreeMap::new();
    for pair in properties.split(';').filter(|p| !p.is_empty()) {
        if let Some((key, value)) = pair.split_once('=') {
            if !key.is_empty() && !value.is_empty() {
                parsed.insert(key.to_owned(), unescape_v1(value));
            }
        }
    }
    Some((name.to_owned(), parsed, unescape_v1(&after[close + 1..])))
}

fn unescape_data(text: &str) -> String {
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

fn unescape_property(text: &str) -> String {
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

fn unescape_v1(text: &str) -> String {
    text.replace("%3B", ";")
        .replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%5D", "]")
        .replace("%25", "%")
}

/// Default-ignorable code points, which ICU's culture-sensitive matching skips.
fn without_ignorables(line: &str) -> String {
    line.chars()
        .filter(|c| {
            !matches!(*c as u32,
                0xAD | 0x34F | 0x61C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
                | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164
                | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
        })
        .collect()
}

/// The job log in both orders stdout and stderr may have been read in.
#[derive(Debug, Clone)]
pub struct JobLogs {
    pub logs: [JobLog; 2],
}

impl JobLogs {
    pub fn of(stdout: &str, stderr: &str) -> Self {
        Self {
            logs: [
                emulate(&[stdout.as_bytes(), stderr.as_bytes()]),
                emulate(&[stderr.as_bytes(), stdout.as_bytes()]),
            ],
        }
    }

    /// The log a reader sees (stdout read first).
    pub fn text(&self) -> String {
        self.logs[0].text()
    }

    /// No secret (nor a JWT) is readable in the log, in either order.
    pub fn assert_no_secrets(&self, secrets: &[&str]) {
        for log in &self.logs {
            super::assert_no_secrets_in(&log.text(), secrets);
        }
    }

    /// Every command in effect is one this program emits, none starts with `marker` (the text
    /// the attack puts first in the commands it injects), and the runner never failed the step
    /// over a command line.
    pub fn assert_no_injected_command(&self, marker: &str) {
        for log in &self.logs {
            for entry in &log.entries {
                match entry {
                    Entry::Command {
                        name,
                        properties,
                        data,
                    } => {
                        let ours = OURS.iter().any(|known| known.eq_ignore_ascii_case(name));
                        // Our own annotations may quote hostile text; a command the attack
                        // made has it first (`::warning::MARKER...`).
                        let carries = name.contains(marker)
                            || data.trim_start().starts_with(marker)
                            || properties
                                .values()
                                .any(|value| value.trim_start().starts_with(marker));
                        assert!(
                            ours && !carries,
                            "an injected command took effect: {entry:?}\n--- job log ---\n{}",
                            log.text()
                        );
                    }
                    Entry::Failed(line) => panic!(
                        "the runner would fail the step over the line {line:?}\n--- job log ---\n{}",
                        log.text()
                    ),
                    Entry::Output(_) => {}
                }
            }
            assert!(
                log.stopped_by.is_none(),
                "command processing is stopped at the end of the step\n--- job log ---\n{}",
                log.text()
            );
        }
    }
}
