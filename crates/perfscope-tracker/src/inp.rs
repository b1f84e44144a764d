//! Interaction to Next Paint: the slowest interactions of a page view, the estimate of
//! their 98th percentile, and the phases and scripts that explain it.
//!
//! Follows `web-vitals`: event-timing entries are grouped by `interactionId` (an
//! interaction is as slow as its slowest entry), only the 10 slowest interactions are
//! kept, and INP is the one at index `min(len - 1, interaction_count / 50)`, so one
//! outlier per 50 interactions is forgiven. Entries that paint within 8 ms of each other
//! belong to the same frame, whose processing spans all their handlers.

/// `web-vitals` keeps this many interactions; more can never matter below 500
/// interactions, and the estimate stays close enough above.
pub const MAX_INTERACTIONS: usize = 10;
/// Entries whose paint times lie this close are taken to be one frame.
const SAME_FRAME_MS: f64 = 8.0;
/// Frame groups kept besides those the slowest interactions need.
const MAX_PENDING_FRAMES: usize = 10;

/// What the tracker reads from one `event` or `first-input` timing entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventTiming {
    /// 0 for entries that are not part of an interaction (e.g. a `mouseover`).
    pub interaction_id: u64,
    pub is_first_input: bool,
    pub start_time: f64,
    pub duration: f64,
    pub processing_start: f64,
    pub processing_end: f64,
    /// The event's type starts with `key`.
    pub is_keyboard: bool,
}

impl EventTiming {
    fn counts(&self) -> bool {
        self.interaction_id != 0 || self.is_first_input
    }

    fn render_time(&self) -> f64 {
        self.start_time + self.duration
    }
}

/// One of the slowest interactions: its slowest entry and, once known, its target.
#[derive(Clone, Debug, PartialEq)]
pub struct Interaction {
    pub id: u64,
    pub latency: f64,
    /// The entry that set `latency` (the first of equally slow entries).
    pub entry: EventTiming,
    /// The frame `entry` painted in.
    frame: u64,
    pub target: Option<String>,
}

/// Handlers that ran for one painted frame.
#[derive(Clone, Copy, Debug, PartialEq)]
struct FrameGroup {
    id: u64,
    render_time: f64,
    processing_end: f64,
}

/// The interaction phases, in milliseconds; they add up to the interaction's latency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Phases {
    pub input_delay: f64,
    pub processing_duration: f64,
    pub presentation_delay: f64,
    /// When the interaction began and when its handlers ended, for finding the scripts.
    pub interaction_time: f64,
    pub processing_end: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LongestInteractions {
    /// Slowest first.
    slowest: Vec<Interaction>,
    frames: Vec<FrameGroup>,
    next_frame_id: u64,
}

/// What `process` did with an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Processed {
    /// Not an interaction, or too fast to matter.
    Ignored,
    /// The interaction is (still) one of the slowest and has no target yet: the caller
    /// should name the entry's target now, while it is still in the document.
    NeedsTarget(u64),
    Kept,
}

impl LongestInteractions {
    pub fn process(&mut self, entry: EventTiming) -> Processed {
        if !entry.duration.is_finite() || !entry.start_time.is_finite() {
            return Processed::Ignored;
        }
        let frame = self.group_by_frame(&entry);
        if !entry.counts() {
            return Processed::Ignored;
        }
        let position = self
            .slowest
            .iter()
            .position(|i| i.id == entry.interaction_id);
        let fastest_kept = self.slowest.last().map_or(0.0, |i| i.latency);
        let changed = match position {
            Some(index) => {
                let interaction = &mut self.slowest[index];
                if entry.duration > interaction.latency {
                    interaction.latency = entry.duration;
                    interaction.entry = entry;
                    interaction.frame = frame;
                }
                index
            }
            None if self.slowest.len() < MAX_INTERACTIONS || entry.duration > fastest_kept => {
                self.slowest.push(Interaction {
                    id: entry.interaction_id,
                    latency: entry.duration,
                    entry,
                    frame,
                    target: None,
                });
                self.slowest.len() - 1
            }
            None => return Processed::Ignored,
        };
        let id = entry.interaction_id;
        // Only this interaction can be out of place, and only too far back; it overtakes
        // strictly slower ones, so of equally slow interactions the earlier stays ahead.
        // (A hand-written step: the standard sorts cost kilobytes of wasm.)
        let mut index = changed;
        while index > 0 && self.slowest[index - 1].latency < self.slowest[index].latency {
            self.slowest.swap(index - 1, index);
            index -= 1;
        }
        self.slowest.truncate(MAX_INTERACTIONS);
        match self.slowest.iter().find(|i| i.id == id) {
            Some(interaction) if interaction.target.is_none() => Processed::NeedsTarget(id),
            Some(_) => Processed::Kept,
            None => Processed::Ignored,
        }
    }

