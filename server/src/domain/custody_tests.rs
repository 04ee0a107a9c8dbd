//! Tests of `domain::custody`: the replay, spans and lookups.
use super::*;

fn ev(pos: u64, org: i64, step: &str, epcs: &[i64]) -> ReplayEvent {
    ReplayEvent {
        pos,
        organisation: org,
        event_type: "ObjectEvent".into(),
        action: Some("OBSERVE".into()),
        biz_step: Some(step.into()),
        epcs: epcs.to_vec(),
        parent: None,
        children: vec![],
        destination: None,
    }
}

fn ship(pos: u64, org: i64, epcs: &[i64], to: i64) -> ReplayEvent {
    ReplayEvent {
        destination: Some(to),
        ..ev(pos, org, "shipping", epcs)
    }
}

fn agg(pos: u64, org: i64, action: &str, parent: i64, children: &[i64]) -> ReplayEvent {
    ReplayEvent {
        event_type: "AggregationEvent".into(),
        action: Some(action.into()),
        biz_step: Some("assembling".into()),
        epcs: vec![],
        parent: Some(parent),
        children: children.to_vec(),
        ..ev(pos, org, "assembling", &[])
    }
}

/// The first leak of issue 12: a part received loose, installed in a
/// pack and shipped on inside it. Its first receiver's holding ends when
/// the pack's next holder receives the pack.
#[test]
fn custody_through_a_parent_ends_with_the_parents() {
    let (maker, d1, d2) = (1, 2, 3);
    let (part, pack) = (10, 20);
    let events = vec![
        ev(0, maker, "commissioning", &[part, pack]),
        ship(2, maker, &[part, pack], d1),
        ev(4, d1, "receiving", &[part, pack]),
        agg(6, d1, "ADD", pack, &[part]),
        ship(8, d1, &[pack], d2),
        ev(9, d2, "receiving", &[pack]),
        ev(10, d2, "inspecting", &[part]),
    ];
    let custody = Custody::new(replay(&events));
    assert_eq!(custody.held_spans(part, d1), vec![(4, Some(9))]);
    assert_eq!(custody.held_at(part, d1, 10), None);
    assert_eq!(custody.held_at(part, d1, 7), Some(false));
    assert_eq!(custody.held_at(part, d2, 10), Some(true));
    assert_eq!(custody.held_at(part, maker, 0), Some(false));
    assert_eq!(custody.parent_now(part), Some(pack));
    assert!(custody.is_open(pack, Kind::Holder, d2));
    assert!(!custody.is_open(pack, Kind::ShippedTo, d2));
}

#[test]
fn a_removed_part_stays_with_the_parents_holder() {
    let (maker, d1) = (1, 2);
    let (part, pack) = (10, 20);
    let events = vec![
        ev(0, maker, "commissioning", &[part, pack]),
        agg(2, maker, "ADD", pack, &[part]),
        ship(4, maker, &[pack], d1),
        ev(5, d1, "receiving", &[pack]),
        agg(6, d1, "DELETE", pack, &[part]),
    ];
    let intervals = replay(&events);
    assert!(intervals.contains(&Interval {
        device: part,
        kind: Kind::Holder,
        party: d1,
        from: 6,
        to: None
    }));
    let custody = Custody::new(intervals);
    assert_eq!(custody.held_at(part, d1, 5), Some(true));
    assert_eq!(custody.parent_now(part), None);
}

/// Parts that went in and out of each other at different times (each
/// pair both ways): the lookup stays linear and exact.
#[test]
fn parts_swapped_back_and_forth_cost_what_their_links_cost() {
    let (maker, d2) = (1, 2);
    let n = 12;
    let mut events = vec![ev(0, maker, "commissioning", &(0..n).collect::<Vec<_>>())];
    let mut pos = 1;
    for a in 0..n {
        for b in 0..n {
            if a != b {
                events.push(agg(pos, maker, "ADD", a, &[b]));
                events.push(agg(pos + 1, maker, "DELETE", a, &[b]));
                pos += 2;
            }
        }
    }
    // Finally a chain 0 in 1 in ... in n-1, shipped to d2 and received.
    for a in 0..n - 1 {
        events.push(agg(pos, maker, "ADD", a + 1, &[a]));
        pos += 1;
    }
    events.push(ship(pos, maker, &[n - 1], d2));
    events.push(ev(pos + 1, d2, "receiving", &[n - 1]));
    let custody = Custody::new(replay(&events));
    assert_eq!(custody.held_at(0, d2, pos + 1), Some(true));
    assert_eq!(custody.held_at(0, d2, pos), None);
    assert_eq!(custody.held_at(0, maker, 1), Some(false));
}

/// The spans as a plain scan of every interval finds them, for
/// comparison with the binary-searched lookup.
fn naive_spans(c: &Custody, device: i64, org: i64, window: Span, depth: usize) -> Vec<Span> {
    let mut spans: Vec<Span> = c
        .of(device)
        .iter()
        .filter(|i| i.kind == Kind::Holder && i.party == org)
        .filter_map(|i| intersect(window, (i.from, i.to)))
        .collect();
    if depth < MAX_DEPTH {
        for link in c.of(device).iter().filter(|i| i.kind == Kind::InstalledIn) {
            if let Some(w) = intersect(window, (link.from, link.to)) {
                spans.extend(naive_spans(c, link.party, org, w, depth + 1));
            }
        }
    }
    spans
}

#[test]
fn windows_found_by_search_equal_a_plain_scan() {
    // Random installs, removals, shipments and receipts of 6 devices
    // among 3 organisations, replayed; every (device, organisation)
    // gets the same spans either way.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for round in 0..20 {
        let mut events = vec![ev(0, 1, "commissioning", &[0, 1, 2, 3, 4, 5])];
        for pos in 1..200 {
            let (a, b) = (next(6) as i64, next(6) as i64);
            let org = 1 + next(3) as i64;
            events.push(match next(4) {
                0 if a != b => agg(pos, org, "ADD", a, &[b]),
                1 if a != b => agg(pos, org, "DELETE", a, &[b]),
                2 => ship(pos, org, &[a], 1 + next(3) as i64),
                _ => ev(pos, org, "receiving", &[a]),
            });
        }
        let custody = Custody::new(replay(&events));
        for device in 0..6 {
            for org in 1..=3 {
                assert_eq!(
                    custody.held_spans(device, org),
                    merge(naive_spans(&custody, device, org, (0, None), 0)),
                    "round {round}, device {device}, org {org}"
                );
            }
        }
    }
}

#[test]
fn builder_drops_empty_intervals() {
    let mut b = Builder::default();
    b.change(1, Kind::Holder, Some(5), 3);
    b.change(1, Kind::Holder, Some(6), 3);
    b.change(1, Kind::Holder, Some(7), 9);
    assert_eq!(
        b.finish(),
        vec![
            Interval {
                device: 1,
                kind: Kind::Holder,
                party: 6,
                from: 3,
                to: Some(9)
            },
            Interval {
                device: 1,
                kind: Kind::Holder,
                party: 7,
                from: 9,
                to: None
            },
        ]
    );
}
