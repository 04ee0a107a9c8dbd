//! Custody as data (docs/device-lifecycle.md, "Custody intervals"): who
//! holds a unit, who it was shipped to, who services it and which device it
//! is installed in, as intervals of log positions. Pure: no I/O.
//!
//! A position is a leaf index of the public log. An event's position is the
//! first leaf index of that event; an interval `[from, to)` holds for an
//! event whose leaf for the device lies in it. Capture writes the intervals
//! in its transaction; reads look them up; [`replay`] recomputes them from
//! the stored events for the data step and the audit.

use std::collections::HashMap;

/// The kind of an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The organisation holds the unit (a unit installed in another has no
    /// holder of its own: it is held through its parent).
    Holder,
    /// The unit was shipped to the organisation, which has not received it.
    ShippedTo,
    /// The organisation is the unit's assigned service partner.
    ServicePartner,
    /// The unit is installed in the party, a device.
    InstalledIn,
    /// The organisation is the warranty provider assigned to the unit's
    /// product in the unit's region (docs/device-lifecycle.md, "Warranty
    /// providers").
    WarrantyProvider,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Holder,
        Kind::ShippedTo,
        Kind::ServicePartner,
        Kind::InstalledIn,
        Kind::WarrantyProvider,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Holder => "holder",
            Kind::ShippedTo => "shipped_to",
            Kind::ServicePartner => "service_partner",
            Kind::InstalledIn => "installed_in",
            Kind::WarrantyProvider => "warranty_provider",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One interval: from `from` up to, not including, `to` (open when None).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    pub device: i64,
    pub kind: Kind,
    /// An organisation, or for `InstalledIn` the parent device.
    pub party: i64,
    pub from: u64,
    pub to: Option<u64>,
}

impl Interval {
    pub fn contains(&self, pos: u64) -> bool {
        self.from <= pos && self.to.is_none_or(|t| pos < t)
    }
}

/// The custody-relevant state of one unit between two events, as capture
/// keeps it: the holder of a unit that is not installed, the organisation
/// it is shipped to, the device it is installed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot<D> {
    pub holder: Option<i64>,
    pub shipped_to: Option<i64>,
    pub installed_in: Option<D>,
}

impl<D> Default for Snapshot<D> {
    fn default() -> Self {
        Self {
            holder: None,
            shipped_to: None,
            installed_in: None,
        }
    }
}

/// What changes from one snapshot to the next: for each kind that changed,
/// the new party (None: the interval closes and none opens).
pub fn changes<D: Copy + Eq>(
    before: &Snapshot<D>,
    after: &Snapshot<D>,
) -> Vec<(Kind, Option<Party<D>>)> {
    let mut out = Vec::new();
    if before.holder != after.holder {
        out.push((Kind::Holder, after.holder.map(Party::Organisation)));
    }
    if before.shipped_to != after.shipped_to {
        out.push((Kind::ShippedTo, after.shipped_to.map(Party::Organisation)));
    }
    if before.installed_in != after.installed_in {
        out.push((Kind::InstalledIn, after.installed_in.map(Party::Device)));
    }
    out
}

/// The other side of an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party<D> {
    Organisation(i64),
    Device(D),
}

/// Builds intervals from changes given in log order: a change closes the
/// device's open interval of its kind at `pos` and opens the new one.
#[derive(Default)]
pub struct Builder {
    intervals: Vec<Interval>,
    open: HashMap<(i64, Kind), usize>,
}

impl Builder {
    /// Starts from a stored open interval.
    pub fn seed(&mut self, interval: Interval) {
        if interval.to.is_none() {
            self.open
                .insert((interval.device, interval.kind), self.intervals.len());
        }
        self.intervals.push(interval);
    }

    /// A change to the party that already has the open interval changes
    /// nothing.
    pub fn change(&mut self, device: i64, kind: Kind, party: Option<i64>, pos: u64) {
        if let (Some(i), Some(p)) = (self.open.get(&(device, kind)), party)
            && self.intervals[*i].party == p
        {
            return;
        }
        if let Some(i) = self.open.remove(&(device, kind)) {
            self.intervals[i].to = Some(pos);
        }
        if let Some(party) = party {
            self.open.insert((device, kind), self.intervals.len());
            self.intervals.push(Interval {
                device,
                kind,
                party,
                from: pos,
                to: None,
            });
        }
    }

    /// The intervals, sorted, without empty ones.
    pub fn finish(self) -> Vec<Interval> {
        let mut out: Vec<Interval> = self
            .intervals
            .into_iter()
            .filter(|i| i.to != Some(i.from))
            .collect();
        out.sort();
        out
    }
}

/// A stored event as [`replay`] needs it.
#[derive(Clone, Debug)]
pub struct ReplayEvent {
    /// The event's position: its first leaf index.
    pub pos: u64,
    /// The capturing organisation.
    pub organisation: i64,
    pub event_type: String,
    pub action: Option<String>,
    pub biz_step: Option<String>,
    pub epcs: Vec<i64>,
    pub parent: Option<i64>,
    pub children: Vec<i64>,
    /// For shipping: the organisation named in `destinationList`.
    pub destination: Option<i64>,
}