    pub fn set_target(&mut self, id: u64, target: String) {
        if let Some(interaction) = self.slowest.iter_mut().find(|i| i.id == id) {
            interaction.target.get_or_insert(target);
        }
    }

    /// The INP candidate, given how many interactions the page view has had.
    pub fn estimate(&self, interaction_count: f64) -> Option<&Interaction> {
        let last = self.slowest.len().checked_sub(1)?;
        let per_fifty = (interaction_count.max(0.0) / 50.0).floor();
        let index = if per_fifty.is_finite() && per_fifty < last as f64 {
            per_fifty as usize
        } else {
            last
        };
        self.slowest.get(index)
    }

    /// A back/forward-cache restore starts a new page view.
    pub fn reset(&mut self) {
        *self = LongestInteractions::default();
    }

    /// Time spans of the kept interactions' handling, to keep the frames that overlap them.
    pub fn handling_spans(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.slowest.iter().filter_map(|i| {
            self.phases(i)
                .map(|p| (p.interaction_time, p.processing_end))
        })
    }

    pub fn phases(&self, interaction: &Interaction) -> Option<Phases> {
        let entry = &interaction.entry;
        let group_end = self
            .frames
            .iter()
            .find(|frame| frame.id == interaction.frame)
            .map_or(entry.processing_end, |frame| frame.processing_end);
        let next_paint = entry.render_time().max(entry.processing_start);
        let processing_end = group_end.min(next_paint).max(entry.processing_start);
        let phases = Phases {
            input_delay: (entry.processing_start - entry.start_time).max(0.0),
            processing_duration: processing_end - entry.processing_start,
            presentation_delay: next_paint - processing_end,
            interaction_time: entry.start_time,
            processing_end,
        };
        [
            phases.input_delay,
            phases.processing_duration,
            phases.presentation_delay,
        ]
        .iter()
        .all(|v| v.is_finite())
        .then_some(phases)
    }

    fn group_by_frame(&mut self, entry: &EventTiming) -> u64 {
        let render_time = entry.render_time();
        if let Some(frame) = self
            .frames
            .iter_mut()
            .rev()
            .find(|frame| (render_time - frame.render_time).abs() <= SAME_FRAME_MS)
        {
            frame.processing_end = frame.processing_end.max(entry.processing_end);
            return frame.id;
        }
        let id = self.next_frame_id;
        self.next_frame_id += 1;
        self.frames.push(FrameGroup {
            id,
            render_time,
            processing_end: entry.processing_end,
        });
        self.forget_old_frames();
        id
    }

    fn forget_old_frames(&mut self) {
        let keep_from = self.frames.len().saturating_sub(MAX_PENDING_FRAMES);
        let slowest = &self.slowest;
        let mut index = 0;
        self.frames.retain(|frame| {
            let keep = index >= keep_from || slowest.iter().any(|i| i.frame == frame.id);
            index += 1;
            keep
        });
    }
}

/// A script that ran in a long animation frame.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameScript {
    pub source_url: String,
    pub start_time: f64,
    pub duration: f64,
}

/// Source URLs of the scripts that ran during an interaction, those that ran longest
/// within it first, each once, at most `max` of them and each at most `max_url_len`.
pub fn interaction_scripts(
    scripts: &[FrameScript],
    interaction_time: f64,
    max: usize,
    max_url_len: usize,
) -> Vec<String> {
    let candidates = scripts
        .iter()
        .filter(|s| !s.source_url.is_empty() && s.source_url.len() <= max_url_len)
        .filter(|s| !s.source_url.chars().any(char::is_control))
        .filter_map(|s| {
            let end = s.start_time + s.duration;
            let within = end - interaction_time.max(s.start_time);
            (end >= interaction_time && within.is_finite())
                .then_some((within, s.source_url.as_str()))
        });
    // Longest first, by insertion: a handful of scripts, and no sort code in the wasm.
    let mut ranked: Vec<(f64, &str)> = Vec::new();
    for candidate in candidates {
        let at = ranked
            .iter()
            .position(|(within, _)| *within < candidate.0)
            .unwrap_or(ranked.len());
        ranked.insert(at, candidate);
    }
    let mut urls: Vec<String> = Vec::new();
    for (_, url) in ranked {
        if urls.len() == max {
            break;
        }
        if !urls.iter().any(|u| u == url) {
            urls.push(url.to_string());
        }
    }
    urls
}

