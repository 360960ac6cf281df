//! The reorder buffer: events waiting for the watermark, released in (time, uid) order.
//!
//! Most input arrives in order, or nearly: each source is ordered, and sources interleave. So
//! the buffer keeps what arrived in order in queues (constant time at both ends) and only the
//! stragglers, which arrived before something later than them, in a binary heap. The next
//! event out is the smaller of the two fronts.
//!
//! The queues hold the events themselves, not boxes: they wait for the allowed lateness (many
//! thousands of events at a high rate), long enough to leave the caches, and a contiguous
//! queue is read back as one stream instead of one cache miss per event. An event is about
//! 700 bytes, so copying each into a queue costs as much as a good part of its processing: a
//! batch that arrives in order, after everything waiting, is taken over whole as a queue of
//! its own (a *run*), and its caller is handed back the storage of a run already released.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

use seam_estate::PersonIdx;
use seam_model::{Event, Ts};

use crate::identity::ResolvedBy;

/// An event and the person its directory identifiers named, resolved when it arrived: the
/// directory does not change while the event waits, and resolving a batch of arrivals
/// together lets their hash-table misses overlap.
#[derive(Debug)]
pub(crate) struct Queued {
    pub event: Event,
    pub directory: Directory,
}

/// An event waiting, ordered by (time, uid).
#[derive(Debug)]
struct Pending {
    /// Kept beside the box so that ordering rarely has to follow the pointer.
    time: Ts,
    queued: Box<Queued>,
}

impl Pending {
    fn new(queued: Box<Queued>) -> Pending {
        Pending {
            time: queued.event.time,
            queued,
        }
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Pending) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Pending) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Pending) -> Ordering {
        self.time
            .cmp(&other.time)
            .then_with(|| self.queued.event.uid.cmp(&other.queued.event.uid))
    }
}

/// The person an event's directory identifiers named, if any.
pub(crate) type Directory = Option<(PersonIdx, ResolvedBy)>;

/// Most emptied runs kept for reuse.
const SPARE_RUNS: usize = 4;

/// Events that arrived in order, with their directory answers kept apart: 8 bytes each, so
/// that looking a few events ahead reads one cache line instead of one event each.
#[derive(Debug, Default)]
struct Run {
    events: VecDeque<Event>,
    directory: VecDeque<Directory>,
    /// Taken over from a caller's batch: its storage is sized for that batch, so single
    /// arrivals start a run of their own after it instead of growing it.
    adopted: bool,
}

#[derive(Debug, Default)]
pub(crate) struct ReorderBuffer {
    /// Runs in (time, uid) order: each event is no earlier than the one before, across runs.
    runs: VecDeque<Run>,
    /// Events in all runs.
    run_len: usize,
    /// Events that arrived out of order.
    stragglers: BinaryHeap<Reverse<Pending>>,
    /// Released runs, empty, whose storage the next batch or run reuses.
    spare: Vec<Run>,
}

impl ReorderBuffer {
    pub fn len(&self) -> usize {
        self.run_len + self.stragglers.len()
    }

    /// The newest event that arrived in order, if any is waiting.
    fn last_in_order(&self) -> Option<&Event> {
        self.runs.iter().rev().find_map(|run| run.events.back())
    }

    /// The event `index` places behind the front of the in-order events.
    fn in_order(&self, mut index: usize) -> Option<(&Event, Directory)> {
        for run in &self.runs {
            if index < run.events.len() {
                let event = run.events.get(index)?;
                return Some((event, run.directory.get(index).copied().flatten()));
            }
            index -= run.events.len();
        }
        None
    }

    // Inlined so that the event is copied once, into the queue, not once more on the way.
    #[inline]
    pub fn push(&mut self, queued: Queued) {
        let event = &queued.event;
        let in_order = self
            .last_in_order()
            .is_none_or(|last| (last.time, &last.uid) <= (event.time, &event.uid));
        if !in_order {
            self.stragglers
                .push(Reverse(Pending::new(Box::new(queued))));
            return;
        }
        if self.runs.back().is_none_or(|run| run.adopted) {
            let run = self.spare.pop().unwrap_or_default();
            self.runs.push_back(run);
        }
        if let Some(run) = self.runs.back_mut() {
            run.directory.push_back(queued.directory);
            run.events.push_back(queued.event);
            self.run_len += 1;
        }
    }