/// Recomputes the holder, shipped-to and installed-in intervals from the
/// events in capture order, by capture's rules (docs/device-lifecycle.md,
/// "Custody"). Service-partner intervals come from assignments, not events,
/// and are not part of it.
pub fn replay(events: &[ReplayEvent]) -> Vec<Interval> {
    replay_with_state(events).0
}

/// A device's custody after the last event, as capture keeps it in the
/// device row: its custodian (for an installed unit, its parent's holder
/// when it was installed), the organisation it is shipped to, the device it
/// is installed in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub custodian: Option<i64>,
    pub shipped_to: Option<i64>,
    pub parent: Option<i64>,
}

/// As [`replay`], and each touched device's final [`State`].
pub fn replay_with_state(events: &[ReplayEvent]) -> (Vec<Interval>, HashMap<i64, State>) {
    let mut state: HashMap<i64, State> = HashMap::new();
    let effective = |state: &HashMap<i64, State>, mut d: i64| -> Option<i64> {
        for _ in 0..=MAX_ASSEMBLY_DEPTH {
            match state.get(&d).and_then(|s| s.parent) {
                Some(p) => d = p,
                None => return state.get(&d).and_then(|s| s.custodian),
            }
        }
        None
    };
    let snapshot = |state: &HashMap<i64, State>, d: i64| -> Snapshot<i64> {
        let s = state.get(&d).copied().unwrap_or_default();
        Snapshot {
            holder: if s.parent.is_some() {
                None
            } else {
                s.custodian
            },
            shipped_to: s.shipped_to,
            installed_in: s.parent,
        }
    };
    let mut builder = Builder::default();
    for e in events {
        let mut seen: std::collections::HashSet<i64> = std::collections::HashSet::new();
        let touched: Vec<i64> = e
            .parent
            .iter()
            .chain(e.epcs.iter())
            .chain(e.children.iter())
            .copied()
            .filter(|d| seen.insert(*d))
            .collect();
        let before: Vec<Snapshot<i64>> = touched.iter().map(|d| snapshot(&state, *d)).collect();
        let step = e.biz_step.as_deref();
        if step == Some("commissioning") {
            for d in &e.epcs {
                state.entry(*d).or_insert(State {
                    custodian: Some(e.organisation),
                    ..State::default()
                });
            }
        }
        if let (Some(p), "AggregationEvent") = (e.parent, e.event_type.as_str()) {
            let holder = effective(&state, p);
            match e.action.as_deref() {
                Some("ADD") => {
                    for c in &e.children {
                        let s = state.entry(*c).or_default();
                        s.parent = Some(p);
                        s.custodian = holder;
                        s.shipped_to = None;
                    }
                }
                Some("DELETE") => {
                    for c in &e.children {
                        let s = state.entry(*c).or_default();
                        s.parent = None;
                        s.custodian = holder;
                    }
                }
                _ => {}
            }
        }
        for d in &e.epcs {
            if step == Some("shipping")
                && let Some(dest) = e.destination
            {
                state.entry(*d).or_default().shipped_to = Some(dest);
            }
            if step == Some("receiving") {
                let s = state.entry(*d).or_default();
                s.custodian = Some(e.organisation);
                s.shipped_to = None;
            }
        }
        for (d, before) in touched.iter().zip(before) {
            let after = snapshot(&state, *d);
            for (kind, party) in changes(&before, &after) {
                let party = party.map(|p| match p {
                    Party::Organisation(o) => o,
                    Party::Device(x) => x,
                });
                builder.change(*d, kind, party, e.pos);
            }
        }
    }
    (builder.finish(), state)
}

/// The intervals of a device and of every device it was ever installed in,
/// as far up as the store loaded them: what relationship lookups read.
#[derive(Clone, Debug, Default)]
pub struct Custody {
    by_device: HashMap<i64, Vec<Interval>>,
    /// Holder and installed-in intervals per device, sorted by start: a
    /// unit has one holder and one parent at a time, so each list is of
    /// disjoint intervals, and the ones meeting a window are found by
    /// binary search.
    sorted: HashMap<(i64, Kind), Vec<Interval>>,
}

/// How far up an assembly tree lookups go.
const MAX_DEPTH: usize = 32;

/// How many devices a device may have above it in an assembly. Capture
/// refuses an install that would put a device deeper; every walk up a tree
/// (capture's, the replay's, the reads') stops there, and a device deeper
/// than this (only assemblies joined from parts built before the limit)
/// has no effective holder: nobody but the manufacturer touches it.
pub const MAX_ASSEMBLY_DEPTH: usize = 16;

