//! Feeding inputs to the pipeline: one after another, or merged by event time.
//!
//! Files of one source are in time order, but a folder of vendor exports is one file per
//! source: read one after the other, the second source would arrive hours late. Merged, the
//! next event is always the earliest among the inputs' next events, so every source's
//! watermark moves together. Either way each input's position (lines whose events were all
//! handed on) is known, for snapshots and resuming.

use std::collections::VecDeque;

use crate::error::CliError;
use crate::input::{Line, NdjsonReader};
use crate::pipeline::Input;

struct Reader {
    name: String,
    lines: NdjsonReader<Box<dyn std::io::BufRead>>,
    /// Parsed but not yet handed on, with the line each came from.
    queue: VecDeque<(u64, Line)>,
    /// Lines whose events have all been handed on.
    done_lines: u64,
    exhausted: bool,
}

impl Reader {
    /// Reads until the queue holds something or the input ends.
    fn fill(&mut self) -> Result<(), CliError> {
        while self.queue.is_empty() && !self.exhausted {
            let record = self.lines.next_record().map_err(|e| CliError::Io {
                path: self.name.clone(),
                source: e,
            })?;
            match record {
                Some(lines) => {
                    let number = self.lines.line_number();
                    if lines.is_empty() {
                        self.done_lines = number;
                    }
                    self.queue
                        .extend(lines.into_iter().map(|line| (number, line)));
                }
                None => {
                    self.exhausted = true;
                    self.done_lines = self.lines.line_number();
                }
            }
        }
        Ok(())
    }

    fn pop(&mut self) -> Option<Line> {
        let (number, line) = self.queue.pop_front()?;
        if self.queue.front().is_none_or(|(next, _)| *next != number) {
            self.done_lines = number;
        }
        Some(line)
    }

    /// The time of the next event, or `None` for a rejection (handed on at once) or the end.
    fn next_time(&self) -> Option<seam_model::Ts> {
        match self.queue.front() {
            Some((_, Line::Event(event))) => Some(event.time),
            _ => None,
        }
    }
}

/// The inputs, read one after another or merged by event time.
pub struct Feed {
    readers: Vec<Reader>,
    merge: bool,
    current: usize,
}

impl Feed {
    /// Opens the inputs, skipping in each the lines `resume` says were handled already.
    pub fn new(
        inputs: Vec<Input>,
        merge: bool,
        resume: &dyn Fn(&str) -> u64,
    ) -> Result<(Feed, u64), CliError> {
        let mut readers = Vec::with_capacity(inputs.len());
        let mut skipped = 0;
        for input in inputs {
            let mut lines = NdjsonReader::with_format(input.reader, input.format);
            let resume_from = resume(&input.name);
            lines.skip_lines(resume_from).map_err(|e| CliError::Io {
                path: input.name.clone(),
                source: e,
            })?;
            skipped += resume_from;
            readers.push(Reader {
                name: input.name,
                lines,
                queue: VecDeque::new(),
                done_lines: resume_from,
                exhausted: false,
            });
        }
        Ok((
            Feed {
                readers,
                merge,
                current: 0,
            },
            skipped,
        ))
    }

    /// The next line and the name of its input.
    pub fn next(&mut self) -> Result<Option<(&str, Line)>, CliError> {
        let chosen = if self.merge {
            let mut best: Option<(usize, Option<seam_model::Ts>)> = None;
            for (index, reader) in self.readers.iter_mut().enumerate() {
                reader.fill()?;
                if reader.queue.is_empty() {
                    continue;
                }
                let time = reader.next_time();
                // Rejections go first; then the earliest event, the first input on a tie.
                let better = match (best, time) {
                    (None, _) => true,
                    (Some((_, None)), _) => false,
                    (Some(_), None) => true,
                    (Some((_, Some(current))), Some(time)) => time < current,
                };
                if better {
                    best = Some((index, time));
                }
            }
            best.map(|(index, _)| index)
        } else {
            loop {
                let Some(reader) = self.readers.get_mut(self.current) else {
                    break None;
                };
                reader.fill()?;
                if !reader.queue.is_empty() {
                    break Some(self.current);
                }
                self.current += 1;
            }
        };
        let Some(index) = chosen else {
            return Ok(None);
        };
        let Some(reader) = self.readers.get_mut(index) else {
            return Ok(None);
        };
        Ok(reader.pop().map(|line| (reader.name.as_str(), line)))
    }