    /// Whether `events`, as one batch, could be taken over whole by [`ReorderBuffer::adopt`]:
    /// they are in (time, uid) order and none is earlier than the newest event in order.
    pub fn can_adopt(&self, events: &[Event]) -> bool {
        let after_waiting = match (self.last_in_order(), events.first()) {
            (_, None) => return false,
            (None, Some(_)) => true,
            (Some(last), Some(first)) => (last.time, &last.uid) <= (first.time, &first.uid),
        };
        after_waiting
            && events
                .windows(2)
                .all(|pair| matches!(pair, [a, b] if (a.time, &a.uid) <= (b.time, &b.uid)))
    }

    /// Takes over a batch that [`ReorderBuffer::can_adopt`] accepted, with its directory
    /// answers, and leaves both vectors empty, with the storage of a released run when there
    /// is one.
    pub fn adopt(&mut self, events: &mut Vec<Event>, directory: &mut Vec<Directory>) {
        let spare = self.spare.pop().unwrap_or_default();
        let taken_events = std::mem::replace(events, Vec::from(spare.events));
        let taken_directory = std::mem::replace(directory, Vec::from(spare.directory));
        events.clear();
        directory.clear();
        self.run_len += taken_events.len();
        self.runs.push_back(Run {
            events: VecDeque::from(taken_events),
            directory: VecDeque::from(taken_directory),
            adopted: true,
        });
        // An empty run kept for arrivals is now in front of this one.
        self.retire_empty_run();
    }