impl Custody {
    pub fn new(intervals: impl IntoIterator<Item = Interval>) -> Self {
        let mut by_device: HashMap<i64, Vec<Interval>> = HashMap::new();
        let mut sorted: HashMap<(i64, Kind), Vec<Interval>> = HashMap::new();
        for i in intervals {
            if matches!(i.kind, Kind::Holder | Kind::InstalledIn) {
                sorted
                    .entry((i.device, i.kind))
                    .or_default()
                    .push(i.clone());
            }
            by_device.entry(i.device).or_default().push(i);
        }
        for list in sorted.values_mut() {
            list.sort_by_key(|i| (i.from, i.to.is_none(), i.to));
        }
        Self { by_device, sorted }
    }

    /// The device's intervals of `kind` (holder or installed-in) that meet
    /// `window`, in order: a binary search for the first that ends after
    /// the window starts, then those that start before it ends.
    fn meeting(&self, device: i64, kind: Kind, window: Span) -> impl Iterator<Item = &Interval> {
        let list = self
            .sorted
            .get(&(device, kind))
            .map_or(&[][..], Vec::as_slice);
        let first = list.partition_point(|i| i.to.is_some_and(|t| t <= window.0));
        list[first..]
            .iter()
            .take_while(move |i| window.1.is_none_or(|end| i.from < end))
    }

    fn of(&self, device: i64) -> &[Interval] {
        self.by_device.get(&device).map_or(&[], Vec::as_slice)
    }

    /// The devices `device` was ever installed in.
    pub fn parents(&self, device: i64) -> impl Iterator<Item = i64> + '_ {
        self.of(device)
            .iter()
            .filter(|i| i.kind == Kind::InstalledIn)
            .map(|i| i.party)
    }

    /// The device `device` is installed in now.
    pub fn parent_now(&self, device: i64) -> Option<i64> {
        self.of(device)
            .iter()
            .find(|i| i.kind == Kind::InstalledIn && i.to.is_none())
            .map(|i| i.party)
    }

    /// Whether `org` has an open interval of `kind` on the device.
    pub fn is_open(&self, device: i64, kind: Kind, org: i64) -> bool {
        self.of(device)
            .iter()
            .any(|i| i.kind == kind && i.party == org && i.to.is_none())
    }

    /// The spans during which `org` held the device: directly, or by
    /// holding a device it was installed in while it was installed there.
    /// Sorted, with spans that meet or overlap merged: custody that passes
    /// from the part to its parent and back without leaving the
    /// organisation is one span. Each device of the tree is computed once,
    /// so the cost is linear in the intervals loaded.
    pub fn held_spans(&self, device: i64, org: i64) -> Vec<Span> {
        merge(self.spans_within(device, org, (0, None), 0))
    }

    /// The organisation's spans on the device within `window`: its holder
    /// intervals there, and its spans on each parent within the window cut
    /// to the link. A unit is in one parent at a time, so the windows at one
    /// depth of this recursion are disjoint: the work is bounded by the
    /// links times the depth, however often parts went in and out, and a
    /// part that was at another time a parent of its parent gets an empty
    /// window and stops there.
    fn spans_within(&self, device: i64, org: i64, window: Span, depth: usize) -> Vec<Span> {
        let mut spans: Vec<Span> = self
            .meeting(device, Kind::Holder, window)
            .filter(|i| i.party == org)
            .filter_map(|i| intersect(window, (i.from, i.to)))
            .collect();
        if depth < MAX_DEPTH {
            let links: Vec<&Interval> = self.meeting(device, Kind::InstalledIn, window).collect();
            for link in links {
                if let Some(w) = intersect(window, (link.from, link.to)) {
                    spans.extend(self.spans_within(link.party, org, w, depth + 1));
                }
            }
        }
        spans
    }

    /// Whether `org` holds the device now (directly or through the device it
    /// is installed in).
    pub fn holds_now(&self, device: i64, org: i64) -> bool {
        self.held_spans(device, org)
            .iter()
            .any(|(_, to)| to.is_none())
    }

    /// Whether `org` held the device at `pos`: `Some(true)` when the span
    /// containing it is still open (it holds the device now), `Some(false)`
    /// when it has ended, None when it did not hold it then.
    pub fn held_at(&self, device: i64, org: i64, pos: u64) -> Option<bool> {
        span_at(&self.held_spans(device, org), pos)
    }
}

/// A span of positions: from, up to but excluding to (open when None).
pub type Span = (u64, Option<u64>);

/// Whether `pos` lies in one of the (merged) spans: `Some(true)` when that
/// span is open, `Some(false)` when it has ended, None when in none.
pub fn span_at(spans: &[Span], pos: u64) -> Option<bool> {
    spans
        .iter()
        .find(|(from, to)| *from <= pos && to.is_none_or(|t| pos < t))
        .map(|(_, to)| to.is_none())
}

/// The overlap of two spans, if not empty.
fn intersect(a: Span, b: Span) -> Option<Span> {
    let start = a.0.max(b.0);
    let end = match (a.1, b.1) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    end.is_none_or(|e| start < e).then_some((start, end))
}

fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for (from, to) in spans {
        match out.last_mut() {
            Some((_, end)) if end.is_none_or(|e| from <= e) => {
                *end = match (*end, to) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => out.push((from, to)),
        }
    }
    out
}

#[cfg(test)]
#[path = "custody_tests.rs"]
mod tests;