/// Whether a long animation frame overlaps the span from input to end of handling.
pub fn frame_overlaps(frame_start: f64, frame_duration: f64, from: f64, to: f64) -> bool {
    frame_start + frame_duration >= from && frame_start <= to
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(interaction_id: u64, start_time: f64, duration: f64) -> EventTiming {
        EventTiming {
            interaction_id,
            is_first_input: false,
            start_time,
            duration,
            processing_start: start_time + 2.0,
            processing_end: start_time + duration / 2.0,
            is_keyboard: false,
        }
    }

    fn latencies(list: &LongestInteractions) -> Vec<f64> {
        list.slowest.iter().map(|i| i.latency).collect()
    }

    #[test]
    fn no_interaction_no_inp() {
        let mut list = LongestInteractions::default();
        assert_eq!(list.estimate(0.0), None);
        assert_eq!(list.process(entry(0, 10.0, 300.0)), Processed::Ignored);
        assert_eq!(list.estimate(5.0), None);
    }

    #[test]
    fn an_interaction_is_as_slow_as_its_slowest_entry() {
        let mut list = LongestInteractions::default();
        assert_eq!(
            list.process(entry(7, 100.0, 48.0)),
            Processed::NeedsTarget(7)
        );
        list.set_target(7, "#button".into());
        assert_eq!(list.process(entry(7, 100.0, 96.0)), Processed::Kept);
        assert_eq!(list.process(entry(7, 110.0, 56.0)), Processed::Kept);
        let inp = list.estimate(1.0).unwrap();
        assert_eq!(inp.latency, 96.0);
        assert_eq!(inp.entry.duration, 96.0);
        assert_eq!(inp.target.as_deref(), Some("#button"));
    }

    #[test]
    fn the_target_is_named_once() {
        let mut list = LongestInteractions::default();
        list.process(entry(3, 0.0, 64.0));
        list.set_target(3, "#first".into());
        list.set_target(3, "#second".into());
        assert_eq!(
            list.estimate(1.0).unwrap().target.as_deref(),
            Some("#first")
        );
    }

    #[test]
    fn first_input_counts_even_without_an_interaction_id() {
        let mut list = LongestInteractions::default();
        let mut first = entry(0, 5.0, 40.0);
        first.is_first_input = true;
        assert_eq!(list.process(first), Processed::NeedsTarget(0));
        assert_eq!(list.estimate(0.0).unwrap().latency, 40.0);
    }

    #[test]
    fn only_the_ten_slowest_are_kept() {
        let mut list = LongestInteractions::default();
        for i in 1..=30u32 {
            list.process(entry(u64::from(i), f64::from(i) * 100.0, f64::from(i * 8)));
        }
        let kept = latencies(&list);
        assert_eq!(kept.len(), MAX_INTERACTIONS);
        assert_eq!(kept[0], 240.0);
        assert_eq!(kept[9], 168.0);
        // Faster than every kept one: ignored, the list does not change.
        assert_eq!(list.process(entry(99, 9000.0, 100.0)), Processed::Ignored);
        assert_eq!(latencies(&list), kept);
    }

    #[test]
    fn one_outlier_per_fifty_interactions_is_forgiven() {
        let mut list = LongestInteractions::default();
        for (i, latency) in [400.0, 48.0, 56.0, 300.0, 64.0].into_iter().enumerate() {
            list.process(entry(i as u64 + 1, i as f64 * 100.0, latency));
        }
        assert_eq!(list.estimate(5.0).unwrap().latency, 400.0);
        assert_eq!(list.estimate(49.0).unwrap().latency, 400.0);
        assert_eq!(list.estimate(50.0).unwrap().latency, 300.0);
        assert_eq!(list.estimate(120.0).unwrap().latency, 64.0);
        // More outliers allowed than interactions kept: the fastest kept one.
        assert_eq!(list.estimate(5000.0).unwrap().latency, 48.0);
        assert_eq!(list.estimate(f64::NAN).unwrap().latency, 400.0);
    }

    #[test]
    fn equal_latencies_keep_their_order() {
        let mut list = LongestInteractions::default();
        list.process(entry(1, 0.0, 80.0));
        list.process(entry(2, 100.0, 80.0));
        list.process(entry(3, 200.0, 80.0));
        let ids: Vec<u64> = list.slowest.iter().map(|i| i.id).collect();
        assert_eq!(ids, [1, 2, 3]);
    }

    #[test]
    fn reset_forgets_everything() {
        let mut list = LongestInteractions::default();
        list.process(entry(1, 0.0, 80.0));
        list.reset();
        assert_eq!(list.estimate(10.0), None);
    }

    #[test]
    fn phases_add_up_to_the_latency() {
        let mut list = LongestInteractions::default();
        let click = EventTiming {
            interaction_id: 9,
            is_first_input: false,
            start_time: 1000.0,
            duration: 152.0,
            processing_start: 1010.0,
            processing_end: 1130.0,
            is_keyboard: false,
        };
        // Another handler painted in the same frame ran until 1140.
        let pointerup = EventTiming {
            processing_start: 1130.0,
            processing_end: 1140.0,
            duration: 148.0,
            start_time: 1001.0,
            ..click
        };
        list.process(click);
        list.process(pointerup);
        let inp = list.estimate(1.0).unwrap().clone();
        let phases = list.phases(&inp).unwrap();
        assert_eq!(phases.input_delay, 10.0);
        assert_eq!(phases.processing_duration, 130.0);
        assert_eq!(phases.presentation_delay, 12.0);
        let sum = phases.input_delay + phases.processing_duration + phases.presentation_delay;
        assert_eq!(sum, inp.latency);
    }

    #[test]
    fn phases_are_never_negative() {
        let mut list = LongestInteractions::default();
        // A handler that ran past the (rounded) paint time.
        let odd = EventTiming {
            interaction_id: 4,
            is_first_input: false,
            start_time: 0.0,
            duration: 40.0,
            processing_start: 10.0,
            processing_end: 60.0,
            is_keyboard: true,
        };
        list.process(odd);
        let inp = list.estimate(1.0).unwrap().clone();
        let phases = list.phases(&inp).unwrap();
        assert!(phases.input_delay >= 0.0);
        assert!(phases.processing_duration >= 0.0);
        assert!(phases.presentation_delay >= 0.0);
        assert_eq!(
            phases.input_delay + phases.processing_duration + phases.presentation_delay,
            40.0
        );
    }

    #[test]
    fn frames_far_apart_are_not_merged() {
        let mut list = LongestInteractions::default();
        let early = entry(1, 0.0, 100.0);
        let late = EventTiming {
            processing_end: 5000.0,
            ..entry(2, 4000.0, 48.0)
        };
        list.process(early);
        list.process(late);
        let first = list.slowest.iter().find(|i| i.id == 1).unwrap().clone();
        assert_eq!(
            list.phases(&first).unwrap().processing_end,
            early.processing_end
        );
    }

    #[test]
    fn the_slowest_interactions_keep_their_frames() {
        let mut list = LongestInteractions::default();
        list.process(EventTiming {
            processing_end: 90.0,
            ..entry(1, 0.0, 200.0)
        });
        // Many later non-interaction entries in other frames.
        for i in 1..50 {
            list.process(entry(0, f64::from(i) * 1000.0, 48.0));
        }
        assert!(list.frames.len() <= MAX_PENDING_FRAMES + 1);
        let slowest = list.estimate(1.0).unwrap().clone();
        assert_eq!(list.phases(&slowest).unwrap().processing_end, 90.0);
        assert_eq!(list.handling_spans().count(), 1);
    }

    #[test]
    fn scripts_are_ranked_by_time_within_the_interaction() {
        let scripts = [
            FrameScript {
                source_url: "https://a.test/app.js".into(),
                start_time: 900.0,
                duration: 150.0, // 50 ms within
            },
            FrameScript {
                source_url: "https://a.test/vendor.js".into(),
                start_time: 1010.0,
                duration: 80.0,
            },
            FrameScript {
                source_url: "https://a.test/old.js".into(),
                start_time: 100.0,
                duration: 50.0, // ended before the interaction
            },
            FrameScript {
                source_url: String::new(),
                start_time: 1000.0,
                duration: 500.0,
            },
            FrameScript {
                source_url: "https://a.test/app.js".into(),
                start_time: 1100.0,
                duration: 10.0,
            },
        ];
        assert_eq!(
            interaction_scripts(&scripts, 1000.0, 5, 2048),
            ["https://a.test/vendor.js", "https://a.test/app.js"]
        );
        assert_eq!(
            interaction_scripts(&scripts, 1000.0, 1, 2048),
            ["https://a.test/vendor.js"]
        );
        assert_eq!(
            interaction_scripts(&scripts, 1000.0, 5, 10),
            Vec::<String>::new()
        );
    }

    #[test]
    fn frames_overlap_the_handling_span() {
        assert!(frame_overlaps(900.0, 150.0, 1000.0, 1100.0));
        assert!(frame_overlaps(1100.0, 10.0, 1000.0, 1100.0));
        assert!(!frame_overlaps(800.0, 100.0, 1000.0, 1100.0));
        assert!(!frame_overlaps(1101.0, 10.0, 1000.0, 1100.0));
    }
}