    /// Whether the next event in (time, uid) order is the front of the in-order events.
    fn next_from_run(&self) -> bool {
        match (self.in_order(0), self.stragglers.peek()) {
            (Some((first, _)), Some(Reverse(straggler))) => {
                (first.time, &first.uid) <= (straggler.time, &straggler.queued.event.uid)
            }
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// The next event in (time, uid) order, left in place, with its directory answer.
    pub fn next(&self) -> Option<(&Event, Directory)> {
        if self.next_from_run() {
            self.in_order(0)
        } else {
            let Reverse(pending) = self.stragglers.peek()?;
            Some((&pending.queued.event, pending.queued.directory))
        }
    }

    /// Whether the next event is the only one waiting at `time` (the next event's time) or
    /// earlier: every other is later. Answers `false` when that is not cheap to know.
    pub fn only_next_at(&self, time: Ts) -> bool {
        self.next_from_run()
            && self
                .in_order(1)
                .is_none_or(|(second, _)| second.time > time)
            && self
                .stragglers
                .peek()
                .is_none_or(|Reverse(straggler)| straggler.time > time)
    }

    /// Drops the next event where it lies: an event is about 700 bytes, and taking it out of
    /// the queue only to drop it would copy it for nothing.
    pub fn drop_next(&mut self) {
        if self.next_from_run() {
            // The run `in_order(0)` reads: the first that holds an event.
            if let Some(run) = self.runs.iter_mut().find(|run| !run.events.is_empty()) {
                run.events.drain(..1);
                run.directory.pop_front();
                self.run_len -= 1;
            }
            self.retire_empty_run();
        } else {
            self.stragglers.pop();
        }
    }

    /// Takes the next event in (time, uid) order.
    pub fn pop(&mut self) -> Option<Queued> {
        if self.next_from_run() {
            let run = self.runs.iter_mut().find(|run| !run.events.is_empty())?;
            let event = run.events.pop_front()?;
            let directory = run.directory.pop_front().flatten();
            self.run_len -= 1;
            self.retire_empty_run();
            Some(Queued { event, directory })
        } else {
            self.stragglers
                .pop()
                .map(|Reverse(pending)| *pending.queued)
        }
    }

    /// Moves empty runs at the front to the spares, keeping an empty run only when it is the
    /// only one and not adopted: it takes the next arrivals. So the front run holds the next
    /// event in order whenever any waits.
    fn retire_empty_run(&mut self) {
        while self
            .runs
            .front()
            .is_some_and(|run| run.events.is_empty() && (run.adopted || self.runs.len() > 1))
        {
            let Some(mut run) = self.runs.pop_front() else {
                break;
            };
            if self.spare.len() < SPARE_RUNS {
                run.directory.clear();
                run.adopted = false;
                self.spare.push(run);
            }
        }
    }

    /// The directory answer and the event `distance` places behind the front of the in-order
    /// events, if there are that many: what will be processed soon, for warming the caches.
    pub fn ahead(&self, distance: usize) -> Option<(Directory, &Event)> {
        self.in_order(distance)
            .map(|(event, directory)| (directory, event))
    }

    /// Every waiting event, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Event> {
        self.runs.iter().flat_map(|run| run.events.iter()).chain(
            self.stragglers
                .iter()
                .map(|Reverse(pending)| &pending.queued.event),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_model::{Activity, EventClass};

    fn event(time: i64, uid: &str) -> Event {
        Event::new(
            uid,
            Ts(time),
            "test",
            EventClass::DeviceStatus,
            Activity::Online,
        )
    }

    #[test]
    fn releases_in_time_then_uid_order_whatever_the_arrival() {
        let arrivals = [
            (5, "b"),
            (7, "a"),
            (5, "a"),
            (9, "c"),
            (1, "z"),
            (9, "a"),
            (7, "a"),
        ];
        let mut buffer = ReorderBuffer::default();
        for (time, uid) in arrivals {
            buffer.push(Queued {
                event: event(time, uid),
                directory: None,
            });
        }
        assert_eq!(buffer.len(), arrivals.len());
        assert_eq!(buffer.next().map(|(event, _)| event.time), Some(Ts(1)));
        let mut out = Vec::new();
        while let Some(Queued { event, .. }) = buffer.pop() {
            out.push((event.time.millis(), event.uid.clone()));
        }
        let mut expected: Vec<(i64, String)> = arrivals
            .iter()
            .map(|(time, uid)| (*time, (*uid).to_owned()))
            .collect();
        expected.sort();
        assert_eq!(out, expected);
        assert!(buffer.next().is_none());
    }

    #[test]
    fn adopted_batches_and_single_arrivals_release_in_order() {
        let mut buffer = ReorderBuffer::default();
        let mut expected = Vec::new();
        let mut time = 0;
        let mut released = Vec::new();
        for round in 0..40 {
            // A batch in order after everything waiting, taken over whole.
            let mut batch: Vec<Event> = (0..round % 5 + 1)
                .map(|i| {
                    time += 1;
                    event(time, &format!("b{round}-{i}"))
                })
                .collect();
            let mut directory = vec![None; batch.len()];
            assert!(buffer.can_adopt(&batch));
            expected.extend(batch.iter().map(|e| (e.time.millis(), e.uid.clone())));
            buffer.adopt(&mut batch, &mut directory);
            assert!(batch.is_empty() && directory.is_empty());
            // Single arrivals, one of them out of order.
            for uid in ["s1", "s2"] {
                time += 1;
                buffer.push(Queued {
                    event: event(time, uid),
                    directory: None,
                });
                expected.push((time, uid.to_owned()));
            }
            buffer.push(Queued {
                event: event(time - 1, "late"),
                directory: None,
            });
            expected.push((time - 1, "late".to_owned()));
            // A batch that starts before the newest waiting event cannot be taken over.
            assert!(!buffer.can_adopt(&[event(time - 2, "x")]));
            // Release some, alternating the two ways out.
            for step in 0..(round % 7) {
                let Some((next, _)) = buffer.next() else {
                    break;
                };
                released.push((next.time.millis(), next.uid.clone()));
                if step % 2 == 0 {
                    buffer.drop_next();
                } else {
                    buffer.pop();
                }
            }
            assert_eq!(buffer.len() + released.len(), expected.len());
        }
        while let Some(Queued { event, .. }) = buffer.pop() {
            released.push((event.time.millis(), event.uid.clone()));
        }
        expected.sort();
        assert_eq!(released, expected);
        assert_eq!(buffer.len(), 0);
    }
}
