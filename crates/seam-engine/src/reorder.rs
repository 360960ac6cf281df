//! The reorder buffer: events waiting for the watermark, released in (time, uid) order.
//!
//! Most input arrives in order, or nearly: each source is ordered, and sources interleave. So
//! the buffer keeps a run of events that arrived in order in a queue (constant time at both
//! ends) and only the stragglers, which arrived before something later than them, in a
//! binary heap. The next event out is the smaller of the two fronts.
//!
//! The run holds the events themselves, not boxes: they wait for the allowed lateness (many
//! thousands of events at a high rate), long enough to leave the caches, and a contiguous
//! queue is read back as one stream instead of one cache miss per event.

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

#[derive(Debug, Default)]
pub(crate) struct ReorderBuffer {
    /// Events in (time, uid) order, each no earlier than the one before.
    run: VecDeque<Event>,
    /// The run's directory answers, apart from the events: 8 bytes each, so that looking a
    /// few events ahead reads one cache line instead of one ~700-byte event each.
    run_directory: VecDeque<Directory>,
    /// Events that arrived out of order.
    stragglers: BinaryHeap<Reverse<Pending>>,
}

impl ReorderBuffer {
    pub fn len(&self) -> usize {
        self.run.len() + self.stragglers.len()
    }

    // Inlined so that the event is copied once, into the queue, not once more on the way.
    #[inline]
    pub fn push(&mut self, queued: Queued) {
        let event = &queued.event;
        let in_order = self
            .run
            .back()
            .is_none_or(|last| (last.time, &last.uid) <= (event.time, &event.uid));
        if in_order {
            self.run_directory.push_back(queued.directory);
            self.run.push_back(queued.event);
        } else {
            self.stragglers
                .push(Reverse(Pending::new(Box::new(queued))));
        }
    }

    /// Whether the next event in (time, uid) order is the front of the run.
    fn next_from_run(&self) -> bool {
        match (self.run.front(), self.stragglers.peek()) {
            (Some(first), Some(Reverse(straggler))) => {
                (first.time, &first.uid) <= (straggler.time, &straggler.queued.event.uid)
            }
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// The next event in (time, uid) order, left in place, with its directory answer.
    pub fn next(&self) -> Option<(&Event, Directory)> {
        if self.next_from_run() {
            let event = self.run.front()?;
            Some((event, self.run_directory.front().copied().flatten()))
        } else {
            let Reverse(pending) = self.stragglers.peek()?;
            Some((&pending.queued.event, pending.queued.directory))
        }
    }

    /// Whether the next event is the only one waiting at `time` (the next event's time) or
    /// earlier: every other is later. Answers `false` when that is not cheap to know.
    pub fn only_next_at(&self, time: Ts) -> bool {
        self.next_from_run()
            && self.run.get(1).is_none_or(|second| second.time > time)
            && self
                .stragglers
                .peek()
                .is_none_or(|Reverse(straggler)| straggler.time > time)
    }

    /// Drops the next event where it lies: an event is about 700 bytes, and taking it out of
    /// the queue only to drop it would copy it for nothing.
    pub fn drop_next(&mut self) {
        if self.next_from_run() {
            self.run.drain(..1);
            self.run_directory.pop_front();
        } else {
            self.stragglers.pop();
        }
    }

    /// Takes the next event in (time, uid) order.
    pub fn pop(&mut self) -> Option<Queued> {
        if self.next_from_run() {
            let event = self.run.pop_front()?;
            let directory = self.run_directory.pop_front().flatten();
            Some(Queued { event, directory })
        } else {
            self.stragglers
                .pop()
                .map(|Reverse(pending)| *pending.queued)
        }
    }

    /// The directory answer and the event `distance` places behind the front of the in-order
    /// run, if it is that long: what will be processed soon, for warming the caches ahead.
    pub fn ahead(&self, distance: usize) -> Option<(Directory, &Event)> {
        Some((
            self.run_directory.get(distance).copied().flatten(),
            self.run.get(distance)?,
        ))
    }

    /// Every waiting event, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Event> {
        self.run.iter().chain(
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
}