    /// The records each input's adapter skipped, by reason: (input, reason) → count.
    pub fn skips(&self) -> std::collections::BTreeMap<(String, String), u64> {
        let mut skips = std::collections::BTreeMap::new();
        for reader in &self.readers {
            for (reason, count) in reader.lines.skips() {
                *skips
                    .entry((reader.name.clone(), reason.clone()))
                    .or_default() += count;
            }
        }
        skips
    }

    /// Each input's position: lines whose events were all handed on.
    pub fn positions(&self) -> impl Iterator<Item = (&str, u64)> {
        self.readers
            .iter()
            .map(|reader| (reader.name.as_str(), reader.done_lines))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Format;

    fn event(uid: &str, time: &str) -> String {
        format!(
            r#"{{"uid":"{uid}","time":"{time}","source":"s","class":"occupancy","activity":"count","zone":"z","count":1}}"#
        )
    }

    fn input(name: &str, lines: &[String]) -> Input {
        Input::ndjson(
            name,
            Box::new(std::io::Cursor::new(lines.join("\n").into_bytes())),
        )
    }

    fn drain(feed: &mut Feed) -> Vec<String> {
        let mut out = Vec::new();
        while let Some((name, line)) = feed.next().unwrap() {
            out.push(match line {
                Line::Event(event) => event.uid,
                Line::Rejected { line, .. } => format!("{name}:{line}:rejected"),
            });
        }
        out
    }

    fn two_inputs() -> Vec<Input> {
        vec![
            input(
                "a",
                &[
                    event("a1", "2026-03-02T09:00:00Z"),
                    event("a2", "2026-03-02T11:00:00Z"),
                ],
            ),
            input(
                "b",
                &[
                    event("b1", "2026-03-02T10:00:00Z"),
                    "not json".to_string(),
                    event("b2", "2026-03-02T12:00:00Z"),
                ],
            ),
        ]
    }

    #[test]
    fn merged_inputs_come_out_in_event_time_order_and_rejections_at_once() {
        let (mut feed, _) = Feed::new(two_inputs(), true, &|_| 0).unwrap();
        assert_eq!(drain(&mut feed), ["a1", "b1", "b:2:rejected", "a2", "b2"]);
        let positions: Vec<(&str, u64)> = feed.positions().collect();
        assert_eq!(positions, [("a", 2), ("b", 3)]);
    }

    #[test]
    fn without_merging_inputs_are_read_one_after_another() {
        let (mut feed, _) = Feed::new(two_inputs(), false, &|_| 0).unwrap();
        assert_eq!(drain(&mut feed), ["a1", "a2", "b1", "b:2:rejected", "b2"]);
    }

    #[test]
    fn resuming_skips_what_was_handled_and_positions_count_only_handed_on_lines() {
        let (mut feed, skipped) =
            Feed::new(two_inputs(), true, &|name| u64::from(name == "b")).unwrap();
        assert_eq!(skipped, 1);
        let (_, first) = feed.next().unwrap().unwrap();
        assert!(matches!(first, Line::Rejected { line: 2, .. }));
        // a1 is read and waiting; nothing of input a was handed on yet.
        let positions: Vec<(&str, u64)> = feed.positions().collect();
        assert_eq!(positions, [("a", 0), ("b", 2)]);
    }

    #[test]
    fn a_csv_export_keeps_its_header_for_every_line_even_when_resuming() {
        let csv = "\"Event Time\",\"Event Type\",\"Card Number\",\"Cardholder\",\"Door\",\"Reader\",\"Site\"\n\
                   \"03/02/2026 07:40:00 AM\",\"Access Granted\",\"4412\",\"Tanaka, Bob\",\"hq-main\",\"hq-main-r1\",\"hq\"\n\
                   \"03/02/2026 07:41:00 AM\",\"Access Granted\",\"4411\",\"Jensen, Alice\",\"hq-main\",\"hq-main-r1\",\"hq\"\n";
        let adapter = seam_adapters::Adapter::from_name("pacs-report-csv").unwrap();
        let make = || Input {
            name: "export.csv".into(),
            reader: Box::new(std::io::Cursor::new(csv.as_bytes().to_vec())),
            format: Format::vendor(adapter.clone(), jiff::tz::TimeZone::UTC, None),
        };
        let (mut feed, _) = Feed::new(vec![make()], true, &|_| 0).unwrap();
        let all = drain(&mut feed);
        assert_eq!(all.len(), 2, "{all:?}");
        let (mut feed, _) = Feed::new(vec![make()], true, &|_| 2).unwrap();
        let rest = drain(&mut feed);
        assert_eq!(rest, all[1..].to_vec());
    }
}
